"""Rerankers: a cross-encoder when one is configured, otherwise the seed's LLM reranker.

The LLM reranker is the Qwen3-Reranker recipe run on the configured chat LLM: the model
reads `<Instruct>: …\n<Query>: …\n<Document>: …` and must answer "yes" or "no"; the score
is P("yes") / (P("yes") + P("no")) read from the first generated token's log-probabilities.
Requests go out in batches (vLLM batches them on its side) until a time budget runs out;
candidates not scored by then keep their retrieval order after the scored ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # LangChain takes ~0.5 s to import: `argus ask` only needs it to rerank
    from langchain_core.language_models import BaseChatModel

INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
SYSTEM = ('Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
          'Note that the answer can only be "yes" or "no".')
MAX_DOCUMENT_CHARS = 1500  # keeps each judgement a short prompt on a small CPU engine


class Reranker(Protocol):
    name: str

    def scores(self, query: str, documents: Sequence[str]) -> list[float | None]:
        """One relevance score in [0, 1] per document; None where none was computed."""


def judgement_prompt(query: str, document: str, instruction: str = INSTRUCTION) -> str:
    return f"<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document[:MAX_DOCUMENT_CHARS]}"


def yes_probability(top_logprobs: Sequence[dict[str, Any]]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over the first token's alternatives; None if neither appears."""
    yes = no = 0.0
    for alt in top_logprobs:
        word = str(alt.get("token", "")).strip().lower()
        if word == "yes":
            yes += math.exp(alt["logprob"])
        elif word == "no":
            no += math.exp(alt["logprob"])
    return yes / (yes + no) if yes + no > 0 else None


class LLMReranker:
    """Yes/no relevance judgements by the chat LLM (the seed's Qwen3-Reranker recipe)."""

    name = "llm"

    def __init__(self, chat: BaseChatModel, *, batch_size: int = 4, time_budget_s: float = 20.0):
        # One token out, with the alternatives' log-probabilities: all the score needs.
        self.chat = chat.bind(max_tokens=1, logprobs=True, top_logprobs=10, temperature=0.0)
        self.batch_size = batch_size
        self.time_budget_s = time_budget_s
        # The chat model counts each prompt with its tokenizer. Load it (and import transformers) here, in
        # one thread: first loaded from chat.batch's worker threads at once, transformers' lazy import raced
        # ("cannot import name 'AutoTokenizer' from 'transformers'").
        if getattr(chat, "tokenizer_path", None):
            from models.llm.budget import tokenizer_for

            tokenizer_for(chat.tokenizer_path)

    def scores(self, query: str, documents: Sequence[str]) -> list[float | None]:
        results: list[float | None] = [None] * len(documents)
        deadline = time.monotonic() + self.time_budget_s
        for start in range(0, len(documents), self.batch_size):
            if time.monotonic() > deadline:
                break
            batch = documents[start:start + self.batch_size]
            prompts = [[("system", SYSTEM), ("human", judgement_prompt(query, doc))] for doc in batch]
            for offset, reply in enumerate(self.chat.batch(prompts)):
                content = (reply.response_metadata.get("logprobs") or {}).get("content") or []
                results[start + offset] = yes_probability(content[0].get("top_logprobs", [])) if content else None
        return results


class CrossEncoderReranker:
    """A configured cross-encoder (a sequence-classification model over query/document pairs)."""

    name = "cross-encoder"

    def __init__(self, path: str, *, batch_size: int = 16, max_length: int = 512):
        import models.torchvision_guard  # noqa: F401, I001  (before transformers, which imports torchvision)
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path).eval()
        self.batch_size, self.max_length = batch_size, max_length

    def scores(self, query: str, documents: Sequence[str]) -> list[float | None]:
        out: list[float | None] = []
        for start in range(0, len(documents), self.batch_size):
            batch = list(documents[start:start + self.batch_size])
            enc = self.tokenizer([query] * len(batch), batch, padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
            with self.torch.no_grad():
                logits = self.model(**enc).logits
            # One logit: a relevance score; two: (not relevant, relevant).
            probs = logits.sigmoid()[:, 0] if logits.shape[-1] == 1 else logits.softmax(-1)[:, -1]
            out.extend(float(p) for p in probs)
        return out


def rerank_order(scores: Sequence[float | None]) -> list[int]:
    """Indices ordered by rerank score; unscored candidates follow in their original order."""
    scored = sorted((i for i, s in enumerate(scores) if s is not None), key=lambda i: -scores[i])
    return scored + [i for i, s in enumerate(scores) if s is None]
