"""A sentence-transformers folder run with transformers' AutoModel, without the
sentence-transformers package: the folder's `modules.json` pipeline of a transformer,
a pooling layer, optional dense projections and normalisation, and its prompts
(`config_sentence_transformers.json`: "query", and "passage" or "document").

EmbeddingGemma, for example, is Gemma3 -> mean pooling -> Dense 768->3072 -> Dense 3072->768
-> normalise, with the prompts "task: search result | query: " and "title: none | text: ".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.registry import ModelUnavailable

POOLING_KEYS = {"cls": "pooling_mode_cls_token", "lasttoken": "pooling_mode_lasttoken",
                "mean": "pooling_mode_mean_tokens"}
IDENTITY = "torch.nn.modules.linear.Identity"


class SentenceTransformerEmbedder:
    """(n, dim) float32 vectors of a sentence-transformers folder, before normalisation
    (callers normalise, as every embedder's vectors are)."""

    def __init__(self, source: str | Path, role: str = "text_embedding"):
        import models.torchvision_guard  # noqa: F401, I001  (before transformers, which imports torchvision)
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a bar per load in every search process's log
        folder = Path(source)
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(source)
        self._model = AutoModel.from_pretrained(source, dtype=compute_dtype(torch)).eval()
        self._threads = torch.get_num_threads()
        modules = read_json(folder / "modules.json") or []
        self._pooling = pooling_mode(folder, modules, role)
        self._dense = [_dense_layer(folder / m["path"], role) for m in modules if m.get("type", "").endswith(".Dense")]
        prompts = read_json(folder / "config_sentence_transformers.json").get("prompts", {})
        self._query_prompt = prompts.get("query", "")
        self._passage_prompt = prompts.get("passage", prompts.get("document", ""))
        self._max_length = read_json(folder / "sentence_bert_config.json").get("max_seq_length", 512)
        self.name = folder.name if self._model.dtype == torch.float32 else f"{folder.name}-{str(self._model.dtype)[6:]}"
        self.dim = int(self._dense[-1].shape[0]) if self._dense else int(self._model.config.hidden_size)

    def encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        torch = self._torch
        prompt = self._query_prompt if query else self._passage_prompt
        batch = self._tokenizer([prompt + t for t in texts], padding=True, truncation=True,
                                max_length=self._max_length, return_tensors="pt")
        # One text (a query) on one thread: 61 against 45 ms on two idle cores, but a third of the time
        # when the other core is busy. Restored to the count seen at load, so that racing calls cannot
        # leave the process on one thread.
        threads = 1 if len(texts) == 1 else self._threads
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        try:
            return self._encode(batch)
        finally:
            if threads != self._threads:
                torch.set_num_threads(self._threads)

    def _encode(self, batch) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state.float()  # pooled in float32 whatever the weights
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            if self._pooling == "cls":
                pooled = hidden[:, 0]
            elif self._pooling == "lasttoken":
                # The last real token of each row, whichever side the tokenizer pads.
                last = batch["attention_mask"].flip(1).argmax(1)
                last = batch["attention_mask"].shape[1] - 1 - last
                pooled = hidden[torch.arange(hidden.shape[0]), last]
            else:
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            for weight in self._dense:
                pooled = pooled @ weight.T
        return pooled.float().numpy()


def compute_dtype(torch):
    """bfloat16 where the CPU multiplies it natively (AVX-512 BF16 or AMX): EmbeddingGemma's
    queries then take 74 against 148 ms on one busy core, cosine to the float32 vectors
    0.99995; float32 elsewhere, where bfloat16 would be emulated."""
    from models.llm.cpu import cpu_flags

    return torch.bfloat16 if {"avx512_bf16", "amx_bf16"} & cpu_flags() else torch.float32


def pooling_mode(folder: Path, modules: list[dict], role: str) -> str:
    pooling_dir = next((m["path"] for m in modules if m.get("type", "").endswith("Pooling")), "1_Pooling")
    config = read_json(folder / pooling_dir / "config.json")
    for mode, key in POOLING_KEYS.items():
        if config.get(key):
            return mode
    if config:
        raise ModelUnavailable(role, f"{folder}: unsupported pooling {config}; supported: cls, lasttoken, mean")
    return "mean"  # a bare transformers folder: mean pooling, the common default


def _dense_layer(folder: Path, role: str):
    """A Dense module's weight (out, in): linear, no bias, no activation (the ones supported)."""
    from safetensors.torch import load_file

    config = read_json(folder / "config.json")
    if config.get("bias", True) or config.get("activation_function", IDENTITY) != IDENTITY:
        raise ModelUnavailable(role, f"{folder}: only bias-free linear Dense layers are supported, not {config}")
    weights = load_file(str(folder / "model.safetensors"))
    return next(iter(weights.values())).float()


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
