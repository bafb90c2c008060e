"""`argus engine start|stop|status`: the local LLM engine (llama.cpp or vLLM) the agents talk to."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import get_settings

console = Console()
engine_app = typer.Typer(help="The LLM engine: a local llama.cpp or vLLM server (llm_backend), "
                         "or the endpoint in ARGUS_LLM_BASE_URL.",
                         no_args_is_help=True)

ENGINE_SETTINGS = {
    "common": ("llm_backend", "llm_chat_model", "llm_base_url", "llm_model", "llm_max_tokens", "llm_connect_timeout_s",
               "llm_read_timeout_s", "engine_host", "engine_port", "engine_threads", "engine_max_model_len",
               "engine_start_timeout_s"),
    "llamacpp": ("engine_parallel", "engine_prompt_cache_mib", "engine_llamacpp_server"),
    "vllm": ("engine_device", "engine_dtype", "engine_cpu_kvcache_gib", "engine_cpu_threads",
             "engine_gpu_memory_utilization", "engine_max_num_seqs", "engine_max_num_batched_tokens",
             "engine_enable_chunked_prefill", "engine_enable_lora", "engine_enforce_eager"),
}


def _engine_settings(settings) -> dict[str, object]:
    names = ENGINE_SETTINGS["common"] + ENGINE_SETTINGS.get(settings.llm_backend, ())
    return {name: getattr(settings, name) for name in names}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


@engine_app.command("start")
def start_cmd(
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return once launched, without waiting for readiness.")] = False,
) -> None:
    """Start the local engine (llama.cpp: seconds; vLLM on a CPU: about a minute); a running one is reused."""
    from models.llm.server import EngineError, start

    settings = get_settings()
    if settings.llm_base_url:
        console.print(f"[yellow]ARGUS_LLM_BASE_URL is set[/] ({settings.llm_base_url}): nothing to start here.")
        raise typer.Exit(0)
    try:
        with console.status(f"starting the {settings.llm_backend} engine…"):
            info = start(settings, wait=not no_wait)
    except EngineError as exc:
        typer.echo(f"failed: {exc}", err=True)  # plain: the log tail must not be re-wrapped
        raise typer.Exit(1) from None
    state = "launched" if no_wait else "ready"
    console.print(f"[green]{state}[/] {info.model} on {info.backend or settings.llm_backend} at {info.base_url} "
                  f"(pid {info.pid or '-'}, log {info.log_path or '-'})")


@engine_app.command("stop")
def stop_cmd() -> None:
    """Stop the local engine (and its workers)."""
    from models.llm.server import EngineError, stop

    try:
        stopped = stop(get_settings())
    except EngineError as exc:
        typer.echo(f"failed: {exc}", err=True)
        raise typer.Exit(1) from None
    console.print("[green]stopped[/]" if stopped else "no engine started by Argus is running")


@engine_app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Engine, endpoint, model, pid, health, uptime, memory, build and the engine settings."""
    from models.llm.server import status

    settings = get_settings()
    st = status(settings)
    engine_settings = _engine_settings(settings)
    if as_json:
        typer.echo(json.dumps({**st.as_dict(), "settings": engine_settings}, indent=2, default=str))
        raise typer.Exit(0 if st.healthy else 1)
    table = Table(title="LLM engine", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    health = "[green]healthy[/]" if st.healthy else ("[yellow]not ready[/]" if st.running else "[red]down[/]")
    memory = f"{st.memory_bytes / 2**30:.1f} GiB" if st.memory_bytes else "-"
    started = st.started_with
    for name, value in (
        ("engine", st.backend or "-"), ("endpoint", st.endpoint), ("model", st.model), ("health", health),
        ("state", st.detail), ("threads", str(started.get("threads", "-"))), ("build", started.get("build", "-")),
        ("pid", str(st.pid or "-")), ("uptime", _duration(st.uptime_s)), ("memory (PSS)", memory),
        ("max_model_len", str(st.max_model_len or "-")), ("log", st.log_path or "-"),
    ):
        table.add_row(name, value)
    console.print(table)
    settings_table = Table(title="Engine settings")
    settings_table.add_column("setting")
    settings_table.add_column("value", overflow="fold")
    for name, value in engine_settings.items():
        settings_table.add_row(name, "" if value is None else str(value))
    console.print(settings_table)
    raise typer.Exit(0 if st.healthy else 1)


def register(app: typer.Typer) -> None:
    app.add_typer(engine_app, name="engine")
