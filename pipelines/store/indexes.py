"""Search indexes derived from the catalog: FAISS (dense text, keyframe image, CLIP) and Whoosh.

Reading (retrieval uses only this)::

    from pipelines.store.indexes import open_indexes

    ix = open_indexes(settings)
    ix.dense.search(embed_query("espresso machine"), k=20)  # -> [Hit(kind, row_id, score), ...]
    ix.image.search(keyframe_vector, k=20)                   # kind is always "keyframe"
    ix.keyword.search("咖啡 espresso", k=20)                  # raw BM25F scores: normalise before fusing
    ix.clip                                                  # None unless CLIP vectors exist

A `Hit` is a named tuple `(kind, row_id, score)`: `kind` names a catalog table
("segment", "caption", "keyframe", "chunk") and `row_id` is that table's id, so
`catalog.get_rows(kind, ids)` turns hits into rows. Vector scores are cosines (inner
product of L2-normalised vectors). An empty base gives empty indexes.

Layout on disk (`settings.index_dir`)::

    CURRENT            the name of the live version, replaced atomically (os.replace)
    v000007/           one immutable version
        manifest.json  source ids it covers, row counts, vector dimensions
        dense.faiss    IndexIDMap2(IndexFlatIP): segments, captions, keyframe text, chunks
        image.faiss    IndexIDMap2(IndexFlatIP): 1280-d keyframe image embeddings
        clip.faiss     the same for CLIP image embeddings (only when present)
        semantic.faiss keyframe class-space vectors (models/class_space), computed here from
                       each keyframe's class evidence in the catalog: `argus reindex` rebuilds
                       them after the class-name data or the class-space settings change
        *.hnsw.faiss   IndexIDMap(IndexHNSWFlat) with the same ids, for indexes of at least
                       `index_ann_min_vectors` vectors; manifest "search" names each index's type
        *.owners.npy   (faiss id, source id) pairs, to remove a source without the catalog
        keyword/       Whoosh index (jieba tokens + lowercase)

The flat indexes are the exact, editable store (FAISS's HNSW cannot remove vectors);
searches use the HNSW copy where a version has one, else the flat index. HNSW is built from
the flat index at publish: rebuilt after a removal, extended after additions, shared (a hard
link) when unchanged.

A new version is written into a temporary folder, fsynced, renamed, and only then named
in CURRENT, so a reader sees a whole old version or a whole new one, never half of one.
The dense index packs (kind, row id) into one int64 FAISS id: `kind code << 48 | row id`.

Writing: `IndexWriter` in `pipelines.store.index_writer`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import faiss
import numpy as np
from whoosh import index as whoosh_index
from whoosh.analysis import STOP_WORDS as STOP_WORDS_EN
from whoosh.analysis import LowercaseFilter, StopFilter, Token, Tokenizer
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.query import Term
from whoosh.query.compound import DefaultOr

from core.settings import Settings, get_settings
from pipelines.store.catalog import KINDS, Kind

KIND_CODES: dict[str, int] = {kind: code for code, kind in enumerate(KINDS, start=1)}
_KIND_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}
ID_SHIFT = 48  # row ids up to 2**48 fit below the kind code
CURRENT = "CURRENT"


def dense_id(kind: Kind, row_id: int) -> int:
    return (KIND_CODES[kind] << ID_SHIFT) | int(row_id)


def split_dense_id(faiss_id: int) -> tuple[Kind, int]:
    return _KIND_BY_CODE[int(faiss_id) >> ID_SHIFT], int(faiss_id) & ((1 << ID_SHIFT) - 1)


class Hit(NamedTuple):
    kind: str
    row_id: int
    score: float
    coverage: float | None = None  # keyword hits: the share of the query's terms the row contains


# -- the Chinese-aware analyzer ----------------------------------------------------------


class JiebaTokenizer(Tokenizer):
    """Words from jieba (search mode: long words also yield their parts); English words stay whole."""

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, mode: str = "", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for word, start, end in _words(value):
            if not any(ch.isalnum() for ch in word):  # spaces and punctuation
                continue
            token.text = word
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


# Keyword indexes written before the store had its own package pickled their schema's tokenizer as
# `pipelines.ingest.indexes.JiebaTokenizer`; this alias lets Whoosh load them (`argus reindex` rewrites
# them under the new name).
sys.modules.setdefault("pipelines.ingest.indexes", sys.modules[__name__])


# What jieba makes of plain ASCII text (no dictionary word can match it but "AT&T", "C#" and "C++", hence the
# exclusions): its HMM pass splits a run of letters, digits and ._%- into these. Loading jieba's dictionary takes
# ~0.8 s, most of an English question's search in a fresh `argus ask`.
_ASCII_WORD = re.compile(r"[a-zA-Z0-9]+(?:\.\d+)?%?")
_NEEDS_JIEBA = re.compile(r"[^\x00-\x7f]|[&#+]")


def _words(value: str):
    """(word, start, end) as `jieba.tokenize(value, mode="search")` yields them, without jieba for ASCII text."""
    if _NEEDS_JIEBA.search(value):
        return _jieba().tokenize(value, mode="search")
    return ((m.group(), m.start(), m.end()) for m in _ASCII_WORD.finditer(value))


@lru_cache(maxsize=1)
def _jieba():
    with warnings.catch_warnings():  # jieba imports the deprecated pkg_resources
        warnings.simplefilter("ignore", DeprecationWarning)
        import jieba
    jieba.setLogLevel(logging.WARNING)
    return jieba


# Function words carry no topic: left in, "的" or "the" alone makes any text with them match.
STOP_WORDS = frozenset(STOP_WORDS_EN) | frozenset(
    "what which who whom whose how why where does do did should would could i me my was were there".split()
) | frozenset(
    "的 了 是 在 和 与 及 或 有 也 就 都 而 着 之 其 于 为 以 被 把 让 从 到 对 这 那 这个 那个 一个 "
    "我 你 他 她 它 我们 你们 他们 吗 呢 吧 啊 什么 哪 哪个 哪些 谁 怎么 怎样 如何 多少 几 为什么 "
    "可以 能 会 要 请 关于 一 个 上 下 中 里".split()
)


def chinese_analyzer():
    return JiebaTokenizer() | LowercaseFilter() | StopFilter(stoplist=STOP_WORDS, minsize=1)


def keyword_schema() -> Schema:
    return Schema(
        key=ID(unique=True, stored=True),  # "kind:row_id"
        kind=ID(stored=True),
        row_id=NUMERIC(stored=True, bits=64),
        source=ID(stored=True),  # source id as text: removal deletes by this term
        text=TEXT(analyzer=chinese_analyzer()),
    )


# -- reading --------------------------------------------------------------------------


class VectorIndex:
    """Nearest neighbours by cosine over L2-normalised vectors (exact, or HNSW on large indexes)."""

    def __init__(self, index: faiss.Index | None, *, packed_ids: bool, search_type: str = "flat",
                 ef_search: int = 64):
        self._index = index
        self.owners: dict[int, int] | None = None  # id -> source id, where a reader asked for it
        self._packed = packed_ids  # dense ids carry their kind; image/CLIP ids are keyframe ids
        self.search_type = search_type if index is not None else None  # "flat" or "hnsw"
        self._ef_search = ef_search

    def __len__(self) -> int:
        return 0 if self._index is None else self._index.ntotal

    @property
    def dim(self) -> int | None:
        return None if self._index is None else self._index.d

    def search(self, vector: np.ndarray, k: int) -> list[Hit]:
        if self._index is None or self._index.ntotal == 0 or k <= 0:
            return []
        query = _normalised(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        if query.shape[1] != self._index.d:
            raise ValueError(f"query has {query.shape[1]} dimensions; the index has {self._index.d}")
        k = min(k, self._index.ntotal)
        params = faiss.SearchParametersHNSW(efSearch=max(self._ef_search, k)) if self.search_type == "hnsw" else None
        scores, ids = self._index.search(query, k, params=params)
        hits = []
        for score, faiss_id in zip(scores[0], ids[0], strict=True):
            if faiss_id < 0:
                continue
            kind, row_id = split_dense_id(faiss_id) if self._packed else ("keyframe", int(faiss_id))
            hits.append(Hit(kind, row_id, float(score)))
        return hits


class KeywordIndex:
    """BM25F over the same texts as the dense index, tokenised by jieba."""

    def __init__(self, ix: whoosh_index.Index | None):
        self._ix = ix
        self._searcher = ix.searcher() if ix is not None else None
        self._analyzer = chinese_analyzer()

    def __len__(self) -> int:
        return 0 if self._searcher is None else self._searcher.doc_count()

    def search(self, query: str, k: int) -> list[Hit]:
        if self._searcher is None or k <= 0:
            return []
        # Terms are OR-ed: no query syntax, so user text cannot break the parser. DefaultOr
        # (a tree of unions) is what Whoosh picks above 5,000 documents anyway; below, its
        # array preloading walks every document per query (2.8 against 1.2 ms on the demo base).
        terms = list(dict.fromkeys(t.text for t in self._analyzer(query)))
        if not terms:
            return []
        results = self._searcher.search(DefaultOr([Term("text", t) for t in terms]), limit=k, terms=True)
        return [Hit(r["kind"], int(r["row_id"]), float(r.score), len(r.matched_terms()) / len(terms))
                for r in results]

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()


@dataclass
class Indexes:
    """One published version of every index."""

    version: str | None
    dense: VectorIndex
    image: VectorIndex
    clip: VectorIndex | None
    keyword: KeywordIndex
    source_ids: frozenset[int] = frozenset()
    semantic: VectorIndex | None = None  # keyframe class-space vectors (None in versions without them)

    def close(self) -> None:
        self.keyword.close()


def current_version(settings: Settings | None = None) -> str | None:
    """The name of the live version (cheap: lets a long-lived reader notice a new one)."""
    pointer = (settings or get_settings()).index_dir / CURRENT
    try:
        return pointer.read_text().strip() or None
    except FileNotFoundError:
        return None


def open_indexes(settings: Settings | None = None) -> Indexes:
    """Open the live version of the indexes (empty indexes when nothing is published yet)."""
    settings = settings or get_settings()
    for _ in range(3):  # a publish may retire the version between reading CURRENT and opening it
        version = current_version(settings)
        if version is None:
            return Indexes(None, VectorIndex(None, packed_ids=True), VectorIndex(None, packed_ids=False), None,
                           KeywordIndex(None))
        try:
            return _open_version(settings.index_dir / version, settings)
        except FileNotFoundError:
            continue
    raise RuntimeError(f"could not open the indexes in {settings.index_dir}: versions keep changing")


def _open_version(folder: Path, settings: Settings) -> Indexes:
    manifest = json.loads((folder / "manifest.json").read_text())
    search_types = manifest.get("search", {})  # versions written before HNSW existed are all flat

    def vector_index(name: str, packed_ids: bool) -> VectorIndex:
        search_type = "flat" if settings.index_exact_search else search_types.get(name, "flat")
        suffix = ".hnsw.faiss" if search_type == "hnsw" else ".faiss"
        return VectorIndex(_read_faiss(folder / f"{name}{suffix}"), packed_ids=packed_ids, search_type=search_type,
                           ef_search=settings.index_hnsw_ef_search)

    clip = vector_index("clip", packed_ids=False)
    semantic = vector_index("semantic", packed_ids=False)
    owners_file = folder / "semantic.owners.npy"
    if owners_file.exists():  # keyframe -> source: the visual channel judges its signals per source
        semantic.owners = {int(i): int(s) for i, s in np.load(owners_file)}
    return Indexes(
        version=folder.name,
        dense=vector_index("dense", packed_ids=True),
        image=vector_index("image", packed_ids=False),
        clip=clip if len(clip) else None,
        keyword=KeywordIndex(whoosh_index.open_dir(str(folder / "keyword"))),
        source_ids=frozenset(manifest["source_ids"]),
        semantic=semantic if len(semantic) else None,
    )


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def _read_faiss(path: Path) -> faiss.Index | None:
    return faiss.read_index(str(path)) if path.exists() else None
