"""The chat LLM inside this process, on transformers: the fallback where vLLM cannot run.

Selected with `ARGUS_LLM_BACKEND=inprocess`; `get_chat_model()` then returns an
`InProcessChatModel`, a LangChain chat model that understands the same request
options as the vLLM client, so `structured()`, `choose()` and tool calling work
unchanged:

- `response_format={"type": "json_schema", ...}` and
  `extra_body={"structured_outputs": {"json" | "choice" | "regex": ...}}`;
- `tools` with `tool_choice` "auto", "required" or a tool's name.

What it guarantees. With `xgrammar` installed (it comes with vLLM, and installs on
its own), decoding is constrained by the same grammar engine vLLM uses: JSON replies
match the schema, a choice is one of the choices, a forced tool call names a bound
tool with arguments that match its parameters. Without xgrammar, generation is
unconstrained: the schema is in the prompt (`structured()` adds it), `structured()`
validates and retries, and `choose()` raises when the reply is not a choice.
Greedy decoding (temperature 0) in float32 gives the same tokens as the vLLM engine.
It is several times slower than vLLM and serves one request at a time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

import models.torchvision_guard  # noqa: F401  (before transformers, which imports torchvision when present)
from core.settings import Settings
from models.llm.budget import fit_messages, template_messages, tokenizer_for
from models.llm.parsing import ThinkStripper, parse_tool_calls, strip_think

# One generate() at a time per process: two would only split the same cores.
_GENERATE_LOCK = threading.Lock()


@lru_cache(maxsize=2)
def load_model(path: str, dtype: str) -> Any:
    """The causal LM of a Hugging Face folder, loaded once per process, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    model.eval()
    return model


def xgrammar_available() -> bool:
    try:
        import xgrammar  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=2)
def _grammar_compiler(path: str, vocab_size: int) -> Any:
    import xgrammar

    tokenizer = tokenizer_for(path)
    stop_ids = sorted({tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")} - {None})
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_ids or None)
    return xgrammar.GrammarCompiler(info)


def _tool_call_schema(tools: Sequence[dict[str, Any]], name: str | None) -> dict[str, Any]:
    """JSON schema of one call `{"name": ..., "arguments": {...}}` to `name` (or to any of `tools`)."""
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": t["function"]["name"]},
                "arguments": t["function"].get("parameters") or {"type": "object"},
            },
            "required": ["name", "arguments"],
        }
        for t in tools
        if name is None or t["function"]["name"] == name
    ]
    if not options:
        raise ValueError(f"tool_choice names {name!r}, which is not among the bound tools")
    return options[0] if len(options) == 1 else {"anyOf": options}


def _forced_tool(tools: Sequence[dict[str, Any]] | None, tool_choice: Any) -> tuple[bool, str | None]:
    """(a call is forced, the tool it must call or None for any)."""
    if not tools or tool_choice in (None, "auto", "none"):
        return False, None
    if tool_choice in ("required", "any", True):
        return True, None
    if isinstance(tool_choice, str):
        return True, tool_choice
    if isinstance(tool_choice, dict):
        return True, tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    return False, None


class InProcessChatModel(BaseChatModel):
    """A transformers chat model behind the same interface as the vLLM client."""

    model_path: str
    model_name: str = "qwen2.5-coder-0.5b-instruct"
    dtype: str = "float32"  # the dtype the vLLM engine runs in on CPU: the same greedy tokens
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int | None = 1024
    max_model_len: int = 4096
    trim: bool = False
    constrained: bool = True  # use xgrammar when installed

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> InProcessChatModel:
        from models.registry import get_registry

        params: dict[str, Any] = {
            "model_path": str(get_registry(settings).resolve("chat_llm")),
            "model_name": settings.llm_model,
            "dtype": settings.engine_dtype if settings.engine_dtype != "auto" else "float32",
            "max_tokens": settings.llm_max_tokens,
            "max_model_len": settings.engine_max_model_len,
        }
        params.update(kw)
        return cls(**params)

    @property
    def tokenizer_path(self) -> str:
        return self.model_path

    @property
    def _llm_type(self) -> str:
        return "argus-inprocess-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model_path": self.model_path, "dtype": self.dtype}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None,
                   **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        if isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "required", "any"):
            tool_choice = {"type": "function", "function": {"name": tool_choice}}
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    # ------------------------------------------------------------ request -> generate() arguments

    def _prepare(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        tokenizer = tokenizer_for(self.model_path)
        tools = kwargs.get("tools")
        max_tokens = kwargs.get("max_tokens") or kwargs.get("max_completion_tokens") or self.max_tokens
        budget = max_tokens or 1
        messages, prompt_tokens = fit_messages(tokenizer, messages, max_tokens=budget,
                                               max_model_len=self.max_model_len, tools=tools, trim=self.trim)
        inputs = tokenizer.apply_chat_template(template_messages(messages), tools=tools or None,
                                               add_generation_prompt=True, return_tensors="pt", return_dict=True)
        temperature = kwargs.get("temperature", self.temperature)
        forced, forced_name = _forced_tool(tools, kwargs.get("tool_choice"))
        generate: dict[str, Any] = {
            **inputs,
            "max_new_tokens": max_tokens or self.max_model_len - prompt_tokens,
            "do_sample": temperature > 0,
            "eos_token_id": [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")],
            "pad_token_id": tokenizer.pad_token_id,
        }
        if temperature > 0:
            generate.update(temperature=temperature, top_p=kwargs.get("top_p", self.top_p))
        if stop:
            generate.update(stop_strings=list(stop), tokenizer=tokenizer)
        grammar = self._grammar(kwargs, tools if forced else None, forced_name)
        if grammar is not None:
            from xgrammar.contrib.hf import LogitsProcessor

            generate["logits_processor"] = [LogitsProcessor(grammar)]  # one per generate() call
        return {"generate": generate, "prompt_tokens": prompt_tokens, "tools": tools,
                "tool_choice": kwargs.get("tool_choice")}

    def _grammar(self, kwargs: dict[str, Any], forced_tools: Sequence[dict[str, Any]] | None,
                 forced_name: str | None) -> Any:
        """The xgrammar grammar the request asks for, or None (none asked, or xgrammar absent)."""
        spec = ((kwargs.get("extra_body") or {}).get("structured_outputs")) or {}
        response_format = kwargs.get("response_format") or {}
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            spec = {"json": response_format["json_schema"]["schema"]}
        if forced_tools:
            spec = {"json": _tool_call_schema(forced_tools, forced_name)}
        if not spec or not self.constrained or not xgrammar_available():
            return None
        compiler = _grammar_compiler(self.model_path, load_model(self.model_path, self.dtype).config.vocab_size)
        if "json" in spec:
            schema = spec["json"]
            return compiler.compile_json_schema(schema if isinstance(schema, str) else json.dumps(schema))
        if "choice" in spec:
            return compiler.compile_grammar("root ::= " + " | ".join(json.dumps(c) for c in spec["choice"]))
        if "regex" in spec:
            return compiler.compile_regex(spec["regex"])
        raise ValueError(f"unsupported structured output request: {sorted(spec)}")

    # ------------------------------------------------------------ generate() output -> message

    def _message(self, text: str, plan: dict[str, Any], completion_tokens: int, finish: str) -> AIMessage:
        text = strip_think(text)
        usage = {"input_tokens": plan["prompt_tokens"], "output_tokens": completion_tokens,
                 "total_tokens": plan["prompt_tokens"] + completion_tokens}
        metadata = {"finish_reason": finish, "model_name": self.model_name}
        calls = []
        if plan["tools"] and plan["tool_choice"] != "none":
            # Constrained forced calls are one bare JSON object; free replies use <tool_call> tags or ```json.
            calls, text = parse_tool_calls(text, [t["function"]["name"] for t in plan["tools"]])
        return AIMessage(content=text, tool_calls=calls, usage_metadata=usage, response_metadata=metadata)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        import torch

        plan = self._prepare(messages, stop, kwargs)
        model = load_model(self.model_path, self.dtype)
        tokenizer = tokenizer_for(self.model_path)
        with _GENERATE_LOCK, torch.inference_mode():
            output = model.generate(**plan["generate"])
        new_tokens = output[0, plan["generate"]["input_ids"].shape[1]:].tolist()
        eos = set(plan["generate"]["eos_token_id"])
        finish = "stop" if new_tokens and new_tokens[-1] in eos else (
            "length" if len(new_tokens) >= plan["generate"]["max_new_tokens"] else "stop")
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        message = self._message(text, plan, len([t for t in new_tokens if t not in eos]), finish)
        return ChatResult(generations=[ChatGeneration(message=message)],
                          llm_output={"model_name": self.model_name, "token_usage": {
                              "prompt_tokens": plan["prompt_tokens"],
                              "completion_tokens": message.usage_metadata["output_tokens"]}})

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import TextIteratorStreamer

        plan = self._prepare(messages, stop, kwargs)
        model = load_model(self.model_path, self.dtype)
        tokenizer = tokenizer_for(self.model_path)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        eos = set(plan["generate"]["eos_token_id"])
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                with _GENERATE_LOCK, torch.inference_mode():
                    output = model.generate(**plan["generate"], streamer=streamer)
                outcome["tokens"] = output[0, plan["generate"]["input_ids"].shape[1]:].tolist()
            except BaseException as exc:  # re-raised in the caller's thread
                outcome["error"] = exc
                streamer.end()  # unblock the reader

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        stripper = ThinkStripper()
        for piece in streamer:
            text = stripper.feed(piece)
            if text:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        tokens = outcome["tokens"]
        completion = len([t for t in tokens if t not in eos])
        finish = "length" if tokens and tokens[-1] not in eos and len(tokens) >= plan["generate"]["max_new_tokens"] \
            else "stop"
        yield ChatGenerationChunk(message=AIMessageChunk(
            content=stripper.flush(),
            usage_metadata={"input_tokens": plan["prompt_tokens"], "output_tokens": completion,
                            "total_tokens": plan["prompt_tokens"] + completion},
            response_metadata={"finish_reason": finish, "model_name": self.model_name},
        ))
