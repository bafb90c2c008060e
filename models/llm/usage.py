"""Token and latency accounting for chat-model calls, as a LangChain callback handler.

Attach a `UsageTracker` to a chat model (`get_chat_model(callbacks=[tracker])`) or to
one run (`chat.invoke(..., config={"callbacks": [tracker]})`); every model built by
`get_chat_model` also reports to the process-wide `USAGE` tracker. Token counts come
from the server's `usage` field (streams included: the client asks for it).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult


@dataclass
class CallRecord:
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    first_token_s: float | None  # streamed calls only
    error: str | None = None


@dataclass
class UsageSummary:
    calls: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    latency_s: float  # summed over calls
    completion_tokens_per_s: float  # completion tokens / summed latency

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class UsageTracker(BaseCallbackHandler):
    """Collects one `CallRecord` per chat-model call; thread-safe.

    Totals cover every call; `records` keeps the last `max_records` calls (all when None),
    so that a long-running process can keep a tracker without growing without bound.
    """

    def __init__(self, max_records: int | None = None) -> None:
        self._lock = threading.Lock()
        self._open: dict[UUID, dict[str, Any]] = {}
        self.records: deque[CallRecord] = deque(maxlen=max_records)
        self._totals = {"calls": 0, "errors": 0, "prompt_tokens": 0, "completion_tokens": 0, "latency_s": 0.0}

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *, run_id: UUID,
                            **kwargs: Any) -> None:
        params = kwargs.get("invocation_params") or {}
        model = params.get("model") or params.get("model_name") or (kwargs.get("metadata") or {}).get("ls_model_name", "")
        with self._lock:
            self._open[run_id] = {"start": time.perf_counter(), "first": None, "model": str(model)}

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            call = self._open.get(run_id)
            if call is not None and call["first"] is None and token:
                call["first"] = time.perf_counter() - call["start"]

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        prompt, completion = _token_counts(response)
        self._close(run_id, prompt, completion, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, 0, 0, f"{type(error).__name__}: {error}")

    def _close(self, run_id: UUID, prompt: int, completion: int, error: str | None) -> None:
        with self._lock:
            call = self._open.pop(run_id, None)
            if call is None:
                return
            record = CallRecord(call["model"], prompt, completion, time.perf_counter() - call["start"],
                                call["first"], error)
            self.records.append(record)
            totals = self._totals
            totals["calls"] += 1
            totals["errors"] += error is not None
            totals["prompt_tokens"] += prompt
            totals["completion_tokens"] += completion
            totals["latency_s"] += record.latency_s

    def summary(self) -> UsageSummary:
        with self._lock:
            t = dict(self._totals)
        latency = t["latency_s"]
        return UsageSummary(
            calls=t["calls"], errors=t["errors"], prompt_tokens=t["prompt_tokens"],
            completion_tokens=t["completion_tokens"], latency_s=round(latency, 3),
            completion_tokens_per_s=round(t["completion_tokens"] / latency, 2) if latency else 0.0,
        )

    def reset(self) -> None:
        with self._lock:
            self.records.clear()
            self._totals = dict.fromkeys(self._totals, 0)
            self._totals["latency_s"] = 0.0


def _token_counts(response: LLMResult) -> tuple[int, int]:
    """(prompt, completion) tokens from the message's usage metadata or the provider's token_usage."""
    prompt = completion = 0
    found = False
    for generations in response.generations:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if usage:
                prompt += usage.get("input_tokens", 0)
                completion += usage.get("output_tokens", 0)
                found = True
    if not found:
        token_usage = (response.llm_output or {}).get("token_usage") or {}
        prompt = token_usage.get("prompt_tokens", 0)
        completion = token_usage.get("completion_tokens", 0)
    return prompt, completion


USAGE = UsageTracker(max_records=1000)  # every model from get_chat_model reports here too
