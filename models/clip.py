"""CLIP-style image-text embeddings, only from weights the user configured.

No CLIP or SigLIP weights can be had on the default install, so this role is absent
unless `clip_model` names a local Hugging Face folder (CLIP, SigLIP: any model with
`get_image_features` / `get_text_features`), or a hub id with `allow_hub`. It never
falls back to random weights: without configuration `load_clip` raises
`ModelUnavailable` and the CLIP channel is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.settings import Settings, get_settings
from models.registry import get_registry

BATCH = 16


class ClipEmbedder:
    def __init__(self, source: str):
        import models.torchvision_guard  # noqa: F401, I001  (before transformers, which imports torchvision)
        import torch
        from transformers import AutoModel, AutoProcessor

        self._torch = torch
        self._processor = AutoProcessor.from_pretrained(source)
        self._model = AutoModel.from_pretrained(source).eval()
        self.name = Path(source).name

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(n, d) float32, L2-normalised, for RGB uint8 images."""
        return self._embed(list(images), lambda batch: self._model.get_image_features(
            **self._processor(images=batch, return_tensors="pt")))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32, L2-normalised, in the same space as the images."""
        return self._embed(list(texts), lambda batch: self._model.get_text_features(
            **self._processor(text=batch, padding=True, truncation=True, return_tensors="pt")))

    def _embed(self, items: list, forward) -> np.ndarray:
        torch = self._torch
        parts = []
        with torch.inference_mode():
            for start in range(0, len(items), BATCH):
                out = forward(items[start : start + BATCH])
                # transformers 5 returns a model output whose pooler_output is the projection.
                features = out if isinstance(out, torch.Tensor) else out.pooler_output
                parts.append(features.float().numpy())
        if not parts:
            return np.zeros((0, 0), np.float32)
        vectors = np.concatenate(parts)
        return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def load_clip(settings: Settings | None = None) -> ClipEmbedder:
    """The configured CLIP model, loaded once per process; `ModelUnavailable` when none is."""
    settings = settings or get_settings()
    return _load(str(get_registry(settings).resolve("clip")))


@lru_cache(maxsize=1)
def _load(source: str) -> ClipEmbedder:
    return ClipEmbedder(source)
