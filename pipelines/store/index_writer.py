"""Writing the search indexes of `pipelines.store.indexes`: `IndexWriter` edits them in memory
and publishes each change as a new immutable version (layout and format: `pipelines.store.indexes`).

Kept apart from reading, which retrieval and the API do in every process: only the ingestion
driver writes, and a reader needs none of the publishing machinery.

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
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
from whoosh import index as whoosh_index

from core.settings import Settings
from pipelines.store.catalog import Catalog, IndexedRow
from pipelines.store.class_vectors import class_space_vectors
from pipelines.store.indexes import (
    CURRENT,
    _normalised,
    _read_faiss,
    current_version,
    dense_id,
    keyword_schema,
)

log = logging.getLogger(__name__)

_VECTOR_INDEXES = ("dense", "image", "clip", "semantic")
_KEEP_VERSIONS = 3  # readers holding an older version keep working while it lives


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
        self._add_class_vectors(source_id, semantic_ids, semantic_vecs)
        self._source_ids.add(source_id)
        self.dirty = True

    def _add_class_vectors(self, source_id: int, ids: list[int], vectors: list[np.ndarray]) -> None:
        """Class-space vectors are derived from stored evidence alone: when the class space's model
        changed (other dimensions), the whole class-space index is rebuilt here instead of failing."""
        state = self._vectors["semantic"]
        if vectors and state.index is not None and state.index.d != len(vectors[0]):
            log.warning("the class space's model changed or its image half was turned on or off "
                        "(%d -> %d dimensions): rebuilding the class-space vectors of %d indexed sources",
                        state.index.d, len(vectors[0]), len(self._source_ids))
            state = self._vectors["semantic"] = _VectorState(removed=True)  # removed: the HNSW copy is rebuilt
            for other in sorted(self._source_ids - {source_id}):
                state.add(other, *class_space_vectors(self.catalog.indexed_rows([other]), self.settings))
        state.add(source_id, ids, vectors)

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
