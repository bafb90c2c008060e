"""An OpenAI-compatible chat endpoint over the knowledge base.

    POST /v1/chat/completions   model "argus-rag" (retrieve + cited answer) or "argus-agents"
    GET  /v1/models

Any OpenAI client works: the last user message is the question; the reply's text ends
with a "Sources" list, and the structured citations come in an extra top-level field
`citations` (on the final chunk when streaming). `usage` holds the engine's token counts,
summed over every LLM call the answer made (on the final chunk when streaming).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from langchain_core.tracers.context import register_configure_hook
from pydantic import BaseModel, ConfigDict, Field

from app.api.problems import ApiError
from app.api.query import EvidenceOut, evidence_out, iterate_in_thread, llm_unavailable, run_search
from app.api.security import require
from models.llm.usage import UsageTracker

router = APIRouter(prefix="/v1", tags=["openai"])

RAG_MODEL = "argus-rag"
AGENTS_MODEL = "argus-agents"


def agents_available() -> bool:
    from app.api.state import AGENT_MODULES, available

    return available(*AGENT_MODULES)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={
        "examples": [{"model": RAG_MODEL, "messages": [{"role": "user", "content": "How do I descale the machine?"}]}]})

    model: str = Field(examples=[RAG_MODEL])
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    k: int = Field(6, ge=1, le=20, description="Argus extension: evidence items given to the LLM.")


class Choice(BaseModel):
    index: int = 0
    message: dict[str, Any]
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: dict[str, int]
    citations: list[EvidenceOut] = Field(description="Argus extension: what the [n] markers cite.")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "argus"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def with_sources(text: str, citations: list[EvidenceOut]) -> str:
    if not citations:
        return text
    lines = "\n".join(f"[{n}] {c.label}" for n, c in enumerate(citations, start=1))
    return f"{text}\n\nSources:\n{lines}"


@router.get("/models", response_model=ModelList, summary="The models this endpoint serves",
            dependencies=[Depends(require("read"))])
def list_models() -> ModelList:
    return ModelList(data=[ModelCard(id=RAG_MODEL)] + ([ModelCard(id=AGENTS_MODEL)] if agents_available() else []))


@router.post("/chat/completions", response_model=ChatCompletion, summary="OpenAI-compatible chat over the base",
             dependencies=[Depends(require("read"))],
             responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or chunks with stream=true"}})
async def chat_completions(request: Request, body: ChatRequest):
    question = next((_text(m.content) for m in reversed(body.messages) if m.role == "user"), "").strip()
    if not question:
        raise ApiError(400, "the messages hold no user message with text")
    usage = UsageTracker()  # this request's LLM calls, with the engine's own token counts
    if body.model == AGENTS_MODEL and agents_available():
        pieces, finish = _agent_answer(request, question, usage)
    elif body.model == RAG_MODEL:
        pieces, finish = await _rag_answer(request, question, body.k, usage)
    else:
        raise ApiError(404, f"unknown model {body.model!r}; use {RAG_MODEL!r}"
                       + (f" or {AGENTS_MODEL!r}" if agents_available() else ""))
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        text = await anyio.to_thread.run_sync(lambda: "".join(pieces))
        answer_text, citations = finish(text)
        return ChatCompletion(
            id=completion_id, created=created, model=body.model, citations=citations,
            choices=[Choice(message={"role": "assistant", "content": with_sources(answer_text, citations)})],
            usage=usage_counts(usage))

    def chunk(delta: dict, finish_reason: str | None = None, **extra) -> str:
        payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": body.model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    def stream() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        parts = []
        for piece in pieces:
            parts.append(piece)
            yield chunk({"content": piece})
        answer_text, citations = finish("".join(parts))
        tail = with_sources("", citations)
        if tail:
            yield chunk({"content": tail})
        yield chunk({}, "stop", citations=[c.model_dump() for c in citations], usage=usage_counts(usage))
        yield "data: [DONE]\n\n"

    return StreamingResponse(iterate_in_thread(stream()), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


def usage_counts(tracker: UsageTracker) -> dict[str, int]:
    """OpenAI's `usage` from the engine's counts of every LLM call the answer made (none: zeros)."""
    summary = tracker.summary()
    return {"prompt_tokens": summary.prompt_tokens, "completion_tokens": summary.completion_tokens,
            "total_tokens": summary.prompt_tokens + summary.completion_tokens}


# LLM calls made while this holds a tracker report to it, however deep in a graph they run (LangChain's
# configure hook; inherited by the threads LangGraph runs nodes in, as they copy the context).
_request_usage: ContextVar[UsageTracker | None] = ContextVar("argus_request_usage", default=None)
register_configure_hook(_request_usage, inheritable=True)


async def _rag_answer(request: Request, question: str, k: int, usage: UsageTracker):
    from pipelines.retrieve.answer import finish_answer, focused, relevant, stream_answer

    evidence = focused(await anyio.to_thread.run_sync(run_search, request, question, k))
    try:
        chat = await anyio.to_thread.run_sync(request.app.state.argus.chat) if relevant(evidence) else None
        chat = chat.with_config(callbacks=[usage]) if chat is not None else None
    except Exception as exc:  # noqa: BLE001
        raise llm_unavailable(exc) from None

    def finish(text: str) -> tuple[str, list[EvidenceOut]]:
        answer = finish_answer(question, evidence, text)
        return answer.text, [evidence_out(e) for e in answer.evidence]

    return stream_answer(question, evidence, chat, request.app.state.argus.settings.llm_chat_model), finish


def _agent_answer(request: Request, question: str, usage: UsageTracker):
    """The agent team's report, as one piece once the run ends (its tokens include planning, not just the answer)."""
    from app.api.agents import stream_fn
    from core.types import AgentResult

    state = request.app.state.argus
    holder: dict = {}

    def pieces() -> Iterator[str]:
        counting = _request_usage.set(usage)  # set and reset within one step of this generator: one context
        try:
            for ev in stream_fn(state)(question, thread_id=uuid.uuid4().hex, review=False, settings=state.settings):
                if ev.kind == "report":
                    holder["result"] = AgentResult.model_validate(ev.data["result"])
        finally:
            _request_usage.reset(counting)
        result = holder.get("result")
        yield result.report if result and result.report else "The agent run ended without a report."

    def finish(text: str) -> tuple[str, list[EvidenceOut]]:
        result = holder.get("result")
        return text, [evidence_out(e) for e in result.evidence] if result else []

    return pieces(), finish
