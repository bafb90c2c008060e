"""Start-up code of the sandboxed Python process (run by `agents/sandbox.py`, never imported).

Before the user's snippet runs it installs, in this order:

- an in-process network guard: `socket.socket` is replaced by a class that refuses;
- an import guard: the snippet itself may import only the allow-listed top-level
  modules (the libraries it imports keep their own imports);
- an audit hook (`sys.addaudithook`, which cannot be removed again) that refuses
  opening any path under the blocked roots (ARGUS_HOME), writing or deleting outside
  the scratch directory, sockets, new processes (fork, exec, spawn, subprocess,
  os.system), signals to other processes, links and ctypes.

These guards are defence in depth behind the process limits and namespaces set by the
parent: an interpreter cannot fully sandbox itself, the OS limits are what hold.
"""

from __future__ import annotations

import builtins
import json
import os
import signal
import sys
import traceback

config = json.loads(sys.argv[1])
SCRATCH = os.path.realpath(config["scratch"])
BLOCKED = [os.path.realpath(p) for p in config["blocked"]]
ALLOWED = frozenset(config["modules"])
USER_MODULE = "__main__"

sys.dont_write_bytecode = True  # no .pyc writes into site-packages
os.chdir(SCRATCH)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _resolve(path: object) -> str | None:
    if isinstance(path, int):  # an already open descriptor
        return None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    return os.path.realpath(os.fspath(path))  # type: ignore[arg-type]


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _check_open(path: object, mode: object, flags: object) -> None:
    resolved = _resolve(path)
    if resolved is None:
        return
    if _inside(resolved, SCRATCH):
        return
    if any(_inside(resolved, root) for root in BLOCKED):
        raise PermissionError(f"sandbox: access to {resolved} is not allowed")
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & WRITE_FLAGS)
    if writing:
        raise PermissionError(f"sandbox: writing outside the scratch directory ({resolved}) is not allowed")


def _check_change(path: object) -> None:
    resolved = _resolve(path)
    if resolved is not None and not _inside(resolved, SCRATCH):
        raise PermissionError(f"sandbox: changing {resolved} is not allowed")


FORBIDDEN = {
    "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system", "os.startfile",
    "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
    "socket.__new__", "socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo",
    "os.symlink", "os.link", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function", "ctypes.cdata",
    "sys.remote_exec", "sys.monitoring.register_callback",
}
CHANGES = {"os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
           "shutil.rmtree", "os.rename"}


def audit(event: str, args: tuple) -> None:
    if event == "open":
        _check_open(*args[:3])
    elif event == "ctypes.dlopen" and args and args[0] is not None:
        # `import ctypes` (numpy does) opens the interpreter itself; no other library.
        raise PermissionError(f"sandbox: loading {args[0]} is not allowed")
    elif event in FORBIDDEN:
        raise PermissionError(f"sandbox: {event} is not allowed")
    elif event in CHANGES and args:
        _check_change(args[0])
        if event == "os.rename" and len(args) > 1:
            _check_change(args[1])


class _NoSocket:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise PermissionError("sandbox: network access is not allowed")


def _guard_network() -> None:
    import socket

    socket.socket = _NoSocket  # type: ignore[misc, assignment]
    socket.create_connection = _NoSocket  # type: ignore[assignment]


_real_import = builtins.__import__


def _guarded_import(name: str, globals: dict | None = None, locals: dict | None = None,
                    fromlist: tuple = (), level: int = 0):
    # Only the snippet's own imports are checked: pandas may import what it needs.
    if level == 0 and (globals or {}).get("__name__") == USER_MODULE and name.split(".")[0] not in ALLOWED:
        raise ImportError(f"sandbox: module {name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED))}")
    return _real_import(name, globals, locals, fromlist, level)


CPU_EXIT = 152  # 128 + SIGXCPU


def _cpu_limit(signum: int, frame: object) -> None:
    # The soft CPU limit was reached: say so (a bare signal death reads as a crash).
    os.write(2, b"\nsandbox: CPU time limit reached\n")
    os._exit(CPU_EXIT)


def main() -> int:
    signal.signal(signal.SIGXCPU, _cpu_limit)
    with open(os.path.join(SCRATCH, config["entry"]), encoding="utf-8") as f:
        source = f.read()
    _guard_network()
    builtins.__import__ = _guarded_import
    sys.addaudithook(audit)
    code = compile(source, config["entry"], "exec")
    try:
        exec(code, {"__name__": USER_MODULE, "__builtins__": builtins})
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # the snippet's error is its result: report it, exit non-zero
        traceback.print_exc(limit=-3)
        return 1
    finally:
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
