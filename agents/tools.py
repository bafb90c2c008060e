"""The researcher's tools. Their docstrings and argument descriptions are what the LLM sees.

Every tool returns (text for the LLM, list of `Evidence`) — LangChain's
`content_and_artifact` format — so the researcher can number the evidence in the run's
registry and the reporter's [n] citations resolve to exact video moments and pages.
"""

from __future__ import annotations

import importlib
from typing import Literal

from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field

from core.settings import Settings
from core.types import Citation, Evidence, SourceType, format_timestamp
from pipelines.retrieve.answer_prompt import MAX_EVIDENCE_CHARS
from pipelines.retrieve.search import QueryError, Retriever, SearchFilters
from pipelines.store.catalog import open_catalog

WINDOW_S = 30.0  # inspect_source reads this much transcript either side of the time asked for


def describe(evidence: list[Evidence]) -> str:
    """Evidence as the short numbered text a tool hands back to the LLM."""
    if not evidence:
        return "Nothing found."
    return "\n".join(f"- ({ev.citation.label()}) {' '.join(ev.text.split())[:MAX_EVIDENCE_CHARS]}" for ev in evidence)


class SearchArgs(BaseModel):
    query: str = Field(description="a few keywords describing what to find, e.g. 'descaling citric acid'")
    source_type: Literal["any", "video", "document"] = Field("any", description="only this kind of source")


class InspectArgs(BaseModel):
    source: str = Field(description="the file name of a video or document, e.g. 'lecture.mp4' or 'guide.pdf'")
    time_s: float | None = Field(None, description="for a video: the second to look at")
    page: int | None = Field(None, description="for a document: the page to read (1-based)")


def make_search_tool(settings: Settings, retriever: Retriever) -> BaseTool:
    k = settings.agent_search_k

    @tool("search_knowledge_base", args_schema=SearchArgs, response_format="content_and_artifact")
    def search_knowledge_base(query: str, source_type: str = "any") -> tuple[str, list[Evidence]]:
        """Search the user's videos and documents (transcripts, keyframe text and objects, captions,
        document pages). Returns the best matching video moments and document passages."""
        filters = None if source_type == "any" else SearchFilters(types=[SourceType(source_type)])
        try:
            evidence = retriever.search(query, k, filters)
        except QueryError as exc:
            return f"Invalid query: {exc}", []
        return describe(evidence), evidence

    return search_knowledge_base


def make_inspect_tool(settings: Settings) -> BaseTool:
    @tool("inspect_source", args_schema=InspectArgs, response_format="content_and_artifact")
    def inspect_source(source: str, time_s: float | None = None, page: int | None = None) -> tuple[str, list[Evidence]]:
        """Read one source closely: for a video, the transcript around a time and the nearest keyframe
        (objects, tags, on-screen text); for a document, the text of a page."""
        catalog = open_catalog(settings)
        try:
            found = catalog.find_sources(source)
            if not found:
                return f"No source named {source!r}.", []
            src = found[0]
            if src.type == SourceType.document:
                evidence = _document_page(catalog, src, page)
            else:
                evidence = _media_window(catalog, src, time_s or 0.0)
        finally:
            catalog.close()
        return describe(evidence), evidence

    return inspect_source


def _document_page(catalog, src, page: int | None) -> list[Evidence]:
    chunks = catalog.chunks(src.id)
    chosen = [c for c in chunks if page is None or c.page == page][:3]
    return [Evidence(citation=Citation(source_id=src.id, source=src.name, type=src.type, page=c.page,
                                       heading=c.heading), text=c.text, score=1.0, channels={"inspect": 1.0})
            for c in chosen]


def _media_window(catalog, src, t: float) -> list[Evidence]:
    segments = [s for s in catalog.segments(src.id) if s.t1 >= t - WINDOW_S and s.t0 <= t + WINDOW_S]
    keyframe = catalog.nearest_keyframe(src.id, t) if src.type == SourceType.video else None
    parts = [" ".join(s.text.split()) for s in segments]
    if keyframe is not None and keyframe.searchable_text():
        parts.append(f"[keyframe @ {format_timestamp(keyframe.t)}] {keyframe.searchable_text()}")
    if not parts:
        return []
    t0 = segments[0].t0 if segments else (keyframe.t if keyframe else t)
    t1 = segments[-1].t1 if segments else t0
    citation = Citation(source_id=src.id, source=src.name, type=src.type, t0=t0, t1=t1,
                        keyframe_id=keyframe.id if keyframe else None)
    return [Evidence(citation=citation, text=" ".join(parts), score=1.0, channels={"inspect": 1.0})]


def legal_tool(settings: Settings) -> tuple[BaseTool | None, str]:
    """The legal-judgement tool, bound to `settings`, when `models.legal` imports and the state its pipeline
    loads exists under ARGUS_HOME/legal (the precedent base, and the baseline and/or the classifier as
    `legal_baseline_weight` mixes them); otherwise None and why."""
    try:
        legal = importlib.import_module("models.legal")
        make_legal_tool = importlib.import_module("models.legal.tool").make_legal_tool
    except Exception as exc:  # noqa: BLE001 — any import failure means "not available"
        return None, f"legal tool unavailable: {type(exc).__name__}: {exc}"
    # What the pipeline loads: the precedents, and each charge model the mix gives weight.
    weight = settings.legal_baseline_weight
    needed = [legal.precedents_dir(settings)]
    needed += [legal.baseline_dir(settings)] if weight > 0 else []
    needed += [legal.classifier_dir(settings)] if weight < 1 else []
    missing = [p.name for p in needed if not p.is_dir()]
    if missing:
        return None, (f"legal tool unavailable: no {' or '.join(missing)} under {settings.legal_dir} "
                      "(`argus legal train` and `argus legal index` build them)")
    return make_legal_tool(settings), "legal tool available"


def researcher_tools(settings: Settings, retriever: Retriever) -> tuple[list[BaseTool], list[str]]:
    """The researcher's tools and notes for the trace (e.g. why the legal tool is absent)."""
    tools = [make_search_tool(settings, retriever), make_inspect_tool(settings)]
    legal, note = legal_tool(settings)
    if legal is not None:
        tools.append(legal)
    return tools, [note]
