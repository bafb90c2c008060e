"""The SQLite catalog: the source of truth of a knowledge base.

Everything Argus knows about the ingested files lives here: sources (identified by the
sha256 of their bytes), the rows derived from them (transcript segments, keyframes,
captions, document chunks, each with its embedding vector) and the ingestion jobs.
The FAISS and Whoosh indexes are derived from these tables (`pipelines.store.indexes`).

Write rules, which make "kill -9 at any point, then resume" safe:

* A source and all its derived rows are written by `add_source` in ONE transaction,
  at the end of its processing. A `sources` row therefore exists only for a fully
  ingested file; a crash before the commit leaves no trace of it, and a crash after
  it leaves a complete source. Resuming re-runs unfinished files from the start.
* Every other multi-row write (`remove_source`, `replace_text_vectors`, job updates)
  is one transaction too.
* The database runs in WAL mode, so readers (the API, retrieval) never block the
  single writer (the ingestion driver) and always see a committed state.

The schema is versioned: `MIGRATIONS` is an ordered list of SQL scripts; `open_catalog`
applies the missing ones, each in its own transaction, and records the version in
`schema_version`. The tables and their migrations are in `pipelines.store.catalog_schema`,
the records written and read (`SourceRecord`, `Job`, `IndexedRow`) in
`pipelines.store.catalog_rows`; this module re-exports them.

Row ids are AUTOINCREMENT keys, never reused after a removal, so a (kind, row id) held
by an index or a reader always names the same row or none. Indexes refer to rows by
(kind, row id), with kind one of `KINDS`.
"""

from __future__ import annotations

import fcntl
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.settings import Settings, get_settings
from core.types import Caption, Chunk, DetectedObject, Keyframe, Segment, Source, Tag
from pipelines.store.catalog_rows import (
    IndexedRow,
    Job,
    SourceRecord,
    _at,
    _blob,
    _caption,
    _chunk,
    _evidence,
    _segment,
    _source,
    _vector,
    chunk_index_text,
)
from pipelines.store.catalog_schema import (
    _TABLES,
    KINDS,
    MIGRATIONS,
    CatalogError,
    JobStatus,
    Kind,
    _select,
    _statements,
)

__all__ = ["KINDS", "MIGRATIONS", "Catalog", "CatalogError", "IndexedRow", "Job", "JobStatus", "Kind", "SourceRecord",
           "chunk_index_text", "open_catalog", "writer_lock"]


class Catalog:
    """A connection to one catalog. Safe to share between threads (calls are serialised)."""

    def __init__(self, path: Path, home: Path):
        self.path = path
        self.home = home  # keyframe paths are stored relative to it
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it consistent
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # -- plumbing -------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back if the block raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        for version, script in enumerate(MIGRATIONS, start=1):
            # Each migration and its version stamp form one transaction (SQLite DDL is
            # transactional); the version is re-read inside it, so two processes opening
            # a new catalog at once apply each migration exactly once.
            with self.transaction() as db:
                current = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
                if current > len(MIGRATIONS):
                    raise CatalogError(f"{self.path}: schema version {current} is newer than this Argus "
                                       f"({len(MIGRATIONS)}); upgrade Argus")
                if current >= version:
                    continue
                for statement in _statements(script):
                    db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    @property
    def schema_version(self) -> int:
        return self._query("SELECT MAX(version) FROM schema_version")[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- sources --------------------------------------------------------------------

    def add_source(self, record: SourceRecord, *, job_id: int | None = None) -> int:
        """Write a source and all its derived rows (and mark its job done) in one transaction."""
        s = record.source
        now = time.time()
        with self.transaction() as db:
            source_id = db.execute(
                "INSERT INTO sources (content_hash, path, name, type, mime, language, duration_s, pages, size_bytes,"
                " added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (s.content_hash, s.path, s.name, s.type.value, s.mime, s.language, s.duration_s, s.pages,
                 s.size_bytes, now),
            ).lastrowid
            vectors = record.text_vectors
            for i, seg in enumerate(record.segments):
                db.execute(
                    "INSERT INTO segments (source_id, t0, t1, text, language, embedding) VALUES (?, ?, ?, ?, ?, ?)",
                    (source_id, seg.t0, seg.t1, seg.text, seg.language, _blob(_at(vectors.get("segment"), i))),
                )
            for i, kf in enumerate(record.keyframes):
                db.execute(
                    "INSERT INTO keyframes (source_id, t, path, objects, tags, ocr, embedding, image_embedding,"
                    " clip_embedding, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (source_id, kf.t, kf.path, json.dumps([o.model_dump() for o in kf.objects]),
                     json.dumps([t.model_dump() for t in kf.tags]), kf.ocr,
                     _blob(_at(vectors.get("keyframe"), i)), _blob(_at(record.image_vectors, i)),
                     _blob(_at(record.clip_vectors, i)), json.dumps(_at(record.keyframe_evidence, i) or {})),
                )
            for i, cap in enumerate(record.captions):
                db.execute(
                    "INSERT INTO captions (source_id, text, model, composed, embedding) VALUES (?, ?, ?, ?, ?)",
                    (source_id, cap.text, cap.model, int(cap.composed), _blob(_at(vectors.get("caption"), i))),
                )
            for i, ch in enumerate(record.chunks):
                db.execute(
                    "INSERT INTO chunks (source_id, ordinal, text, page, heading, embedding) VALUES (?, ?, ?, ?, ?, ?)",
                    (source_id, ch.ordinal, ch.text, ch.page, ch.heading, _blob(_at(vectors.get("chunk"), i))),
                )
            if job_id is not None:
                db.execute(
                    "UPDATE jobs SET status='done', stage='done', progress=1, error=NULL, source_id=?, updated_at=?"
                    " WHERE id=?",
                    (source_id, now, job_id),
                )
        return source_id

    def remove_source(self, source_id: int) -> None:
        """Delete a source and (by cascade) every row derived from it."""
        with self.transaction() as db:
            db.execute("DELETE FROM sources WHERE id=?", (source_id,))

    def get_source(self, source_id: int) -> Source | None:
        rows = self._query("SELECT * FROM sources WHERE id=?", (source_id,))
        return _source(rows[0]) if rows else None

    def source_by_hash(self, content_hash: str) -> Source | None:
        rows = self._query("SELECT * FROM sources WHERE content_hash=?", (content_hash,))
        return _source(rows[0]) if rows else None

    def list_sources(self) -> list[Source]:
        return [_source(r) for r in self._query("SELECT * FROM sources ORDER BY id")]

    def content_hashes(self) -> set[str]:
        return {r[0] for r in self._query("SELECT content_hash FROM sources")}

    def source_ids(self) -> set[int]:
        return {r[0] for r in self._query("SELECT id FROM sources")}

    def find_sources(self, ref: str) -> list[Source]:
        """Sources matching `ref`: a row id, a file name, a path, or a content-hash prefix (≥ 6 characters)."""
        clauses, params = ["name = ?", "path = ?"], [ref, ref]
        if ref.isdigit():
            clauses.append("id = ?")
            params.append(int(ref))
        if len(ref) >= 6 and all(c in "0123456789abcdef" for c in ref.lower()):
            clauses.append("content_hash LIKE ?")
            params.append(ref.lower() + "%")
        rows = self._query(f"SELECT * FROM sources WHERE {' OR '.join(clauses)} ORDER BY id", params)
        return [_source(r) for r in rows]

    def counts(self, source_id: int) -> dict[str, int]:
        """How many rows of each kind a source has."""
        return {
            kind: self._query(f"SELECT COUNT(*) FROM {table} WHERE source_id=?", (source_id,))[0][0]
            for kind, table in _TABLES.items()
        }

    # -- derived rows ---------------------------------------------------------------

    def segments(self, source_id: int) -> list[Segment]:
        return [_segment(r) for r in self._query(f"{_select('segment')} WHERE source_id=? ORDER BY t0, id", (source_id,))]

    def keyframes(self, source_id: int) -> list[Keyframe]:
        rows = self._query(f"{_select('keyframe')} WHERE source_id=? ORDER BY t, id", (source_id,))
        return [self._keyframe(r) for r in rows]

    def captions(self, source_id: int) -> list[Caption]:
        return [_caption(r) for r in self._query(f"{_select('caption')} WHERE source_id=? ORDER BY id", (source_id,))]

    def chunks(self, source_id: int) -> list[Chunk]:
        rows = self._query(f"{_select('chunk')} WHERE source_id=? ORDER BY ordinal", (source_id,))
        return [_chunk(r) for r in rows]

    def get_rows(self, kind: Kind, row_ids: Iterable[int]) -> dict[int, Segment | Caption | Keyframe | Chunk]:
        """Rows of one kind by id, for turning index hits into evidence. Missing ids are left out."""
        ids = list(dict.fromkeys(int(i) for i in row_ids))
        if not ids:
            return {}
        convert = {"segment": _segment, "caption": _caption, "keyframe": self._keyframe, "chunk": _chunk}[kind]
        out: dict[int, Segment | Caption | Keyframe | Chunk] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for r in self._query(f"{_select(kind)} WHERE id IN ({marks})", part):
                out[r["id"]] = convert(r)
        return out

    def nearest_keyframe(self, source_id: int, t: float) -> Keyframe | None:
        """The keyframe closest to moment `t` of a video (the thumbnail of a citation)."""
        rows = self._query(
            f"{_select('keyframe')} WHERE source_id=? ORDER BY ABS(t - ?), t LIMIT 1", (source_id, t)
        )
        return self._keyframe(rows[0]) if rows else None

    def keyframes_with_text(self) -> frozenset[int]:
        """Ids of the keyframes with words on screen: OCR that reads as at least two words, not
        the stray letters and digits it finds in textures and on clothes ("AIM", "0000", "酒")."""
        rows = self._query("SELECT id, ocr FROM keyframes WHERE TRIM(ocr) != ''", ())
        return frozenset(r["id"] for r in rows if _word_count(r["ocr"]) >= 2)

    def _keyframe(self, r: sqlite3.Row) -> Keyframe:
        return Keyframe(
            id=r["id"], source_id=r["source_id"], t=r["t"], path=str(self.home / r["path"]),
            objects=[DetectedObject(**o) for o in json.loads(r["objects"])],
            tags=[Tag(**t) for t in json.loads(r["tags"])], ocr=r["ocr"],
        )

    # -- what the indexes are built from ----------------------------------------------

    def indexed_rows(self, source_ids: Iterable[int] | None = None) -> Iterator[IndexedRow]:
        """Every row with its index text and stored vectors (all sources, or the given ones)."""
        where, params = "", []
        if source_ids is not None:
            ids = sorted(set(source_ids))
            if not ids:
                return
            where = f" WHERE source_id IN ({','.join('?' * len(ids))})"
            params = ids
        for r in self._query(f"SELECT * FROM segments{where} ORDER BY id", params):
            yield IndexedRow("segment", r["id"], r["source_id"], r["text"], _vector(r["embedding"]))
        for r in self._query(f"SELECT * FROM captions{where} ORDER BY id", params):
            yield IndexedRow("caption", r["id"], r["source_id"], r["text"], _vector(r["embedding"]))
        for r in self._query(f"SELECT * FROM keyframes{where} ORDER BY id", params):
            keyframe = self._keyframe(r)
            yield IndexedRow("keyframe", r["id"], r["source_id"], keyframe.searchable_text(),
                             _vector(r["embedding"]), _vector(r["image_embedding"]), _vector(r["clip_embedding"]),
                             _evidence(r["evidence"], keyframe))
        for r in self._query(f"SELECT * FROM chunks{where} ORDER BY id", params):
            yield IndexedRow("chunk", r["id"], r["source_id"], chunk_index_text(r["text"], r["heading"]),
                             _vector(r["embedding"]))

    def replace_text_vectors(self, vectors: Iterable[tuple[Kind, int, np.ndarray | None]]) -> None:
        """Store recomputed text vectors (after a change of embedding model), in one transaction."""
        with self.transaction() as db:
            for kind, row_id, vector in vectors:
                db.execute(f"UPDATE {_TABLES[kind]} SET embedding=? WHERE id=?", (_blob(vector), row_id))

    # -- jobs -----------------------------------------------------------------------

    def create_job(self, path: str, *, run_id: str | None = None) -> int:
        """A queued job for `path`, owned by `run_id` (the ingest run that will process it).

        An unfinished job for the same path is taken over instead of adding a row: one
        left by a killed run, or one queued ahead of time (e.g. by the REST API)."""
        now = time.time()
        with self.transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE path=? AND status IN ('queued', 'running') ORDER BY id LIMIT 1", (path,)
            ).fetchone()
            if row:
                db.execute("UPDATE jobs SET status='queued', stage='', progress=0, error=NULL, run_id=?, updated_at=?"
                           " WHERE id=?", (run_id, now, row[0]))
                return row[0]
            return db.execute(
                "INSERT INTO jobs (path, status, run_id, created_at, updated_at) VALUES (?, 'queued', ?, ?, ?)",
                (path, run_id, now, now),
            ).lastrowid

    def update_job(self, job_id: int, **fields: object) -> None:
        """Set some of: status, stage, progress, error, content_hash, source_id."""
        allowed = {"status", "stage", "progress", "error", "content_hash", "source_id"}
        if not fields.keys() <= allowed:
            raise ValueError(f"unknown job fields: {sorted(fields.keys() - allowed)}")
        assignments = ", ".join(f"{k}=?" for k in fields)
        with self.transaction() as db:
            db.execute(f"UPDATE jobs SET {assignments}, updated_at=? WHERE id=?", (*fields.values(), time.time(), job_id))

    def fail_abandoned_jobs(self, run_id: str, reason: str) -> int:
        """Mark jobs that another run started and never finished as failed; returns how many.

        Call it holding the writer lock: then no other run is alive, so their unfinished
        jobs were abandoned (the run was killed). Jobs no run has claimed are left alone."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE jobs SET status='failed', error=?, updated_at=? WHERE status IN ('queued', 'running')"
                " AND run_id IS NOT NULL AND run_id != ?",
                (reason, time.time(), run_id),
            ).rowcount

    def get_job(self, job_id: int) -> Job | None:
        rows = self._query("SELECT * FROM jobs WHERE id=?", (job_id,))
        return Job(**dict(rows[0])) if rows else None

    def list_jobs(self, status: JobStatus | None = None, limit: int = 1000) -> list[Job]:
        if status is None:
            rows = self._query("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._query("SELECT * FROM jobs WHERE status=? ORDER BY id DESC LIMIT ?", (status, limit))
        return [Job(**dict(r)) for r in rows]



@contextmanager
def writer_lock(settings: Settings, *, wait: bool = True) -> Iterator[None]:
    """Hold the base's single-writer lock (ingest, remove and reindex take it).

    An flock on `ARGUS_HOME/writer.lock`: the kernel releases it when the holder dies,
    even by SIGKILL, so a crashed run never leaves a stale lock behind.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / "writer.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise CatalogError(f"another ingest, remove or reindex is writing to {settings.home}") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def open_catalog(settings: Settings | None = None) -> Catalog:
    """The catalog of `settings.home` (created and migrated on first use)."""
    settings = settings or get_settings()
    return Catalog(settings.catalog_path, settings.home)


def _word_count(text: str) -> int:
    """Latin words of three letters or more, plus one for every two CJK characters."""
    latin = len(re.findall(r"[A-Za-z]{3,}", text))
    return latin + len(re.findall(r"[\u4e00-\u9fff]", text)) // 2
