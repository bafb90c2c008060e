"""Constrained decoding on the server: `structured()` (a JSON schema) and `choose()` (one of some strings).

The reply is valid by construction: a JSON-schema `response_format` (vLLM and
llama.cpp both honour the OpenAI form), and for a choice vLLM's
`structured_outputs.choice` or llama.cpp's GBNF `grammar`. Re-exported by `client`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from pydantic import BaseModel, ValidationError

from models.llm.budget import tokenizer_for
from models.llm.parsing import strip_think

SchemaT = TypeVar("SchemaT", bound=BaseModel)


class StructuredOutputError(ValueError):
    """The model's reply did not validate against the requested schema."""


def to_messages(value: LanguageModelInput) -> list[BaseMessage]:
    """A prompt (text, PromptValue or message list) as a list of messages."""
    if isinstance(value, str):
        return [HumanMessage(value)]
    if isinstance(value, PromptValue):
        return value.to_messages()
    return convert_to_messages(value)


def json_schema_format(schema: type[BaseModel]) -> dict[str, Any]:
    """The OpenAI `response_format` that makes the server decode only JSON valid for `schema`."""
    return {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()}}


def _with_schema_instructions(messages: list[BaseMessage], schema: type[BaseModel]) -> list[BaseMessage]:
    # Decoding is constrained either way; telling the model the schema (field
    # descriptions, enums) is what makes the values sensible.
    note = ("Reply with one JSON object that matches this JSON schema, and nothing else:\n"
            + json.dumps(schema.model_json_schema(), ensure_ascii=False))
    if messages and isinstance(messages[0], SystemMessage) and isinstance(messages[0].content, str):
        return [SystemMessage(f"{messages[0].content}\n\n{note}"), *messages[1:]]
    return [SystemMessage(note), *messages]


def structured(chat: BaseChatModel, schema: type[SchemaT], *, retries: int = 1,
               instructions: bool = True) -> Runnable[LanguageModelInput, SchemaT]:
    """A runnable that returns a validated `schema` instance for a prompt.

    The server constrains decoding to the schema (a JSON-schema `response_format`,
    which vLLM and llama.cpp both honour), so the reply parses unless it was cut off at
    max_tokens, which raises `StructuredOutputError` at once. `retries` only matters for backends
    without constrained decoding: the validation error is shown to the model and it
    answers again. `instructions` adds the schema to the system prompt.
    """
    bound = chat.bind(response_format=json_schema_format(schema))

    def prepare(value: LanguageModelInput) -> list[BaseMessage]:
        messages = to_messages(value)
        return _with_schema_instructions(messages, schema) if instructions else messages

    def check(reply: BaseMessage, messages: list[BaseMessage], attempt: int) -> SchemaT | list[BaseMessage]:
        text = strip_think(reply.content if isinstance(reply.content, str) else str(reply.content))
        try:
            return schema.model_validate_json(text)
        except ValidationError as exc:
            finish = (reply.response_metadata or {}).get("finish_reason")
            if finish == "length":
                raise StructuredOutputError(
                    f"the {schema.__name__} reply was cut off at max_tokens ({len(text)} characters); "
                    "raise max_tokens or simplify the schema") from exc
            if attempt >= retries:
                raise StructuredOutputError(f"the reply is not a valid {schema.__name__}: {exc}\nreply: {text[:500]}") from exc
            return [*messages, reply, HumanMessage(
                f"That reply is not valid: {exc.errors(include_url=False)}. Answer again with only the JSON object.")]

    # `config` carries the caller's callbacks (usage trackers, tracing) into the model call.
    def run(value: LanguageModelInput, config: RunnableConfig) -> SchemaT:
        messages = prepare(value)
        for attempt in range(retries + 1):
            outcome = check(bound.invoke(messages, config=config), messages, attempt)
            if isinstance(outcome, BaseModel):
                return outcome
            messages = outcome
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def arun(value: LanguageModelInput, config: RunnableConfig) -> SchemaT:
        messages = prepare(value)
        for attempt in range(retries + 1):
            outcome = check(await bound.ainvoke(messages, config=config), messages, attempt)
            if isinstance(outcome, BaseModel):
                return outcome
            messages = outcome
        raise AssertionError("unreachable: the last attempt returns or raises")

    return RunnableLambda(run, afunc=arun, name=f"structured[{schema.__name__}]")


def choose(chat: BaseChatModel, prompt: LanguageModelInput, choices: Sequence[str],
           config: RunnableConfig | None = None) -> str:
    """Exactly one of `choices`, decoded under a choice constraint.

    llama.cpp gets a GBNF grammar whose only sentences are the choices; vLLM (and
    servers of unknown kind) `structured_outputs.choice`.
    """
    options = list(dict.fromkeys(choices))
    if not options:
        raise ValueError("choose() needs at least one choice")
    if getattr(chat, "engine_backend", "") == "llamacpp":
        constraint: dict[str, Any] = {"grammar": choice_grammar(options)}
    else:
        constraint = {"structured_outputs": {"choice": options}}
    reply = chat.invoke(
        to_messages(prompt),
        config=config,
        extra_body=constraint,
        max_tokens=_choice_budget(chat, options),
    )
    text = strip_think(reply.content if isinstance(reply.content, str) else str(reply.content)).strip()
    if text in options:
        return text
    raise StructuredOutputError(f"the reply {text[:200]!r} is none of {options} "
                                "(does the server support structured outputs?)")


def choice_grammar(options: Sequence[str]) -> str:
    """A GBNF grammar (llama.cpp) that accepts exactly one of `options`."""
    def literal(text: str) -> str:
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'

    return "root ::= " + " | ".join(literal(o) for o in options)


def _choice_budget(chat: BaseChatModel, options: list[str]) -> int:
    """Enough completion tokens for the longest choice (and no more: the window check uses it)."""
    path = getattr(chat, "tokenizer_path", None)
    if not path:
        return max(len(o) for o in options) + 8  # a token is at least one character
    tokenizer = tokenizer_for(path)
    return max(len(tokenizer.encode(o, add_special_tokens=False)) for o in options) + 2
