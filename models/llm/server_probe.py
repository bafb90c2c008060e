"""What a running OpenAI-compatible LLM server says about itself: whether it answers
(`probe`), what it serves and with what context window (`EngineInfo`), and the shape of
`argus engine status` (`EngineStatus`). `server.py` starts and stops engines; this module
only asks them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings, get_settings
from models.llm.engine_base import Engine, EngineError
from models.llm.engine_llamacpp import ENGINE as LLAMACPP
from models.llm.engine_vllm import ENGINE as VLLM

ENGINES: dict[str, Engine] = {e.name: e for e in (LLAMACPP, VLLM)}


@dataclass(frozen=True)
class EngineInfo:
    """Where to reach a ready engine."""

    base_url: str  # OpenAI API root, ending in /v1
    model: str  # the served model name to put in requests
    pid: int | None = None  # None for an external endpoint
    managed: bool = False  # started and owned by Argus
    max_model_len: int | None = None  # as the server reports it
    log_path: Path | None = None
    backend: str = ""  # "llamacpp", "vllm", or the server's own "owned_by" (empty: unknown)


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
    backend: str = ""  # the engine serving (or configured, when none runs)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def llm_timeout(settings: Settings) -> httpx.Timeout:
    """Connect and read limits of every LLM request: a dead server fails fast, a slow prompt is waited for."""
    return httpx.Timeout(settings.llm_read_timeout_s, connect=settings.llm_connect_timeout_s)


def _client(settings: Settings | None = None) -> httpx.Client:
    settings = settings or get_settings()
    # trust_env=False: a proxy from the environment must never carry loopback traffic.
    timeout = httpx.Timeout(min(10.0, settings.llm_read_timeout_s), connect=settings.llm_connect_timeout_s)
    return httpx.Client(timeout=timeout, trust_env=False)


def probe(root: str, api_key: str = "EMPTY", *, vllm_health: bool = True,
          settings: Settings | None = None) -> list[dict[str, Any]] | None:
    """The served models when the server at `root` answers, else None.

    `/health` says the engine is up (vLLM's loop runs, llama.cpp has loaded the model);
    `/v1/models` that the API serves. Other OpenAI-compatible servers may have no
    `/health`, so it is optional there (`vllm_health=False`).
    """
    api_root = (root if root.rstrip("/").endswith("/v1") else f"{root}/v1").rstrip("/")
    try:
        with _client(settings) as client:
            if vllm_health and client.get(f"{root}/health").status_code != 200:
                return None
            response = client.get(f"{api_root}/models", headers={"Authorization": f"Bearer {api_key}"})
            response.raise_for_status()
            return list(response.json().get("data", []))
    except (httpx.HTTPError, ValueError):
        return None


def _window(entry: dict[str, Any]) -> int | None:
    """The context window a /v1/models entry reports: vLLM's max_model_len, llama.cpp's meta.n_ctx (per slot)."""
    return entry.get("max_model_len") or (entry.get("meta") or {}).get("n_ctx")


def _info_from_models(base_url: str, wanted: str, models: list[dict[str, Any]], **kw: Any) -> EngineInfo:
    ids = [m.get("id") for m in models]
    if wanted not in ids:
        raise EngineError(f"the server at {base_url} serves {ids}, not {wanted!r}; "
                          "set ARGUS_LLM_MODEL to one of them")
    entry = models[ids.index(wanted)]
    owner = str(entry.get("owned_by") or "")
    backend = next((e.name for e in ENGINES.values() if e.owned_by == owner), owner)
    return EngineInfo(base_url=base_url, model=wanted, max_model_len=_window(entry), backend=backend, **kw)
