"""Run a Python snippet in a separate, limited process and collect what it produced.

`run_python(code, settings)` writes the snippet into a fresh scratch directory and runs
it with `agents/sandbox_boot.py` as a separate interpreter:

- OS limits (`resource.setrlimit`): CPU seconds, address space, file size, open files,
  and no core dumps; a wall-time limit kills the whole process group;
- namespaces when `unshare` works (root or user namespaces): a new network namespace
  (no interfaces but loopback, which is down: no network at all) and a new PID
  namespace, so every process the snippet might start dies with it;
- a scratch working directory, HOME and TMPDIR in it, an environment with nothing
  from the parent (no ARGUS_* settings, no API keys);
- the in-process guards of the start-up code: an audit hook that blocks reading
  ARGUS_HOME, writing outside the scratch directory, sockets and new processes, and
  an import allow-list for the snippet.

The `container` runner runs the same start-up code in a throwaway container
(`docker run --network none --read-only`, memory/CPU/PID limits) for the
docker-compose deployment.
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

from app.settings import Settings, get_settings

BOOT = Path(__file__).with_name("sandbox_boot.py")
ENTRY = "snippet.py"
MAX_OUTPUT_CHARS = 20_000  # per stream, kept from the end
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
        return "\n".join(parts) or "(no output)"


def _tail(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= MAX_OUTPUT_CHARS else "…" + text[-MAX_OUTPUT_CHARS:]


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


def _limits(settings: Settings):
    cpu = max(1, int(settings.sandbox_cpu_s))
    memory = settings.sandbox_memory_mb * 1024 * 1024
    fsize = settings.sandbox_file_mb * 1024 * 1024

    def apply() -> None:  # runs in the child between fork and exec
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
    cmd = [sys.executable, "-I", "-B", str(BOOT), json.dumps(config)]
    isolation = ["rlimits", "process-group", "scrubbed-env", "scratch-dir", "audit-hook", "import-allow-list"]
    if namespaces_available():
        cmd = [shutil.which("unshare") or "unshare", "--net", "--pid", "--fork", "--kill-child", *cmd]
        isolation += ["net-namespace", "pid-namespace"]
    return cmd, isolation


def run_python(code: str, settings: Settings | None = None, *, out_dir: Path | None = None) -> SandboxResult:
    """Run `code` in the sandbox; files it writes in its scratch directory are copied to `out_dir`.

    Never raises for anything the snippet does: errors, limits and timeouts are in the result.
    """
    settings = settings or get_settings()
    scratch = Path(tempfile.mkdtemp(prefix="argus-sandbox-")).resolve()
    try:
        (scratch / ENTRY).write_text(code, encoding="utf-8")
        (scratch / ".mpl").mkdir()
        if "matplotlib" in code and (fonts := _font_cache()) is not None:
            shutil.copyfile(fonts, scratch / ".mpl" / fonts.name)
        config = {"scratch": str(scratch), "entry": ENTRY, "blocked": _blocked_roots(settings),
                  "modules": sorted(settings.sandbox_modules)}
        cmd, isolation = _command(settings, scratch, config)
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=scratch, env=_environment(scratch), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=_limits(settings) if settings.sandbox_runner == "process" else None,
        )
        timed_out = False
        try:
            out, err = proc.communicate(timeout=settings.sandbox_wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            out, err = proc.communicate()
        seconds = time.perf_counter() - started
        code_ = proc.returncode
        stderr = _tail(err)
        limit = _limit_reason(code_, stderr, timed_out, settings)
        return SandboxResult(
            ok=code_ == 0 and not timed_out, exit_code=code_, stdout=_tail(out), stderr=stderr,
            seconds=round(seconds, 3), timed_out=timed_out, limit=limit,
            files=_collect(scratch, out_dir), isolation=isolation,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session leader's group: everything it started
    except ProcessLookupError:
        pass


def _limit_reason(code: int | None, stderr: str, timed_out: bool, settings: Settings) -> str | None:
    if timed_out:
        return f"wall time over {settings.sandbox_wall_s:g} s"
    if "sandbox: CPU time limit reached" in stderr:
        return f"CPU time over {settings.sandbox_cpu_s:g} s"
    if "MemoryError" in stderr:
        return f"memory over {settings.sandbox_memory_mb} MiB"
    if "File too large" in stderr or code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return f"file size over {settings.sandbox_file_mb} MiB"
    if code is not None and (code < 0 or code == 128 + signal.SIGKILL):
        return "killed"
    return None
