"""The OS-level jail of the code sandbox: a bubblewrap command line and a process cap.

`jail_command(settings, scratch, argv)` wraps `argv` in `bwrap` so that it runs in:

- a new mount namespace holding only read-only binds of the interpreter and its
  libraries (`/usr`, `/lib*`, the Python prefix, the virtual environment), a fresh
  `/proc`, a minimal `/dev`, a tmpfs `/tmp`, and the scratch directory at `/scratch`
  as the only writable path; no home directory, no `ARGUS_HOME`, no ingest roots and
  no `/etc` exist in there;
- new user, PID, network, IPC, UTS and cgroup namespaces (`--unshare-all`): no network
  interface but a loopback that is down, no process of the host visible, running as
  `nobody` with no capabilities and no further user namespaces;
- `--die-with-parent` and `--new-session`: killing bwrap kills the whole tree (its
  child is the PID namespace's init), and the snippet cannot reach the caller's tty.

A fork bomb is held by a pids cgroup where one can be created (root on cgroup v1/v2);
otherwise by RLIMIT_NPROC, which counts per user namespace and is ignored for root.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from functools import lru_cache
from pathlib import Path

from core.settings import Settings

SCRATCH_IN_JAIL = "/scratch"
BOOT_IN_JAIL = "/sandbox/boot.py"
NOBODY = "65534"
PIDS_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


@lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap can build its jail here; else why not (checked once per process)."""
    exe = bwrap_path()
    if exe is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    argv = [exe, *_base_flags(), *_system_binds(), "--", sys.executable, "-I", "-c", "pass"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap did not start: {exc}"
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return f"bubblewrap cannot create its namespaces here (no user namespaces?): {reason}"
    return None


def _base_flags() -> list[str]:
    return ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--disable-userns",
            "--uid", NOBODY, "--gid", NOBODY, "--cap-drop", "ALL", "--hostname", "sandbox",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]


def _python_roots() -> list[Path]:
    """Where the interpreter and its libraries live: the prefixes and every library path."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(p for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_path(key)))
    roots: list[Path] = []
    for raw in sorted(paths, key=len):
        path = Path(raw).resolve()
        if path.exists() and not any(path == r or r in path.parents for r in roots):
            roots.append(path)
    return roots


def _system_binds() -> list[str]:
    """`/usr` and the top-level library/binary folders (real folders or merged-/usr links)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for root in _python_roots():
        if not (root == Path("/usr") or Path("/usr") in root.parents):
            args += ["--ro-bind", str(root), str(root)]
    # The venv's interpreter may be a link into another prefix: bind where it points too.
    real = Path(sys.executable).resolve().parent.parent
    if not any(real == r or r in real.parents for r in [Path("/usr"), *_python_roots()]):
        args += ["--ro-bind", str(real), str(real)]
    return args


def _hidden(settings: Settings) -> list[str]:
    """Masks (empty tmpfs) over private folders that happen to lie inside a bound folder."""
    private = [settings.home, settings.model_cache, *settings.ingest_roots, Path.home()]
    roots = [Path("/usr"), *_python_roots()]
    args = []
    for raw in private:
        path = Path(raw).expanduser().resolve()
        if path.is_dir() and any(r in path.parents for r in roots):
            args += ["--tmpfs", str(path)]
    return args


def jail_command(settings: Settings, scratch: Path, boot: Path, argv: list[str]) -> list[str]:
    """`argv` (which names the start-up code as BOOT_IN_JAIL) wrapped in the bwrap jail."""
    exe = bwrap_path() or "bwrap"
    return [exe, *_base_flags(), *_system_binds(), *_hidden(settings),
            "--bind", str(scratch), SCRATCH_IN_JAIL, "--ro-bind", str(boot), BOOT_IN_JAIL,
            "--chdir", SCRATCH_IN_JAIL, "--", *argv]


class PidsCgroup:
    """A pids cgroup capping the processes of one run; `None` from `create` where none can be made."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        for root in PIDS_CGROUP_ROOTS:
            if not (root / "cgroup.procs").exists():
                continue
            if root.name != "pids" and "pids" not in _read(root / "cgroup.subtree_control"):
                continue  # cgroup v2 without the pids controller delegated here
            path = root / f"argus-sandbox-{uuid.uuid4().hex[:12]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(limit))
                return cls(path)
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
        return None

    def enter(self) -> None:
        """Move the calling process in (runs in the child between fork and exec)."""
        with open(self.path / "cgroup.procs", "w") as f:
            f.write(str(os.getpid()))

    def remove(self) -> None:
        """Kill whatever is still in the cgroup, then remove it (it empties a moment after the kill)."""
        for attempt in range(250):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if attempt % 25 == 0:
                    for pid in _read(self.path / "cgroup.procs").split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except (ProcessLookupError, ValueError):
                            pass
                time.sleep(0.02)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
