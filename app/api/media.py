"""Media files and keyframe images, with HTTP range requests so a player can seek.

A source's file is served by its catalog id, never by a path from the client: exactly the
file the catalog registered, wherever it was ingested from (`argus ingest` on the command
line reads any folder the user names). The file on disk must still be that file: its size
and sha256 must match the catalog row, so a path whose file was replaced (or turned into
a link to something else) answers 409, not the new bytes. A file that moved away is 404.

`GET /v1/media/{id}/link` (scope read) gives a signed, short-lived URL of the source's
file: a browser's `<video>` tag cannot send a bearer key, so the UI hands it this URL and
the browser streams the file by range requests straight from the API, instead of the UI
reading whole files into its memory.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import re
import threading
import time
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from app.api.paths import PathRefused, RowId, confine
from app.api.problems import ApiError
from app.api.security import require

router = APIRouter(prefix="/v1/media", tags=["media"])

CHUNK = 64 * 1024
LINK_TTL_S = 6 * 3600  # long enough to watch a long video; the key is per server process


class MediaLink(BaseModel):
    url: str  # relative to the API's base URL
    expires: int  # unix time


def _signature(secret: bytes, source_id: int, expires: int) -> str:
    return hmac.new(secret, f"media:{source_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def media_access(request: Request, source_id: RowId, expires: int | None = Query(None, include_in_schema=False),
                 sig: str | None = Query(None, include_in_schema=False)) -> None:
    """A valid, unexpired signed link, or the caller's key with the read scope."""
    if sig is None or expires is None:
        require("read")(request)
        return
    secret = request.app.state.argus.media_secret
    if expires < time.time() or not hmac.compare_digest(sig, _signature(secret, source_id, expires)):
        raise ApiError(403, "the media link is invalid or has expired; ask for a new one")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single-range header; None to serve the whole file.

    Unparseable or multi-range headers are ignored (RFC 9110 allows that); a range
    that starts past the end raises 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    else:  # suffix: the last N bytes
        n = int(last)
        if n == 0:
            raise ApiError(416, "empty suffix range", headers={"Content-Range": f"bytes */{size}"})
        start, end = max(0, size - n), size - 1
    if start >= size:
        raise ApiError(416, f"the range starts past the end ({size} bytes)", headers={"Content-Range": f"bytes */{size}"})
    return start, end


def _stream(path: Path, start: int, length: int):
    with open(path, "rb") as fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            data = fh.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data


def serve_file(request: Request, path: Path, media_type: str | None) -> Response:
    size = path.stat().st_size
    media_type = media_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    stat = path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    headers = {"Accept-Ranges": "bytes", "ETag": etag}
    if_range = request.headers.get("if-range")
    wanted = parse_range(request.headers.get("range"), size) if (if_range in (None, etag)) else None
    if wanted is None:
        start, end, status = 0, size - 1, 200
    else:
        start, end = wanted
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    length = max(0, end - start + 1)
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(_stream(path, start, length), status_code=status, headers=headers, media_type=media_type)


# (path, device, inode, mtime_ns, size) → sha256: a file is hashed once, not on every range request.
_VERIFIED: dict[tuple, str] = {}
_VERIFIED_LOCK = threading.Lock()
_VERIFIED_MAX = 4096


def registered_file(source) -> Path:
    """The file the catalog registered for `source`, if it is still there and unchanged."""
    from pipelines.ingest.inputs import hash_file

    path = Path(source.path).resolve()
    if not path.is_file():
        raise ApiError(404, "the source's file is no longer on disk")
    stat = path.stat()
    if source.size_bytes and stat.st_size != source.size_bytes:
        raise ApiError(409, "the source's file changed on disk since it was ingested: ingest it again")
    key = (str(path), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    with _VERIFIED_LOCK:
        digest = _VERIFIED.get(key)
    if digest is None:
        digest = hash_file(path)
        with _VERIFIED_LOCK:
            if len(_VERIFIED) >= _VERIFIED_MAX:
                _VERIFIED.clear()
            _VERIFIED[key] = digest
    if digest != source.content_hash:
        raise ApiError(409, "the source's file changed on disk since it was ingested: ingest it again")
    return path


def _source(request: Request, source_id: int):
    from pipelines.store.catalog import open_catalog

    catalog = open_catalog(request.app.state.argus.settings)
    try:
        source = catalog.get_source(source_id)
        if source is None:
            raise ApiError(404, f"no source with id {source_id}")
        return source, catalog.keyframes(source_id)
    finally:
        catalog.close()


@router.get("/{source_id}/link", response_model=MediaLink, summary="A signed, short-lived URL of the source's file",
            dependencies=[Depends(require("read"))])
def media_link(request: Request, source_id: RowId) -> MediaLink:
    """For players that cannot send a key (a browser's `<video>`): the URL works without one."""
    source, _ = _source(request, source_id)  # 404 for an unknown source
    registered_file(source)  # 404/409 now, as a message for the page, not a silent broken player
    expires = int(time.time()) + LINK_TTL_S
    sig = _signature(request.app.state.argus.media_secret, source_id, expires)
    return MediaLink(url=f"/v1/media/{source_id}?expires={expires}&sig={sig}", expires=expires)


@router.head("/{source_id}", include_in_schema=False, dependencies=[Depends(media_access)])
@router.get("/{source_id}", summary="The source's file (range requests supported)",
                  response_class=Response, dependencies=[Depends(media_access)],
                  responses={206: {"description": "Partial content"}, 409: {"description": "The file changed since ingestion"},
                             416: {"description": "Range not satisfiable"}})
def get_media(request: Request, source_id: RowId) -> Response:
    source, _ = _source(request, source_id)
    return serve_file(request, registered_file(source), source.mime or None)


@router.head("/{source_id}/keyframes/{keyframe_id}", include_in_schema=False, dependencies=[Depends(require("read"))])
@router.get("/{source_id}/keyframes/{keyframe_id}", summary="A keyframe JPEG",
                  response_class=Response, dependencies=[Depends(require("read"))])
def get_keyframe(request: Request, source_id: RowId, keyframe_id: RowId) -> Response:
    settings = request.app.state.argus.settings
    _, keyframes = _source(request, source_id)
    keyframe = next((k for k in keyframes if k.id == keyframe_id), None)
    if keyframe is None:  # includes keyframes of other sources
        raise ApiError(404, f"source {source_id} has no keyframe {keyframe_id}")
    try:
        path = confine(settings.home / keyframe.path, [settings.media_dir.resolve()])
    except PathRefused:
        raise ApiError(403, "the keyframe lies outside the media folder") from None
    if not path.is_file():
        raise ApiError(404, "the keyframe image is missing")
    return serve_file(request, path, "image/jpeg")


