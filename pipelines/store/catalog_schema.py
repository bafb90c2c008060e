"""The catalog's schema: the kinds of derived rows, their tables and columns, and the ordered
migrations that `Catalog` applies when it opens a catalog.

Kept apart from the catalog's reads and writes (`pipelines.store.catalog`) so that the tables
can be read in one place, and a schema change is one new entry at the end of `MIGRATIONS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Literal

Kind = Literal["segment", "caption", "keyframe", "chunk"]
KINDS: tuple[Kind, ...] = ("segment", "caption", "keyframe", "chunk")
_TABLES: dict[Kind, str] = {"segment": "segments", "caption": "captions", "keyframe": "keyframes", "chunk": "chunks"}
# The columns a row object needs: the vector blobs (up to 7 KB a keyframe) stay on disk.
_COLUMNS: dict[Kind, str] = {
    "segment": "id, source_id, t0, t1, text, language",
    "caption": "id, source_id, text, model, composed",
    "keyframe": "id, source_id, t, path, objects, tags, ocr",
    "chunk": "id, source_id, ordinal, text, page, heading",
}


def _select(kind: Kind) -> str:
    return f"SELECT {_COLUMNS[kind]} FROM {_TABLES[kind]}"


JobStatus = Literal["queued", "running", "done", "failed", "skipped"]

MIGRATIONS: list[str] = [
    # 1: the initial schema.
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        content_hash TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL CHECK (type IN ('video', 'audio', 'document')),
        mime TEXT NOT NULL DEFAULT '',
        language TEXT,
        duration_s REAL,
        pages INTEGER,
        size_bytes INTEGER NOT NULL,
        added_at REAL NOT NULL
    );
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        t0 REAL NOT NULL,
        t1 REAL NOT NULL,
        text TEXT NOT NULL,
        language TEXT,
        embedding BLOB
    );
    CREATE TABLE keyframes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        t REAL NOT NULL,
        path TEXT NOT NULL,
        objects TEXT NOT NULL DEFAULT '[]',
        tags TEXT NOT NULL DEFAULT '[]',
        ocr TEXT NOT NULL DEFAULT '',
        embedding BLOB,
        image_embedding BLOB,
        clip_embedding BLOB
    );
    CREATE TABLE captions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        model TEXT NOT NULL,
        composed INTEGER NOT NULL DEFAULT 0,
        embedding BLOB
    );
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        page INTEGER,
        heading TEXT,
        embedding BLOB
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL,
        content_hash TEXT,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'skipped')),
        stage TEXT NOT NULL DEFAULT '',
        progress REAL NOT NULL DEFAULT 0,
        error TEXT,
        source_id INTEGER,
        run_id TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX segments_source ON segments(source_id);
    CREATE INDEX keyframes_source ON keyframes(source_id, t);
    CREATE INDEX captions_source ON captions(source_id);
    CREATE INDEX chunks_source ON chunks(source_id, ordinal);
    CREATE INDEX jobs_status ON jobs(status);
    """,
    # 2: a keyframe's full class evidence (JSON, see pipelines/ingest/visual.py), which the
    # class-space index is built from; '{}' for keyframes ingested before it was kept.
    """
    ALTER TABLE keyframes ADD COLUMN evidence TEXT NOT NULL DEFAULT '{}';
    """,
]


class CatalogError(RuntimeError):
    pass


def _statements(script: str) -> Iterator[str]:
    """Split an SQL script into complete statements (triggers with inner `;` stay whole)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise CatalogError(f"incomplete SQL statement in a migration: {buffer.strip()[:60]}")
