"""The local LLM engine: start, stop and inspect an OpenAI-compatible server.

Argus talks to its LLM over the OpenAI API. By default that is a server this module
starts on 127.0.0.1: llama.cpp's `llama-server` on the shipped GGUF (`llm_backend =
"llamacpp"`, the embedded default) or vLLM (`"vllm"`, the GPU engine); when
`llm_base_url` is configured, that endpoint is used instead and nothing is started.
What each engine's command line is lives in `engine_llamacpp.py` / `engine_vllm.py`;
this module treats them alike.

The server runs in its own process group (vLLM's CPU backend spawns workers), writes
its log to `ARGUS_HOME/logs/<engine>-<port>.log`, and leaves two files: the pid
(`engine-<port>.pid`) and what it was started with (`engine-<port>.json`). A start
waits for `/health` and then `/v1/models`; if the process exits first, the error
carries the tail of its log. llama.cpp is ready in seconds, vLLM-CPU in about a minute.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.settings import Settings, get_settings
from models.llm import processes
from models.llm.engine_base import Engine, EngineError
from models.llm.engine_llamacpp import ENGINE as LLAMACPP
from models.llm.server_probe import (
    ENGINES,
    EngineInfo,
    EngineStatus,
    _info_from_models,
    _window,
    probe,
)

__all__ = ["ENGINES", "EngineError", "EngineInfo", "EngineStatus", "engine_for", "ensure_running", "local_root",
           "probe", "start", "status", "stop"]


# Popen objects of engines started by this process, so that stop() can reap them
# (a dead child that is never waited for stays a zombie and looks alive).
_children: dict[int, subprocess.Popen[bytes]] = {}


def engine_for(settings: Settings) -> Engine:
    """The engine `llm_backend` names (the in-process backend starts no server)."""
    if settings.llm_backend not in ENGINES:
        raise EngineError(f"llm_backend={settings.llm_backend!r} runs no server; nothing to start")
    return ENGINES[settings.llm_backend]


# ---------------------------------------------------------------- paths and state


def _paths(settings: Settings, engine: Engine | None = None) -> tuple[Path, Path, Path]:
    """(log, pid file, state file) of the engine on the configured port."""
    engine = engine or ENGINES.get(settings.llm_backend, LLAMACPP)
    stem = settings.log_dir / f"engine-{settings.engine_port}"
    log = settings.log_dir / f"{engine.name}-{settings.engine_port}.log"
    return log, stem.with_suffix(".pid"), stem.with_suffix(".json")


def local_root(settings: Settings) -> str:
    return f"http://{settings.engine_host}:{settings.engine_port}"


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_state(state_file: Path) -> dict[str, Any]:
    try:
        return json.loads(state_file.read_text())
    except (OSError, ValueError):
        return {}


def _engine_of(pid: int) -> Engine | None:
    """The engine a live process runs, recognised by its command line."""
    args = processes.cmdline(pid)
    return next((e for e in ENGINES.values() if e.is_engine_cmdline(args)), None) if args else None


def _engine_on_port(port: int) -> int | None:
    """The leader of an Argus-launched engine serving `port`, found by its command line.

    Finds engines whose pid file is elsewhere: started from another ARGUS_HOME (a test
    session's, say). The port belongs to the whole machine, and so does its engine.
    """
    wanted = ["--port", str(port)]
    for pid in processes.pids():
        args = processes.cmdline(pid)
        if args and any(e.is_engine_cmdline(args) for e in ENGINES.values()) and any(
                args[i:i + 2] == wanted for i in range(len(args) - 1)):
            return pid
    return None


def _engine_pid(settings: Settings) -> int | None:
    """The engine on the configured port: from this ARGUS_HOME's pid file, else by command line."""
    pid = _read_pid(_paths(settings)[1])
    if pid and _engine_of(pid) is not None:
        return pid
    return _engine_on_port(settings.engine_port)


_ERROR_LINE = re.compile(r"^\s*(?:\(\w+ pid=\d+\)\s*)?(?:[\w.]+(?:Error|Exception)|ERROR\b|error:)[^\n]*",
                         re.MULTILINE)


def _start_failure(log_path: Path, offset: int, what: str) -> EngineError:
    """An EngineError that leads with the last error line of the log and carries its tail."""
    tail = processes.log_tail(log_path, offset)
    errors = list(_ERROR_LINE.finditer(tail))
    reason = ""
    if errors:  # the error line and the line after it (pydantic puts the cause there)
        lines = tail[errors[-1].start():].strip().splitlines()[:2]
        reason = ": " + " ".join(line.strip() for line in lines)[:400]
    return EngineError(f"{what}{reason}\nLog {log_path}, last lines:\n{tail}")


@contextlib.contextmanager
def _start_lock(settings: Settings) -> Iterator[None]:
    """One start at a time per port on this machine, across processes and ARGUS_HOMEs.

    The port is shared by the whole machine, so the lock lives in the temp folder: a
    second caller waits while the first one's engine starts, then finds it serving.
    """
    lock_path = Path(tempfile.gettempdir()) / f"argus-engine-{settings.engine_host}-{settings.engine_port}.lock"
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- start / stop / status


def start(settings: Settings | None = None, wait: bool = True) -> EngineInfo:
    """Start the local engine (or return the one already serving on the port).

    With `wait`, returns once the server answers; raises EngineError with the log tail
    if it exits or times out first. Without `wait`, returns as soon as it is launched.
    """
    settings = settings or get_settings()
    engine = engine_for(settings)
    log_path, pid_file, state_file = _paths(settings, engine)
    root = local_root(settings)
    with _start_lock(settings):
        pid = _engine_pid(settings)
        if pid is not None:  # already started (maybe still starting), from here or another ARGUS_HOME
            if not wait:
                return EngineInfo(f"{root}/v1", settings.llm_model, pid, True, log_path=_engine_log(settings, pid)[0],
                                  backend=(_engine_of(pid) or engine).name)
            return _wait_ready(settings, pid, None)
        models = probe(root, settings.llm_api_key, settings=settings)
        if models is not None:  # someone else's server on this port: use it if it serves our model
            return _info_from_models(f"{root}/v1", settings.llm_model, models, log_path=None)

        cmd = engine.command(settings)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd.argv)}\n".encode())
            log.flush()
            log_offset = log.tell()  # where this start's output begins
            proc = subprocess.Popen(cmd.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=cmd.env, start_new_session=True)  # own group: stop() kills workers too
        _children[proc.pid] = proc
        pid_file.write_text(f"{proc.pid}\n")
        state_file.write_text(json.dumps({
            "pid": proc.pid,
            "backend": engine.name,
            "started_at": time.time(),
            "model": settings.llm_model,
            "model_path": cmd.model_path,
            "argv": cmd.argv,
            "env": {k: cmd.env[k] for k in sorted(cmd.env) if k.startswith(cmd.recorded_env)},
            "log_path": str(log_path),
            "log_offset": log_offset,
            **cmd.details,
        }, indent=2))
        if not wait:
            return EngineInfo(f"{root}/v1", settings.llm_model, proc.pid, True, log_path=log_path, backend=engine.name)
        return _wait_ready(settings, proc.pid, proc)


def _engine_log(settings: Settings, pid: int) -> tuple[Path, int]:
    """The engine's log and where its latest start begins in it (a foreign engine: its stdout file)."""
    _, pid_file, state_file = _paths(settings)
    if _read_pid(pid_file) == pid:
        state = _read_state(state_file)
        engine = ENGINES.get(state.get("backend", ""))
        return Path(state.get("log_path") or _paths(settings, engine)[0]), int(state.get("log_offset", 0))
    try:
        return Path(os.readlink(f"/proc/{pid}/fd/1")), 0
    except OSError:
        return _paths(settings, _engine_of(pid))[0], 0


def _wait_ready(settings: Settings, pid: int, proc: subprocess.Popen[bytes] | None) -> EngineInfo:
    log_path, offset = _engine_log(settings, pid)  # read now: a dead process no longer tells
    title = (_engine_of(pid) or engine_for(settings)).title
    root = local_root(settings)
    deadline = time.monotonic() + settings.engine_start_timeout_s
    while time.monotonic() < deadline:
        exited = proc.poll() is not None if proc is not None else _engine_of(pid) is None
        if exited:
            code = proc.returncode if proc is not None else "unknown"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # workers it may have left behind
            _forget(settings, pid)
            raise _start_failure(log_path, offset, f"the {title} engine exited during start-up (exit code {code})")
        models = probe(root, settings.llm_api_key, settings=settings)
        if models is not None:
            return _info_from_models(f"{root}/v1", settings.llm_model, models, pid=pid, managed=True,
                                     log_path=log_path)
        time.sleep(0.25)
    stop(settings)
    raise _start_failure(log_path, offset, f"the {title} engine was not ready after "
                         f"{settings.engine_start_timeout_s:.0f} s and was stopped")


def _forget(settings: Settings, pid: int | None) -> None:
    _, pid_file, state_file = _paths(settings)
    if pid is not None and _read_pid(pid_file) == pid:
        pid_file.unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)
    proc = _children.pop(pid, None) if pid is not None else None
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    proc = _children.get(pgid)
    if proc is not None:
        proc.poll()  # reap our own dead leader
    return bool(processes.group_members(pgid))


def stop(settings: Settings | None = None, timeout: float = 30.0, *, any_home: bool = True) -> bool:
    """Stop the engine on the configured port and all its workers. Returns False when none was running.

    `any_home=False` stops only an engine started from this ARGUS_HOME (its pid file is here).
    """
    settings = settings or get_settings()
    pid = _engine_pid(settings)
    if pid is not None and not any_home and _read_pid(_paths(settings)[1]) != pid:
        pid = None
    if pid is None:
        _forget(settings, _read_pid(_paths(settings)[1]))
        return False
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
        if not _group_alive(pid):
            break
    else:
        raise EngineError(f"the engine (process group {pid}) did not stop")
    _forget(settings, pid)
    return True


def status(settings: Settings | None = None) -> EngineStatus:
    """What is serving: the configured external endpoint, or the managed local engine."""
    settings = settings or get_settings()
    if settings.llm_base_url:
        models = probe(settings.llm_base_url.rstrip("/"), settings.llm_api_key, vllm_health=False, settings=settings)
        entry = next((m for m in models or [] if m.get("id") == settings.llm_model), {})
        return EngineStatus(
            endpoint=settings.llm_base_url, model=settings.llm_model, managed=False, pid=None, running=models is not None,
            healthy=bool(entry), uptime_s=None, memory_bytes=None, served_models=[m.get("id") for m in models or []],
            max_model_len=_window(entry), backend=str(entry.get("owned_by") or ""),
            detail="external endpoint (ARGUS_LLM_BASE_URL)" if models is not None else "external endpoint not reachable",
        )
    log_path, pid_file, state_file = _paths(settings)
    pid = _engine_pid(settings)
    running = pid is not None
    own = running and _read_pid(pid_file) == pid  # started from this ARGUS_HOME: its state file is here
    state = _read_state(state_file) if own else {}
    models = probe(local_root(settings), settings.llm_api_key, settings=settings)
    entry = next((m for m in models or [] if m.get("id") == settings.llm_model), {})
    engine = _engine_of(pid) if pid else None
    backend = engine.name if engine else settings.llm_backend
    if running:
        detail = "serving" if entry else "starting (or unhealthy): see the log"
        if not own:
            detail += " (started from another ARGUS_HOME)"
        if backend != settings.llm_backend:
            detail += f"; {backend} runs here, llm_backend is {settings.llm_backend}"
    elif models is not None:
        detail = "a server not started by Argus answers on this port"
    else:
        detail = "not running"
    return EngineStatus(
        endpoint=f"{local_root(settings)}/v1", model=settings.llm_model, managed=running, pid=pid,
        running=running, healthy=bool(entry),
        uptime_s=processes.uptime(pid) if pid else None,
        memory_bytes=processes.group_memory(pid) if pid else None,
        served_models=[m.get("id") for m in models or []], max_model_len=_window(entry),
        log_path=str(_engine_log(settings, pid)[0] if pid else log_path), started_with=state, detail=detail,
        backend=backend,
    )


def ensure_running(settings: Settings | None = None) -> EngineInfo:
    """A ready engine: the configured endpoint (checked, never started) or the local one (started on demand)."""
    settings = settings or get_settings()
    if settings.llm_base_url:
        base_url = settings.llm_base_url.rstrip("/")
        models = probe(base_url, settings.llm_api_key, vllm_health=False, settings=settings)
        if models is None:
            raise EngineError(f"the LLM endpoint {base_url} (ARGUS_LLM_BASE_URL) does not answer GET /models")
        return _info_from_models(base_url, settings.llm_model, models)
    root = local_root(settings)
    models = probe(root, settings.llm_api_key, settings=settings)
    if models is not None:
        pid = _engine_pid(settings)
        return _info_from_models(f"{root}/v1", settings.llm_model, models, pid=pid, managed=pid is not None,
                                 log_path=_engine_log(settings, pid)[0] if pid else None)
    return start(settings, wait=True)
