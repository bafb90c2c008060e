"""Search and cited answers.

    POST /v1/search   evidence list (the `argus search --json` contract)
    POST /v1/ask      an answer with citations; `"stream": true` for server-sent events:
                      `evidence`, then `token`s, then `answer` (the final, checked Answer), then `done`
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse

from app.api.problems import ApiError
from app.api.security import require
from core.types import Answer, Evidence

router = APIRouter(prefix="/v1", tags=["query"])

SSE_SEND_TIMEOUT_S = 30  # a client that stops reading is dropped after this long


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: list[Literal["video", "audio", "document"]] | None = Field(None, examples=[["video"]])
    source_ids: list[int] | None = None
    t0: float | None = Field(None, ge=0, description="Only moments ending after this second.")
    t1: float | None = Field(None, ge=0, description="Only moments starting before this second.")
    language: str | None = Field(None, max_length=8, examples=["en"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"query": "how do I descale the espresso machine", "k": 5}]})

    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(10, ge=1, le=100)
    level: Literal["moment", "source"] = Field("moment", description="moment: a span or page; source: a whole file.")
    filters: Filters | None = None
    rerank: bool = Field(False, description="Rerank the top results (slower).")


class EvidenceOut(BaseModel):
    source: str
    source_id: int
    type: str
    t0: float | None = None
    t1: float | None = None
    page: int | None = None
    keyframe_id: int | None = None
    score: float
    channels: dict[str, float]
    text: str
    label: str = Field(examples=["lecture.mp4 @ 03:12"])
    media_url: str
    keyframe_url: str | None = None


class SearchResponse(BaseModel):
    query: str
    results: list[EvidenceOut]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "What does the guide say about descaling?", "k": 6, "stream": False}]})

    question: str = Field(min_length=1, max_length=2000)
    k: int = Field(6, ge=1, le=20)
    rerank: bool = False
    stream: bool = Field(False, description="Answer as server-sent events.")


class AskResponse(BaseModel):
    question: str
    text: str = Field(description="The answer; [n] cites citations[n-1].")
    answered: bool
    citations: list[EvidenceOut]


def evidence_out(ev: Evidence) -> EvidenceOut:
    from app.commands.retrieve import evidence_json

    c = ev.citation
    return EvidenceOut(**evidence_json(ev), label=c.label(), media_url=f"/v1/media/{c.source_id}",
                       keyframe_url=f"/v1/media/{c.source_id}/keyframes/{c.keyframe_id}" if c.keyframe_id else None)


def answer_out(answer: Answer) -> AskResponse:
    return AskResponse(question=answer.question, text=answer.text, answered=answer.answered,
                       citations=[evidence_out(e) for e in answer.evidence])


def run_search(request: Request, query: str, k: int, filters: Filters | None = None, level: str = "moment",
               rerank: bool = False) -> list[Evidence]:
    from pipelines.retrieve.search import QueryError, SearchFilters

    state = request.app.state.argus
    try:
        return state.search(query, k, SearchFilters(**filters.model_dump()) if filters else None, level, rerank)
    except QueryError as exc:
        raise ApiError(400, str(exc)) from None


def llm_unavailable(exc: Exception) -> ApiError:
    return ApiError(503, f"the LLM engine is unavailable ({type(exc).__name__})", headers={"Retry-After": "30"})


def llm_failed(exc: Exception) -> ApiError:
    import logging

    logging.getLogger("argus.api").warning("the LLM failed mid-answer: %s: %s", type(exc).__name__, exc)
    return ApiError(502, f"the LLM engine failed while answering ({type(exc).__name__}); try again",
                    headers={"Retry-After": "30"})


@router.post("/search", response_model=SearchResponse, summary="Best video moments and document passages",
             dependencies=[Depends(require("read"))])
def search(request: Request, body: SearchRequest) -> SearchResponse:
    results = run_search(request, body.query, body.k, body.filters, body.level, body.rerank)
    return SearchResponse(query=body.query, results=[evidence_out(e) for e in results])


@router.post("/ask", response_model=AskResponse, summary="A cited answer (optionally streamed as SSE)",
             dependencies=[Depends(require("read"))],
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "JSON, or with stream=true SSE: evidence, token*, answer, done"}})
async def ask(request: Request, body: AskRequest):
    from pipelines.retrieve.answer import finish_answer, focused, relevant, stream_answer

    evidence = focused(await anyio.to_thread.run_sync(run_search, request, body.question, body.k, None, "moment",
                                                      body.rerank))
    state = request.app.state.argus
    try:
        chat = await anyio.to_thread.run_sync(state.chat) if relevant(evidence) else None
    except Exception as exc:  # noqa: BLE001 — the engine failing to start is a 503, not a 500
        raise llm_unavailable(exc) from None
    if not body.stream:
        try:
            text = await anyio.to_thread.run_sync(lambda: "".join(stream_answer(body.question, evidence, chat, state.settings.llm_chat_model)))
        except Exception as exc:  # noqa: BLE001 — the engine failing mid-answer is the upstream's fault: 502
            raise llm_failed(exc) from None
        return answer_out(finish_answer(body.question, evidence, text))

    def events() -> Iterator[dict]:
        yield {"event": "evidence", "data": json.dumps([evidence_out(e).model_dump() for e in relevant(evidence)])}
        parts: list[str] = []
        try:
            for piece in stream_answer(body.question, evidence, chat, state.settings.llm_chat_model):
                parts.append(piece)
                yield {"event": "token", "data": json.dumps({"text": piece})}
        except Exception as exc:  # noqa: BLE001 — reported in-band: the response has started
            yield {"event": "error", "data": json.dumps({"detail": f"the LLM failed ({type(exc).__name__})"})}
            return
        final = answer_out(finish_answer(body.question, evidence, "".join(parts)))
        yield {"event": "answer", "data": final.model_dump_json()}
        yield {"event": "done", "data": "{}"}

    return EventSourceResponse(iterate_in_thread(events()), send_timeout=SSE_SEND_TIMEOUT_S, ping=15)


async def iterate_in_thread(iterator: Iterator):
    """A blocking iterator (LLM streaming) as an async one, each step in a worker thread."""
    sentinel = object()
    while True:
        item = await anyio.to_thread.run_sync(next, iterator, sentinel)
        if item is sentinel:
            return
        yield item
