"""Run a Python snippet in a separate, limited process and collect what it produced.

`run_python(code, settings)` writes the snippet into a fresh scratch directory and runs
it with `agents/sandbox_boot.py` as a separate interpreter, under one of three runners
(`sandbox_runner`):

- `bwrap` (default): the OS jail of `agents/sandbox_jail.py`: bubblewrap with new
  user/PID/network/IPC/UTS/cgroup namespaces, only read-only system and Python binds,
  the scratch directory as the one writable path, a pids cgroup where one can be made;
  where bubblewrap cannot run, nothing runs and the result says why;
- `process`: the weaker opt-in: a plain subprocess (in net and PID namespaces when
  `unshare` works) that sees the host's files; only the audit hook guards them;
- `container`: the same start-up code in a throwaway container (`docker run --network
  none --read-only`, memory/CPU/PID limits) for the docker-compose deployment.

Under every runner: OS limits (`resource.setrlimit`: CPU seconds, address space, file
size, open files, no core dumps), a wall-time limit that kills the whole tree, output
read incrementally and capped (`agents/sandbox_output.py`), an environment with nothing
from the parent, and the in-process guards of the start-up code (an audit hook and an
import allow-list) as defence in depth.
"""

from __future__ import annotations

import json
import mimetypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from agents.sandbox_jail import BOOT_IN_JAIL, SCRATCH_IN_JAIL, PidsCgroup, bwrap_problem, jail_command
from agents.sandbox_output import Captured, capture
from core.settings import Settings, get_settings

BOOT = Path(__file__).with_name("sandbox_boot.py")
ENTRY = "snippet.py"
MAX_FILES = 20
INTERNAL = {ENTRY, ".mpl", ".cache", ".config"}  # scratch entries that are not results


class ProducedFile(BaseModel):
    name: str  # relative to the scratch directory
    path: str  # where it was kept (the caller's output directory)
    size: int
    mime: str


class SandboxResult(BaseModel):
    ok: bool  # exited 0 within the limits
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    limit: str | None = None  # which limit ended the run, when one did
    files: list[ProducedFile] = Field(default_factory=list)
    isolation: list[str] = Field(default_factory=list)  # the guards that were in force
    runner: str = ""  # bwrap, process or container
    stdout_bytes: int = 0  # what the snippet wrote, all of it
    stderr_bytes: int = 0
    output_cut_bytes: int = 0  # not kept: the middle of a long output (head and tail are kept)

    def summary(self, chars: int = 1500) -> str:
        """What the LLM and the report see: output, error and produced files, briefly."""
        parts = []
        if self.stdout.strip():
            parts.append("stdout:\n" + self.stdout.strip()[-chars:])
        if not self.ok:
            reason = self.limit or f"exit code {self.exit_code}"
            parts.append(f"failed ({reason}):\n" + self.stderr.strip()[-chars:])
        if self.files:
            parts.append("files: " + ", ".join(f.name for f in self.files))
        if self.output_cut_bytes:
            parts.append(f"({self.output_cut_bytes} bytes of output cut)")
        if not parts:
            parts.append("(no output)")
        parts.append(f"(sandbox: {self.runner})")
        return "\n".join(parts)


@lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """Whether `unshare` can give a process its own network and PID namespaces here."""
    exe = shutil.which("unshare")
    if not exe:
        return False
    try:
        done = subprocess.run([exe, "--net", "--pid", "--fork", "--kill-child", "true"],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _limits(settings: Settings, cgroup: PidsCgroup | None = None):
    cpu = max(1, int(settings.sandbox_cpu_s))
    memory = settings.sandbox_memory_mb * 1024 * 1024
    fsize = settings.sandbox_file_mb * 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec
        if cgroup is not None:
            cgroup.enter()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if os.geteuid() != 0:
            # Counts all of the user's processes, and root ignores it: the audit hook and
            # the PID namespace are the fork guards; this only caps a non-root runaway.
            soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
            cap = settings.sandbox_max_processes + _user_processes()
            resource.setrlimit(resource.RLIMIT_NPROC, (min(cap, hard) if hard > 0 else cap, hard))

    return apply


def _user_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


def _environment(scratch: Path) -> dict[str, str]:
    """A fresh environment: nothing inherited but PATH (no ARGUS_*, no keys, no proxies)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "MPLCONFIGDIR": str(scratch / ".mpl"),
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONIOENCODING": "utf-8",
        "LANG": "C.UTF-8",
    }


def _blocked_roots(settings: Settings) -> list[str]:
    roots = [settings.home, settings.model_cache]
    return [str(Path(p).expanduser().resolve()) for p in roots]


def _font_cache() -> Path | None:
    """A matplotlib font cache built once per machine (a fresh one costs seconds per snippet)."""
    cache = Path(tempfile.gettempdir()) / f"argus-mpl-cache-{os.getuid()}"
    if not any(cache.glob("fontlist-*.json")):
        cache.mkdir(parents=True, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", ""), "MPLCONFIGDIR": str(cache), "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, "-I", "-c", "import matplotlib.font_manager"], env=env,
                       capture_output=True, timeout=120, check=False)
    found = sorted(cache.glob("fontlist-*.json"))
    return found[-1] if found else None


def _collect(scratch: Path, out_dir: Path | None) -> list[ProducedFile]:
    files = []
    for path in sorted(scratch.rglob("*")):
        rel = path.relative_to(scratch)
        if not path.is_file() or path.is_symlink() or rel.parts[0] in INTERNAL or len(files) >= MAX_FILES:
            continue
        kept = path
        if out_dir is not None:
            kept = out_dir / rel
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, kept)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append(ProducedFile(name=str(rel), path=str(kept), size=path.stat().st_size, mime=mime))
    return files


def _command(settings: Settings, scratch: Path, config: dict) -> tuple[list[str], list[str]]:
    """The command line that runs the start-up code, and the isolation it gives."""
    if settings.sandbox_runner == "container":
        boot_in = "/sandbox/boot.py"
        inner = {**config, "scratch": "/scratch"}
        cmd = ["docker", "run", "--rm", "--network", "none", "--read-only",
               "--memory", f"{settings.sandbox_memory_mb}m", "--cpus", "1",
               "--pids-limit", str(settings.sandbox_max_processes), "--security-opt", "no-new-privileges",
               "--user", "65534:65534", "--tmpfs", "/tmp",
               "-v", f"{scratch}:/scratch:rw", "-v", f"{BOOT}:{boot_in}:ro", "-w", "/scratch",
               *[f"--env={k}={v}" for k, v in _environment(Path("/scratch")).items() if k != "PATH"],
               settings.sandbox_image, "python", "-I", "-B", boot_in, json.dumps(inner)]
        return cmd, ["container", "no-network", "pid-limit", "memory-limit", "read-only-root", "audit-hook"]
    if settings.sandbox_runner == "bwrap":
        inner = {**config, "scratch": SCRATCH_IN_JAIL}
        argv = [sys.executable, "-I", "-B", BOOT_IN_JAIL, json.dumps(inner)]
        return jail_command(settings, scratch, BOOT, argv), [
            "bwrap", "mount-namespace", "read-only-system", "scratch-only-writable", "user-namespace",
            "pid-namespace", "net-namespace", "ipc-namespace", "uts-namespace", "rlimits",
            "scrubbed-env", "audit-hook", "import-allow-list"]
    cmd = [sys.executable, "-I", "-B", str(BOOT), json.dumps(config)]
    isolation = ["rlimits", "process-group", "scrubbed-env", "scratch-dir", "audit-hook", "import-allow-list"]
    if namespaces_available():
        cmd = [shutil.which("unshare") or "unshare", "--net", "--pid", "--fork", "--kill-child", *cmd]
        isolation += ["net-namespace", "pid-namespace"]
    return cmd, isolation


def runner_problem(settings: Settings) -> str | None:
    """None when the configured runner can run snippets here; else a clear reason."""
    if settings.sandbox_runner == "bwrap" and (problem := bwrap_problem()) is not None:
        return (f"the code sandbox cannot run: {problem}. Install bubblewrap with user namespaces "
                "enabled, or accept the weaker process runner with sandbox_runner = \"process\" "
                "(ARGUS_SANDBOX_RUNNER=process).")
    if settings.sandbox_runner == "container" and shutil.which("docker") is None:
        return "the container runner needs docker on PATH"
    return None


def run_python(code: str, settings: Settings | None = None, *, out_dir: Path | None = None) -> SandboxResult:
    """Run `code` in the sandbox; files it writes in its scratch directory are copied to `out_dir`.

    Never raises for anything the snippet does: errors, limits and timeouts are in the result.
    Where the configured runner cannot run, nothing runs and the result says why.
    """
    settings = settings or get_settings()
    runner = settings.sandbox_runner
    if (problem := runner_problem(settings)) is not None:
        return SandboxResult(ok=False, exit_code=None, stdout="", stderr=problem, seconds=0.0,
                             limit="sandbox unavailable", runner=runner)
    scratch = Path(tempfile.mkdtemp(prefix="argus-sandbox-")).resolve()
    cgroup = PidsCgroup.create(settings.sandbox_max_processes) if runner == "bwrap" else None
    try:
        (scratch / ENTRY).write_text(code, encoding="utf-8")
        (scratch / ".mpl").mkdir()
        if "matplotlib" in code and (fonts := _font_cache()) is not None:
            shutil.copyfile(fonts, scratch / ".mpl" / fonts.name)
        config = {"scratch": str(scratch), "entry": ENTRY, "blocked": _blocked_roots(settings),
                  "modules": sorted(settings.sandbox_modules)}
        cmd, isolation = _command(settings, scratch, config)
        if cgroup is not None:
            isolation.append("pids-cgroup")
        inside = Path(SCRATCH_IN_JAIL) if runner == "bwrap" else scratch
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=scratch, env=_environment(inside), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=_limits(settings, cgroup) if runner != "container" else None,
        )
        with proc:
            got = capture(proc.stdout, proc.stderr, keep=settings.sandbox_output_keep_kb * 1024,
                          max_total=settings.sandbox_max_output_mb * 1024 * 1024,
                          wall_s=settings.sandbox_wall_s, kill=lambda: _kill_group(proc))
            try:
                proc.wait(timeout=max(1.0, settings.sandbox_wall_s - (time.perf_counter() - started)))
            except subprocess.TimeoutExpired:
                got.timed_out = True
                _kill_group(proc)
                proc.wait()
        seconds = time.perf_counter() - started
        code_ = proc.returncode
        stderr = got.stderr.text()
        limit = _limit_reason(code_, stderr, got, settings)
        return SandboxResult(
            ok=code_ == 0 and limit is None, exit_code=code_, stdout=got.stdout.text(), stderr=stderr,
            seconds=round(seconds, 3), timed_out=got.timed_out, limit=limit,
            stdout_bytes=got.stdout.total, stderr_bytes=got.stderr.total,
            output_cut_bytes=got.stdout.cut + got.stderr.cut,
            files=_collect(scratch, out_dir), isolation=isolation, runner=runner,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if cgroup is not None:
            cgroup.remove()


def _kill_group(proc: subprocess.Popen) -> None:
    # The session leader's group: everything it started. Under bwrap the snippet runs in its
    # own session, but bwrap's child is the PID namespace's init and dies with bwrap
    # (--die-with-parent), and the kernel kills the rest of the namespace with it.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _limit_reason(code: int | None, stderr: str, got: Captured, settings: Settings) -> str | None:
    if got.timed_out:
        return f"wall time over {settings.sandbox_wall_s:g} s"
    if got.output_over:
        return f"output over {settings.sandbox_max_output_mb} MiB"
    if "sandbox: CPU time limit reached" in stderr:
        return f"CPU time over {settings.sandbox_cpu_s:g} s"
    if "MemoryError" in stderr:
        return f"memory over {settings.sandbox_memory_mb} MiB"
    if "File too large" in stderr or code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return f"file size over {settings.sandbox_file_mb} MiB"
    if code is not None and (code < 0 or code == 128 + signal.SIGKILL):
        return "killed"
    return None
