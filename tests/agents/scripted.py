"""`ScriptedChatModel`: a fake chat model that replays scripted replies, for routing tests only.

It stands in for the LLM where a test needs determinism (routing, budgets, interrupts);
every node also has a test on the real engine (test_nodes_real.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

Reply = str | dict | AIMessage | Callable[[list[BaseMessage], dict], AIMessage]


def tool_call(name: str, **args: Any) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call_{name}", "type": "tool_call"}])


class ScriptedChatModel(BaseChatModel):
    """Replies, in order, with the scripted messages; dicts become JSON (structured outputs).

    Each reply reports 100 prompt + 10 completion tokens, so token budgets can be tested.
    `calls` records (messages, kwargs) of every call.
    """

    replies: list[Any]
    _calls: list[tuple[list[BaseMessage], dict]] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[tuple[list[BaseMessage], dict]]:
        return self._calls

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any):
        return self.bind(tools=tools, tool_choice=tool_choice, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        self._calls.append((messages, kwargs))
        if not self.replies:
            raise AssertionError(f"ScriptedChatModel ran out of replies (call {len(self._calls)})")
        reply = self.replies.pop(0)
        if callable(reply):
            reply = reply(messages, kwargs)
        if isinstance(reply, dict):
            reply = json.dumps(reply)
        message = reply if isinstance(reply, AIMessage) else AIMessage(reply)
        message = message.model_copy(update={"usage_metadata": {"input_tokens": 100, "output_tokens": 10,
                                                                "total_tokens": 110}})
        return ChatResult(generations=[ChatGeneration(message=message)])
