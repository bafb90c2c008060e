"""Token and latency accounting, driven through the callback methods."""

from __future__ import annotations

import uuid

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from models.llm.usage import UsageTracker

pytestmark = pytest.mark.unit


def reply(prompt: int, completion: int) -> LLMResult:
    message = AIMessage("ok", usage_metadata={"input_tokens": prompt, "output_tokens": completion,
                                              "total_tokens": prompt + completion})
    return LLMResult(generations=[[ChatGeneration(message=message)]])


def test_records_totals_first_token_and_errors() -> None:
    tracker = UsageTracker(max_records=2)
    for prompt, completion in ((10, 5), (20, 7), (30, 9)):
        run = uuid.uuid4()
        tracker.on_chat_model_start({}, [[]], run_id=run, invocation_params={"model": "m"})
        tracker.on_llm_new_token("a", run_id=run)
        tracker.on_llm_end(reply(prompt, completion), run_id=run)
    failed = uuid.uuid4()
    tracker.on_chat_model_start({}, [[]], run_id=failed, invocation_params={"model": "m"})
    tracker.on_llm_error(ValueError("boom"), run_id=failed)

    summary = tracker.summary()
    assert (summary.calls, summary.errors, summary.prompt_tokens, summary.completion_tokens) == (4, 1, 60, 21)
    assert [r.prompt_tokens for r in tracker.records] == [30, 0]  # the last two calls are kept
    assert tracker.records[0].first_token_s is not None and tracker.records[0].model == "m"
    assert tracker.records[1].error == "ValueError: boom"
    tracker.reset()
    assert tracker.summary().calls == 0 and not tracker.records


def test_provider_token_usage_when_the_message_has_none() -> None:
    tracker = UsageTracker()
    run = uuid.uuid4()
    tracker.on_chat_model_start({}, [[]], run_id=run)
    result = LLMResult(generations=[[ChatGeneration(message=AIMessage("ok"))]],
                       llm_output={"token_usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    tracker.on_llm_end(result, run_id=run)
    assert (tracker.records[0].prompt_tokens, tracker.records[0].completion_tokens) == (3, 4)
