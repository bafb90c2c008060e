"""Path confinement: no path taken from a request leaves the allowed folders.

Server-side ingest paths must resolve (symlinks followed) inside `ingest_roots` or the
uploads folder. Media is served by catalog id (app/api/media.py), never by a client's
path. Upload names are validated, never joined as given.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Annotated

from fastapi import Path as UrlPath

from core.settings import Settings

# Catalog row ids in URLs. SQLite integers are 64-bit: a larger number is a 422, not an overflow (500).
RowId = Annotated[int, UrlPath(ge=1, le=2**63 - 1)]

MAX_NAME_BYTES = 200
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\:]")


class PathRefused(ValueError):
    """The path is outside the allowed folders, or the name is unsafe."""


def ingest_roots(settings: Settings) -> list[Path]:
    return [Path(r).expanduser().resolve() for r in settings.ingest_roots] + [settings.uploads_dir.resolve()]


def confine(path: str | Path, roots: list[Path]) -> Path:
    """`path` resolved, if it lies inside one of `roots`; PathRefused otherwise."""
    raw = str(path)
    if "\x00" in raw:
        raise PathRefused("the path contains a NUL character")
    resolved = Path(raw).expanduser().resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise PathRefused(f"{raw!r} is outside the allowed ingest folders")
    return resolved


def safe_upload_name(name: str | None) -> str:
    """A client-given file name, if it is a plain name: no folders, no '..', no control characters."""
    if not name:
        raise PathRefused("the upload has no file name")
    name = unicodedata.normalize("NFC", name)
    if _BAD_NAME.search(name) or name in (".", "..") or name.startswith(".") or ".." in name:
        raise PathRefused(f"unsafe upload file name {name!r}: give a plain file name")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise PathRefused("the upload file name is too long")
    return name
