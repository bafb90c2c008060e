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

Writing (`IndexWriter`, ingestion driver only, under `writer_lock`): it loads the live
version, applies adds and removals in memory, and `publish()` writes the next version.
`sync()` first brings the indexes in line with the catalog (sources committed but not
yet indexed when a run was killed, or removed while the indexes lagged), which is what
makes the indexes resumable. `rebuild()` rebuilds everything from the catalog.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
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
from pipelines.store.catalog import KINDS, Catalog, IndexedRow, Kind
from pipelines.store.class_vectors import class_space_vectors

log = logging.getLogger(__name__)

KIND_CODES: dict[str, int] = {kind: code for code, kind in enumerate(KINDS, start=1)}
_KIND_BY_CODE = {code: kind for kind, code in KIND_CODES.items()}
ID_SHIFT = 48  # row ids up to 2**48 fit below the kind code
_VECTOR_INDEXES = ("dense", "image", "clip", "semantic")
_KEEP_VERSIONS = 3  # readers holding an older version keep working while it lives
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
        jieba = _jieba()
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for word, start, end in jieba.tokenize(value, mode="search"):
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


# -- writing --------------------------------------------------------------------------


@dataclass
class _VectorState:
    """A FAISS index being edited, with the source that owns each id."""

    index: faiss.Index | None = None
    owners: dict[int, list[int]] = field(default_factory=dict)  # source id -> faiss ids
    # Edits since the last publish, which decide how the HNSW copy is brought up to date.
    added: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (ids, vectors)
    removed: bool = False

    def add(self, source_id: int, ids: list[int], vectors: list[np.ndarray]) -> None:
        if not ids:
            return
        matrix = _normalised(np.stack(vectors).astype(np.float32))
        if self.index is None:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(matrix.shape[1]))
        if matrix.shape[1] != self.index.d:
            raise ValueError(f"stored vectors have {matrix.shape[1]} dimensions, the index {self.index.d}: "
                             "the embedding model changed; run `argus reindex --reembed`")
        id_array = np.asarray(ids, dtype=np.int64)
        self.index.add_with_ids(matrix, id_array)
        self.owners.setdefault(source_id, []).extend(ids)
        self.added.append((id_array, matrix))

    def remove(self, source_id: int) -> None:
        ids = self.owners.pop(source_id, [])
        if ids and self.index is not None:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))
            self.removed = True

    def owner_pairs(self) -> np.ndarray:
        pairs = [(i, s) for s, ids in self.owners.items() for i in ids]
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


class IndexWriter:
    """Edits the indexes in memory and publishes new versions. One per base at a time."""

    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings = settings
        self.catalog = catalog
        self.root = settings.index_dir
        self.root.mkdir(parents=True, exist_ok=True)
        self._vectors = {name: _VectorState() for name in _VECTOR_INDEXES}
        self._source_ids: set[int] = set()
        self._base: Path | None = None  # the version the pending keyword edits apply to
        self._keyword_adds: list[dict] = []
        self._keyword_removals: set[int] = set()
        self.dirty = False
        try:
            self._load(current_version(settings))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            # The live version is unreadable (deleted or damaged by hand): the indexes are
            # derived data, so rebuild them from the catalog rather than fail.
            log.warning("indexes in %s unreadable (%s); rebuilding from the catalog", self.root, exc)
            self.rebuild()

    def _load(self, version: str | None) -> None:
        if version is None:
            return
        folder = self.root / version
        manifest = json.loads((folder / "manifest.json").read_text())
        self._source_ids = set(manifest["source_ids"])
        for name, state in self._vectors.items():
            state.index = _read_faiss(folder / f"{name}.faiss")
            owners_file = folder / f"{name}.owners.npy"
            if owners_file.exists():
                for faiss_id, source_id in np.load(owners_file):
                    state.owners.setdefault(int(source_id), []).append(int(faiss_id))
        self._base = folder

    @property
    def source_ids(self) -> frozenset[int]:
        return frozenset(self._source_ids)

    def add_source(self, source_id: int) -> None:
        """Index every row of a source, reading texts and vectors from the catalog."""
        if source_id in self._source_ids:
            return
        self._add_rows(source_id, self.catalog.indexed_rows([source_id]))

    def _add_rows(self, source_id: int, rows: Iterable[IndexedRow]) -> None:
        dense_ids, dense_vecs, image_ids, image_vecs, clip_ids, clip_vecs = [], [], [], [], [], []
        rows = list(rows)
        semantic_ids, semantic_vecs = class_space_vectors(rows, self.settings)
        for row in rows:
            if row.embedding is not None:
                dense_ids.append(dense_id(row.kind, row.row_id))
                dense_vecs.append(row.embedding)
            if row.image_embedding is not None:
                image_ids.append(row.row_id)
                image_vecs.append(row.image_embedding)
            if row.clip_embedding is not None:
                clip_ids.append(row.row_id)
                clip_vecs.append(row.clip_embedding)
            if row.text.strip():
                self._keyword_adds.append({"key": f"{row.kind}:{row.row_id}", "kind": row.kind, "row_id": row.row_id,
                                           "source": str(source_id), "text": row.text})
        self._vectors["dense"].add(source_id, dense_ids, dense_vecs)
        self._vectors["image"].add(source_id, image_ids, image_vecs)
        self._vectors["clip"].add(source_id, clip_ids, clip_vecs)
        self._vectors["semantic"].add(source_id, semantic_ids, semantic_vecs)
        self._source_ids.add(source_id)
        self.dirty = True

    def remove_source(self, source_id: int) -> None:
        """Drop a source's rows (works after its catalog rows are gone: ids come from the owners)."""
        if source_id not in self._source_ids:
            return
        for state in self._vectors.values():
            state.remove(source_id)
        self._keyword_adds = [d for d in self._keyword_adds if d["source"] != str(source_id)]
        self._keyword_removals.add(source_id)
        self._source_ids.discard(source_id)
        self.dirty = True

    def sync(self) -> bool:
        """Make the indexes cover exactly the catalog's sources; True if anything changed."""
        in_catalog = self.catalog.source_ids()
        stale = self._source_ids - in_catalog
        missing = sorted(in_catalog - self._source_ids)
        for source_id in stale:
            self.remove_source(source_id)
        for source_id in missing:
            self.add_source(source_id)
        return bool(stale or missing)

    def rebuild(self) -> None:
        """Forget the published state and index every catalog row again."""
        self._vectors = {name: _VectorState() for name in _VECTOR_INDEXES}
        self._source_ids = set()
        self._base = None
        self._keyword_adds, self._keyword_removals = [], set()
        by_source: dict[int, list[IndexedRow]] = {source_id: [] for source_id in self.catalog.source_ids()}
        for row in self.catalog.indexed_rows():
            by_source[row.source_id].append(row)
        for source_id, rows in sorted(by_source.items()):
            self._add_rows(source_id, rows)
        self.dirty = True

    def publish(self) -> str | None:
        """Write the pending state as a new version and make it live; returns its name."""
        if not self.dirty:
            return current_version(self.settings)
        number = 1 + max((int(p.name[1:]) for p in self._versions()), default=0)
        name = f"v{number:06d}"
        tmp = self.root / f".tmp-{name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self._write_keyword(tmp / "keyword")
        search_types = {}
        for index_name, state in self._vectors.items():
            if state.index is not None and state.index.ntotal > 0:
                faiss.write_index(state.index, str(tmp / f"{index_name}.faiss"))
                np.save(tmp / f"{index_name}.owners.npy", state.owner_pairs())
                search_types[index_name] = self._write_search_index(index_name, state, tmp)
        manifest = {
            "version": name,
            "created_at": time.time(),
            "source_ids": sorted(self._source_ids),
            "counts": {n: (s.index.ntotal if s.index is not None else 0) for n, s in self._vectors.items()},
            "dims": {n: (s.index.d if s.index is not None else None) for n, s in self._vectors.items()},
            "search": search_types,
            "hnsw": self._hnsw_params(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        _fsync_tree(tmp)
        final = self.root / name
        os.rename(tmp, final)
        _write_atomic(self.root / CURRENT, name + "\n")
        self._base, self._keyword_adds, self._keyword_removals = final, [], set()
        for state in self._vectors.values():
            state.added, state.removed = [], False
        self.dirty = False
        self._retire_old_versions(keep=name)
        return name

    def _hnsw_params(self) -> dict[str, int]:
        return {"m": self.settings.index_hnsw_m, "ef_construction": self.settings.index_hnsw_ef_construction}

    def _write_search_index(self, name: str, state: _VectorState, folder: Path) -> str:
        """Write `name`'s HNSW copy when the index is large enough; returns the type searches use."""
        if not 0 < self.settings.index_ann_min_vectors <= state.index.ntotal:
            return "flat"
        target = folder / f"{name}.hnsw.faiss"
        previous = None if state.removed else self._base_hnsw(name)
        if previous is not None and not state.added:
            _link_or_copy(previous, target)  # unchanged: versions are immutable, so they can share the file
            return "hnsw"
        if previous is not None:  # additions only: extending the graph is much cheaper than rebuilding it
            hnsw = faiss.read_index(str(previous))
            for ids, vectors in state.added:
                hnsw.add_with_ids(vectors, ids)
        else:
            hnsw = build_hnsw(state.index, **self._hnsw_params())
        faiss.write_index(hnsw, str(target))
        return "hnsw"

    def _base_hnsw(self, name: str) -> Path | None:
        """The HNSW file of the version the pending edits apply to, if built with today's parameters."""
        if self._base is None:
            return None
        manifest = json.loads((self._base / "manifest.json").read_text())
        path = self._base / f"{name}.hnsw.faiss"
        same_params = manifest.get("hnsw") == self._hnsw_params()
        return path if same_params and manifest.get("search", {}).get(name) == "hnsw" and path.exists() else None

    def _write_keyword(self, folder: Path) -> None:
        # Whoosh edits a copy of the live keyword index; the live one is never touched.
        if self._base is not None and (self._base / "keyword").is_dir():
            shutil.copytree(self._base / "keyword", folder)
            ix = whoosh_index.open_dir(str(folder))
        else:
            folder.mkdir()
            ix = whoosh_index.create_in(str(folder), keyword_schema())
        writer = ix.writer()
        for source_id in self._keyword_removals:
            writer.delete_by_term("source", str(source_id))
        for doc in self._keyword_adds:
            writer.update_document(**doc)
        writer.commit()
        ix.close()

    def _versions(self) -> list[Path]:
        return sorted(p for p in self.root.glob("v[0-9]*") if p.is_dir())

    def _retire_old_versions(self, keep: str) -> None:
        versions = [p for p in self._versions() if p.name != keep]
        for old in versions[: max(0, len(versions) - (_KEEP_VERSIONS - 1))]:
            shutil.rmtree(old, ignore_errors=True)
        # Leftovers of a publish that was killed half-way (we hold the writer lock).
        for tmp in self.root.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)

    def stats(self) -> dict[str, int]:
        return {"sources": len(self._source_ids),
                **{n: (s.index.ntotal if s.index is not None else 0) for n, s in self._vectors.items()}}


def build_hnsw(flat: faiss.Index, m: int, ef_construction: int) -> faiss.Index:
    """An inner-product HNSW copy of an `IndexIDMap2(IndexFlatIP)`, with the same int64 ids."""
    vectors = faiss.downcast_index(flat.index).reconstruct_n(0, flat.ntotal)
    ids = faiss.vector_to_array(flat.id_map).astype(np.int64)
    hnsw = faiss.IndexHNSWFlat(flat.d, m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = ef_construction
    index = faiss.IndexIDMap(hnsw)
    index.add_with_ids(vectors, ids)
    return index


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def _read_faiss(path: Path) -> faiss.Index | None:
    return faiss.read_index(str(path)) if path.exists() else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` to disk before it is published."""
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            fd = os.open(os.path.join(dirpath, filename), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))
    _fsync_dir(folder.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
