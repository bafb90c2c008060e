"""One chat-model interface for all of Argus.

`get_chat_model()` returns a LangChain chat model: by default an OpenAI-API client of
the local engine (llama.cpp's `llama-server`, or vLLM; started on demand, see
`server.py`), or of `llm_base_url`; with `llm_backend = "inprocess"` the transformers
fallback of `inprocess.py`. On top of the plain OpenAI client it

- checks prompt + max_tokens against the context window before sending
  (`PromptTooLong`; or, with `trim=True`, drops the oldest turns);
- strips `<think>` blocks from replies, streamed ones included;
- turns tool calls the model wrote as ```json text into real tool calls (this small
  model does that whenever `tool_choice="auto"`; forcing the choice with
  `tool_choice="required"` or a tool's name makes the server parse them itself).

`structured(chat, Schema)` and `choose(chat, prompt, choices)` (in `constrained.py`,
re-exported here) constrain decoding on the server, so the reply is valid by
construction. A JSON-schema `response_format` is sent as a plain request
field (not through the OpenAI SDK's parse path, which raises its own
`LengthFinishReasonError` on a length cut), so a reply cut off at `max_tokens` comes
back as text with `finish_reason="length"` and `structured()` reports it as
`StructuredOutputError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx
import openai
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    BaseCallbackHandler,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from core.settings import Settings, get_settings
from models.llm.budget import PromptTooLong, fit_messages, tokenizer_for
from models.llm.constrained import (
    StructuredOutputError,
    choice_grammar,
    choose,
    json_schema_format,
    structured,
    to_messages,
)
from models.llm.parsing import ThinkStripper, parse_tool_calls, strip_think
from models.llm.server import EngineInfo, ensure_running, local_root
from models.llm.server_probe import llm_timeout
from models.llm.server_tokens import server_tokenizer_ref
from models.llm.usage import USAGE

__all__ = [
    "ArgusChatOpenAI",
    "PromptTooLong",
    "StructuredOutputError",
    "choice_grammar",
    "choose",
    "get_chat_model",
    "json_schema_format",
    "structured",
    "to_messages",
]


def _tool_names(tools: Sequence[dict[str, Any]] | None) -> list[str]:
    return [t["function"]["name"] for t in tools or [] if t.get("type") == "function" and "function" in t]


def _clean_message(message: BaseMessage, tools: Sequence[dict[str, Any]] | None, tool_choice: Any) -> BaseMessage:
    """`message` without `<think>` blocks, with text-written tool calls made real."""
    if not isinstance(message, AIMessage) or not isinstance(message.content, str):
        return message
    content = strip_think(message.content)
    update: dict[str, Any] = {"content": content}
    if tools and not message.tool_calls and tool_choice != "none":
        calls, rest = parse_tool_calls(content, _tool_names(tools))
        if calls:
            update = {"content": rest, "tool_calls": calls}
    return message.model_copy(update=update)


class ArgusChatOpenAI(ChatOpenAI):
    """`ChatOpenAI` with Argus' context-window check, `<think>` stripping and tool-call fallback."""

    max_model_len: int = 4096
    tokenizer_path: str | None = None  # the served model's tokenizer; None: the server checks the window
    trim: bool = False  # drop the oldest turns instead of raising PromptTooLong
    engine_backend: str = ""  # "llamacpp", "vllm", ...: which request form choose() sends

    @staticmethod
    def _plain_response_format(kwargs: dict[str, Any]) -> dict[str, Any]:
        """A dict `response_format` moved into the request body.

        LangChain sends any `response_format` through the OpenAI SDK's parse path, which
        raises `LengthFinishReasonError` when the reply is cut off at max_tokens (and
        that exception cannot be copied or pickled: its constructor is keyword-only,
        so LangGraph and multiprocessing turn it into a TypeError). As a plain body
        field the server constrains decoding the same way, and a cut-off reply comes
        back with finish_reason "length", which `structured()` reports.
        """
        fmt = kwargs.get("response_format")
        if not isinstance(fmt, dict):
            return kwargs
        rest = {k: v for k, v in kwargs.items() if k != "response_format"}
        rest["extra_body"] = {**(kwargs.get("extra_body") or {}), "response_format": fmt}
        return rest

    def _adapt(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Request options in the form the serving engine honours.

        llama.cpp derives its tool-call grammar from the chat template, and for
        Qwen2.5-Coder's template it finds none: `tool_choice="required"` then constrains
        nothing (the model wrote a bare JSON call and ran on), and an object naming a
        function is read as "auto". So a forced choice goes to llama.cpp as a JSON-schema
        `response_format` that admits exactly one call `{"name", "arguments"}` of the
        allowed tools (the named one, or any), with the tools still in the prompt;
        `_clean` turns the reply into the tool call.
        """
        choice, tools = kwargs.get("tool_choice"), kwargs.get("tools") or []
        if self.engine_backend != "llamacpp" or not tools or not (choice in ("required", "any")
                                                                  or isinstance(choice, dict)):
            return kwargs
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            tools = [t for t in tools if (t.get("function") or {}).get("name") == name] or tools
        return {**kwargs, "tools": tools, "tool_choice": "auto", "response_format": tool_call_format(tools)}

    def _fit(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> list[BaseMessage]:
        if not self.tokenizer_path:
            return messages
        budget = kwargs.get("max_tokens") or kwargs.get("max_completion_tokens") or self.max_tokens or 1
        fitted, _ = fit_messages(tokenizer_for(self.tokenizer_path), messages, max_tokens=budget,
                                 max_model_len=self.max_model_len, tools=kwargs.get("tools"), trim=self.trim)
        return fitted

    def _clean(self, result: ChatResult, kwargs: dict[str, Any]) -> ChatResult:
        tools, choice = kwargs.get("tools"), kwargs.get("tool_choice")
        generations = [
            ChatGeneration(message=_clean_message(g.message, tools, choice), generation_info=g.generation_info)
            for g in result.generations
        ]
        return ChatResult(generations=generations, llm_output=result.llm_output)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        kwargs = self._adapt(kwargs)
        messages = self._fit(messages, kwargs)
        try:
            result = super()._generate(messages, stop=stop, run_manager=run_manager,
                                       **self._plain_response_format(kwargs))
        except openai.LengthFinishReasonError as exc:  # a pydantic response_format still takes the parse path
            raise _length_cut(exc) from None
        return self._clean(result, kwargs)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        kwargs = self._adapt(kwargs)
        messages = self._fit(messages, kwargs)
        try:
            result = await super()._agenerate(messages, stop=stop, run_manager=run_manager,
                                              **self._plain_response_format(kwargs))
        except openai.LengthFinishReasonError as exc:
            raise _length_cut(exc) from None
        return self._clean(result, kwargs)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        kwargs = self._adapt(kwargs)
        messages = self._fit(messages, kwargs)
        stripper = ThinkStripper()
        for chunk in super()._stream(messages, stop=stop, run_manager=run_manager,
                                     **self._plain_response_format(kwargs)):
            yield _strip_chunk(chunk, stripper)
        if rest := stripper.flush():
            yield ChatGenerationChunk(message=_text_chunk(rest))

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        kwargs = self._adapt(kwargs)
        messages = self._fit(messages, kwargs)
        stripper = ThinkStripper()
        async for chunk in super()._astream(messages, stop=stop, run_manager=run_manager,
                                            **self._plain_response_format(kwargs)):
            yield _strip_chunk(chunk, stripper)
        if rest := stripper.flush():
            yield ChatGenerationChunk(message=_text_chunk(rest))


def tool_call_format(tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A JSON-schema response_format admitting one call of one of `tools`: {"name": <its name>, "arguments": {...}}."""
    calls = [{"type": "object", "required": ["name", "arguments"],
              "properties": {"name": {"const": t["function"]["name"]},
                             "arguments": t["function"].get("parameters") or {"type": "object"}}}
             for t in tools if t.get("type") == "function" and "function" in t]
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    return {"type": "json_schema", "json_schema": {"name": "tool_call", "schema": schema}}


def _length_cut(exc: openai.LengthFinishReasonError) -> StructuredOutputError:
    usage = getattr(exc.completion, "usage", None)
    used = f" after {usage.completion_tokens} tokens" if usage else ""
    return StructuredOutputError(f"the structured reply was cut off at max_tokens{used}; "
                                 "raise max_tokens or simplify the schema")


def _text_chunk(text: str) -> Any:
    from langchain_core.messages import AIMessageChunk

    return AIMessageChunk(content=text)


def _strip_chunk(chunk: ChatGenerationChunk, stripper: ThinkStripper) -> ChatGenerationChunk:
    if not isinstance(chunk.message.content, str) or not chunk.message.content:
        return chunk
    message = chunk.message.model_copy(update={"content": stripper.feed(chunk.message.content)})
    return ChatGenerationChunk(message=message, generation_info=chunk.generation_info)


# ---------------------------------------------------------------- building a model


def get_chat_model(
    settings: Settings | None = None,
    *,
    start: bool = True,
    trim: bool = False,
    callbacks: Sequence[BaseCallbackHandler] = (),
    **kw: Any,
) -> BaseChatModel:
    """The chat model Argus uses everywhere (greedy: temperature 0 unless given).

    `start`: make sure the engine serves first (starts the local engine on demand;
    a configured `llm_base_url` is only health-checked). `trim`: drop the oldest turns
    when a prompt does not fit, instead of raising `PromptTooLong`. Other keywords
    (temperature, max_tokens, streaming, ...) go to the model.
    """
    settings = settings or get_settings()
    all_callbacks = [USAGE, *callbacks]
    if settings.llm_backend == "inprocess":
        from models.llm.inprocess import InProcessChatModel

        return InProcessChatModel.from_settings(settings, trim=trim, callbacks=all_callbacks, **kw)

    if start:
        info = ensure_running(settings)
    else:
        base_url = settings.llm_base_url.rstrip("/") if settings.llm_base_url else f"{local_root(settings)}/v1"
        info = EngineInfo(base_url=base_url, model=settings.llm_model,
                          backend="" if settings.llm_base_url else settings.llm_backend)
    timeout = llm_timeout(settings)
    params: dict[str, Any] = {
        "temperature": 0.0,
        "max_tokens": settings.llm_max_tokens,
        "max_retries": 1,
        "timeout": timeout,
        "stream_usage": True,  # token counts for streamed calls too
        "use_responses_api": False,  # the engines and most compatible servers speak Chat Completions
    }
    params.update(kw)
    if not settings.llm_base_url:
        # Loopback traffic must never go through a proxy from the environment.
        params.setdefault("http_client", httpx.Client(trust_env=False, timeout=timeout))
        params.setdefault("http_async_client", httpx.AsyncClient(trust_env=False, timeout=timeout))
    return ArgusChatOpenAI(
        base_url=info.base_url,
        api_key=settings.llm_api_key,
        model=info.model,
        max_model_len=info.max_model_len or settings.engine_max_model_len,
        tokenizer_path=_tokenizer_path(settings, info),
        trim=trim,
        engine_backend=info.backend,
        callbacks=all_callbacks,
        **params,
    )


def _tokenizer_path(settings: Settings, info: EngineInfo) -> str | None:
    """What counts prompt tokens with the served model's own tokenizer and chat template.

    llama.cpp counts them itself (`/v1/chat/completions/input_tokens`, the GGUF's
    tokenizer and template: exact for any GGUF it serves); for vLLM it is the Hugging
    Face folder of the chat LLM, when this machine has it (always, for the local engine).
    """
    if info.backend == "llamacpp":
        return server_tokenizer_ref(info.base_url, settings.llm_api_key)
    from models.registry import ModelUnavailable, chat_roles, get_registry

    role = "chat_llm" if settings.chat_model else chat_roles(settings)[1]
    try:
        if not role:
            raise ModelUnavailable(settings.llm_chat_model, "no Hugging Face tokenizer folder")
        return str(get_registry(settings).resolve(role))
    except ModelUnavailable:
        if settings.llm_base_url:
            return None  # a remote model we do not hold: the server checks the window
        raise
