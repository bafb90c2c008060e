"""`argus search`, `argus ask` and `argus eval retrieval`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from app.console import make_console
from core.settings import Settings, get_settings
from core.types import Evidence, SourceType, format_timestamp

console = make_console()
eval_app = typer.Typer(help="Evaluation harnesses: retrieval quality, the agent team.", no_args_is_help=True)


def _where(ev: Evidence) -> str:
    c = ev.citation
    if c.t0 is not None:
        return f"{format_timestamp(c.t0)}–{format_timestamp(c.t1 if c.t1 is not None else c.t0)}"
    return f"p. {c.page}" if c.page is not None else ""


def evidence_json(ev: Evidence) -> dict:
    """The `argus search --json` contract: source, source_id, t0, t1 (or page), score, channels, text."""
    c = ev.citation
    out = {"source": c.source, "source_id": c.source_id, "type": c.type.value}
    out.update({"t0": c.t0, "t1": c.t1} if c.t0 is not None else {"page": c.page})
    out.update({"keyframe_id": c.keyframe_id, "score": ev.score, "channels": ev.channels, "text": ev.text})
    return out


def make_reranker(settings: Settings, kind: str):
    """The configured reranker: a cross-encoder when one is configured, else the LLM recipe."""
    from models.registry import get_registry
    from pipelines.retrieve.rerank import CrossEncoderReranker, LLMReranker

    if kind == "off":
        return None
    if settings.reranker_model and kind in ("auto", "cross-encoder"):
        return CrossEncoderReranker(str(get_registry(settings).resolve("reranker")))
    from models.llm.client import get_chat_model

    return LLMReranker(get_chat_model(settings))


def _retriever(settings: Settings, channels: list[str] | None, rule: str, rerank: bool):
    from pipelines.retrieve.search import Retriever

    kwargs = {"channels": tuple(channels)} if channels else {}
    return Retriever(settings, rule=rule, reranker=make_reranker(settings, "auto") if rerank else None, **kwargs)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def search_command(
    query: Annotated[str, typer.Argument(help="What to look for (any language).")],
    k: Annotated[int, typer.Option("-k", "--k", help="How many results.")] = 10,
    level: Annotated[str, typer.Option(help="moment (a span or page) or source (a whole file).")] = "moment",
    types: Annotated[list[SourceType] | None, typer.Option("--type", help="Only these source types.")] = None,
    language: Annotated[str | None, typer.Option(help="Only sources in this language (en, zh, ...).")] = None,
    channels: Annotated[list[str] | None, typer.Option("--channel", help="Only these channels.")] = None,
    rule: Annotated[str, typer.Option(help="Fusion rule: sum or rrf.")] = "sum",
    rerank: Annotated[bool, typer.Option(help="Rerank the top results (LLM or cross-encoder).")] = False,
    image: Annotated[Path | None, typer.Option(help="A query image: find similar keyframes.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search the knowledge base: the best video moments and document pages for a query."""
    from pipelines.retrieve.search import QueryError, SearchFilters

    filters = SearchFilters(types=types, language=language) if (types or language) else None
    try:
        retriever = _retriever(get_settings(), channels, rule, rerank)
        results = retriever.search(query, k, filters, granularity=level, image=image)
    except QueryError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps([evidence_json(ev) for ev in results], ensure_ascii=False, indent=2))
        return
    if not results:
        console.print("No results: the base is empty or nothing matches.")
        return
    table = Table(title=f"{query[:60]}")
    for column in ("#", "source", "where", "score", "channels", "snippet"):
        table.add_column(column, overflow="fold")
    for n, ev in enumerate(results, start=1):
        chans = " ".join(f"{c}={s:.2f}" for c, s in ev.channels.items())
        table.add_row(str(n), ev.citation.source, _where(ev), f"{ev.score:.2f}", chans, ev.text[:120])
    console.print(table)


def ask_command(
    question: Annotated[str, typer.Argument(help="A question about your videos and documents.")],
    k: Annotated[int, typer.Option("-k", "--k", help="How much evidence to give the LLM.")] = 6,
    rerank: Annotated[bool, typer.Option(help="Rerank the evidence with the LLM (slow on CPU) or a cross-encoder.")] = False,
    agents: Annotated[bool, typer.Option("--agents", help="Answer with the agent team (plan, research, code, "
                                         "report) and show its live trace.")] = False,
    review: Annotated[bool, typer.Option(help="With --agents: review (accept or edit) the plan first.")] = False,
    thread: Annotated[str | None, typer.Option(help="With --agents: the run id (resume or inspect a run).")] = None,
) -> None:
    """Answer a question from the knowledge base, citing video moments and document pages."""
    if agents:
        from app.commands.agents_trace import ask_agents

        ask_agents(question, review=review, thread_id=thread)
        return
    from models.llm.stream import EngineError, answer_stream
    from pipelines.retrieve.answer import finish_answer, focused, stream_answer
    from pipelines.retrieve.answer_prompt import ANSWER_TOKENS
    from pipelines.retrieve.search import QueryError

    settings = get_settings()
    try:
        with console.status("searching…"):
            evidence = focused(_retriever(settings, None, "sum", rerank).search(question, k))
    except QueryError as exc:
        _fail(str(exc))
    with console.status("starting the LLM engine…"):
        chat = answer_stream(settings, max_tokens=ANSWER_TOKENS)
    parts: list[str] = []
    # The reply streams into a transient view; what stays is the checked answer, whose
    # sentences and [n] markers are the ones the evidence supports (the API returns the same).
    try:
        with Live(Text(""), console=console, transient=True, refresh_per_second=8) as live:
            for piece in stream_answer(question, evidence, chat, settings.llm_chat_model):
                parts.append(piece)
                live.update(Text("".join(parts), style="dim"))
    except EngineError as exc:
        _fail(str(exc))
    result = finish_answer(question, evidence, "".join(parts))
    console.print(result.text, soft_wrap=True, markup=False, highlight=False)
    if result.evidence:
        console.print("\n[bold]Sources[/]")
        for n, ev in enumerate(result.evidence, start=1):
            if result.answered and f"[{n}]" not in result.text:
                continue  # shown to the model, not cited
            c = ev.citation
            span = f"–{format_timestamp(c.t1)}" if c.t0 is not None and c.t1 is not None and c.t1 - c.t0 >= 1 else ""
            line = Text(f"  [{n}] {c.label()}{span}  ")
            line.append(" ".join(ev.text.split())[:90], style="dim")
            console.print(line, soft_wrap=True)


@eval_app.command("retrieval")
def eval_retrieval(
    queries: Annotated[Path, typer.Option("--queries", help="Labelled queries (JSONL).", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("eval-retrieval"),
    channels: Annotated[list[str] | None, typer.Option("--channels", help="Channels to ablate.")] = None,
    rerank: Annotated[bool, typer.Option(help="Also evaluate the fused ranking with rerank.")] = True,
) -> None:
    """Recall@k, MRR and nDCG per channel and fusion, with and without rerank, at source and moment level."""
    from models.text_embedding import clear_query_cache
    from pipelines.retrieve.evaluate import Config, evaluate, load_queries, write_report

    settings = get_settings()
    labelled, problems = load_queries(queries)
    for p in problems:
        console.print(f"[yellow]skipped[/] {p}")
    if not labelled:
        _fail(f"no valid queries in {queries}")
    _check_base_has_the_expected_sources(settings, labelled, queries)
    names = channels or ["keyword", "dense", "visual"]
    configs = [Config(c) for c in names] + [Config("fused"), Config("fused-rrf")]
    if rerank:
        configs.append(Config("fused", rerank=True))
    retrievers: dict[Config, object] = {}

    def run(query: str, config: Config, level: str) -> list[Evidence]:
        if config not in retrievers:
            fused = config.channel.startswith("fused")
            retrievers[config] = _retriever(settings, names if fused else [config.channel],
                                            "rrf" if config.channel == "fused-rrf" else "sum", config.rerank)
        clear_query_cache()  # every configuration's latency includes embedding its query
        return retrievers[config].search(query, 10, granularity=level)

    rows = evaluate(labelled, configs, run, progress=lambda line: console.print(line))
    notes = [f"{len(labelled)} queries from {queries.name}", f"base: {settings.home}"]
    write_report(rows, out, notes=notes)
    console.print(f"[green]report[/] {out / 'report.md'}")


def _check_base_has_the_expected_sources(settings: Settings, labelled: list, queries: Path) -> None:
    """Refuse to score a base that cannot answer: an empty one, or one holding none of the expected sources
    (every figure would be 0 and look like a measurement)."""
    from pipelines.store.catalog import open_catalog

    catalog = open_catalog(settings)
    try:
        in_base = {s.name for s in catalog.list_sources()}
    finally:
        catalog.close()
    if not in_base:
        _fail(f"the knowledge base at {settings.home} has no sources: ingest the files {queries.name} "
              "refers to first (`argus ingest FOLDER --recursive`), or point ARGUS_HOME at that base")
    expected = sorted({q.source for q in labelled})
    missing = [name for name in expected if name not in in_base]
    if len(missing) == len(expected):
        _fail(f"none of the {len(expected)} sources {queries.name} expects ({', '.join(expected[:3])}"
              f"{', …' if len(expected) > 3 else ''}) is in the knowledge base at {settings.home}")
    if missing:
        console.print(f"[yellow]warning:[/] {len(missing)} of the {len(expected)} expected sources are not in the "
                      f"base ({', '.join(missing[:3])}{', …' if len(missing) > 3 else ''}): their queries score 0")


def register(app: typer.Typer) -> None:
    app.command("search")(search_command)
    app.command("ask")(ask_command)
    from app.commands.eval_agents import register_agents

    register_agents(eval_app)  # `argus eval agents` lives in its own module
    app.add_typer(eval_app, name="eval")
