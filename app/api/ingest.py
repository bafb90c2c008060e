"""Ingestion: server-side paths or uploads in, job ids out; jobs report their progress.

    POST /v1/ingest          JSON {"paths": [...]} (inside `ingest_roots`) or multipart files
    GET  /v1/jobs            recent jobs
    GET  /v1/jobs/{job_id}   one job: status, stage, progress, error, source_id

A batch runs in a background thread through the ordinary job runner
(`pipelines.ingest.jobs.ingest`), so the API and `argus ingest` behave the same.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from python_multipart.multipart import MultipartParser, parse_options_header

from app.api.paths import PathRefused, RowId, confine, ingest_roots, safe_upload_name
from app.api.problems import ApiError
from app.api.security import Principal, require

router = APIRouter(prefix="/v1", tags=["ingestion"])

MAX_FILES_PER_REQUEST = 1000
MAX_UPLOAD_FILES = 32


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"paths": ["/data/talks/lecture.mp4", "/data/manuals"], "recursive": True}]})

    paths: list[str] = Field(min_length=1, max_length=MAX_FILES_PER_REQUEST,
                             description="Files or folders on the server, inside the configured ingest roots.")
    recursive: bool = Field(False, description="Also ingest the files of subfolders.")


class JobOut(BaseModel):
    id: int
    path: str
    status: Literal["queued", "running", "done", "failed", "skipped"]
    stage: str = ""
    progress: float = Field(0.0, ge=0, le=1, description="Progress of the current stage, 0..1.")
    error: str | None = None
    source_id: int | None = None
    created_at: float
    updated_at: float


class Rejected(BaseModel):
    path: str
    reason: str


class IngestAccepted(BaseModel):
    jobs: list[JobOut] = Field(description="One job per file; poll GET /v1/jobs/{id}.")
    rejected: list[Rejected] = Field([], description="Inputs refused before any job was made.")


def _job_out(job, live: tuple[str, float] | None = None) -> JobOut:
    out = JobOut(id=job.id, path=job.path, status=job.status, stage=job.stage or "", progress=job.progress or 0.0,
                 error=job.error, source_id=job.source_id, created_at=job.created_at, updated_at=job.updated_at)
    if live is not None and job.status in ("queued", "running"):
        out.stage, out.progress = live[0], max(0.0, min(1.0, live[1]))
    return out


def _submit(request: Request, files: list[Path], rejected: list[Rejected], release) -> IngestAccepted:
    """Queue one job per file (so ids exist at once), then hand the batch to the runner, which
    gives the caller's batch slot back (`release`) when the batch ends."""
    from pipelines.store.catalog import open_catalog

    state = request.app.state.argus
    if not files:
        raise ApiError(400, "nothing to ingest: " + "; ".join(f"{r.path}: {r.reason}" for r in rejected)[:500])
    catalog = open_catalog(state.settings)
    try:
        # Unclaimed queued jobs: the runner takes each over when it reaches the same path.
        ids = [catalog.create_job(str(f)) for f in files]
        jobs = [_job_out(catalog.get_job(i)) for i in ids]
    finally:
        catalog.close()

    def batch() -> None:
        try:
            state.run_ingest(files)
        finally:
            release()

    state.metrics.ingest_batches.inc()
    state.ingest_pool.submit(batch)
    return IngestAccepted(jobs=jobs, rejected=rejected)


def _expand(settings, req: IngestRequest) -> tuple[list[Path], list[Rejected]]:
    """The files the request names. A path outside the ingest roots refuses the whole request
    (403); a link inside a root that leads out of it is refused on its own, and when nothing
    else is left the answer is 403 too."""
    from pipelines.ingest.inputs import discover

    roots = ingest_roots(settings)
    for raw in req.paths:
        try:
            confine(raw, roots)
        except PathRefused as exc:
            raise ApiError(403, str(exc)) from None
    files: list[Path] = []
    rejected: list[Rejected] = []
    escaped = 0
    for raw in req.paths:
        found = discover([raw], recursive=req.recursive)
        for path, reason in found.failures + found.skipped:
            rejected.append(Rejected(path=str(path), reason=reason))
            escaped += reason.startswith("refused: the symlink leads outside")
        for path in found.files:
            try:  # a link given by name inside a root may point outside it
                confine(path, roots)
            except PathRefused as exc:
                rejected.append(Rejected(path=str(path), reason=str(exc)))
                escaped += 1
                continue
            files.append(path)
    if not files and escaped:
        raise ApiError(403, "; ".join(f"{r.path}: {r.reason}" for r in rejected)[:500])
    return files, rejected


async def _receive_uploads(request: Request, target: Path) -> list[Path]:
    """Stream multipart file parts straight into `target`; validated names, nothing else kept."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise ApiError(400, "expected multipart/form-data with a boundary")
    saved: list[Path] = []
    part: dict = {}
    header_field = bytearray()
    header_value = bytearray()
    errors: list[ApiError] = []

    def on_part_begin() -> None:
        part.clear()
        part["headers"] = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        part["headers"][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disp = parse_options_header(part["headers"].get(b"content-disposition", b""))
        filename = disp.get(b"filename")
        if filename is None:
            return  # a plain form field: ignored
        if len(saved) >= MAX_UPLOAD_FILES:
            raise _Stop(ApiError(413, f"at most {MAX_UPLOAD_FILES} files per upload"))
        try:
            name = safe_upload_name(filename.decode("utf-8", "replace"))
        except PathRefused as exc:
            raise _Stop(ApiError(400, str(exc))) from None
        path = target / name
        if path in saved:
            raise _Stop(ApiError(400, f"the upload names {name!r} twice"))
        part["file"] = open(path, "xb")  # noqa: SIM115 — closed in on_part_end or on failure
        saved.append(path)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if "file" in part:
            part["file"].write(data[start:end])

    def on_part_end() -> None:
        if "file" in part:
            part.pop("file").close()

    class _Stop(Exception):
        def __init__(self, error: ApiError):
            self.error = error

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end})
    try:
        async for chunk in request.stream():  # the body-limit middleware stops this past the upload limit
            try:
                # The parser's callbacks open and write the files: off the event loop.
                await anyio.to_thread.run_sync(parser.write, chunk)
            except _Stop as stop:
                errors.append(stop.error)
                break
        else:
            await anyio.to_thread.run_sync(parser.finalize)
    except Exception as exc:
        if "file" in part:
            part.pop("file").close()
        if type(exc).__name__ == "MultipartParseError":
            raise ApiError(400, "the multipart body is malformed") from None
        raise
    finally:
        if "file" in part:
            part.pop("file").close()
    if errors:
        raise errors[0]
    if not saved:
        raise ApiError(400, "the upload holds no file part")
    return saved


@router.post("/ingest", status_code=202, response_model=IngestAccepted, summary="Ingest server files or uploads",
             responses={429: {"description": "Too many ingest batches in progress (Retry-After)"}},
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": IngestRequest.model_json_schema()},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}})
async def post_ingest(request: Request, principal: Principal = Depends(require("ingest"))) -> IngestAccepted:
    """Start ingesting. Either a JSON body naming files or folders on the server (each must lie in
    a configured ingest root), or a multipart upload whose files are streamed to
    `ARGUS_HOME/uploads/<batch>/<name>`. Answers 202 with one job per file; 429 while the
    caller (or the server) has the most batches in progress that it may."""
    release = request.app.state.argus.ingest_slots.acquire(principal.id)
    try:
        return await _ingest(request, release)
    except BaseException:
        release()
        raise


async def _ingest(request: Request, release) -> IngestAccepted:
    settings = request.app.state.argus.settings
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/"):
        batch = settings.uploads_dir / uuid.uuid4().hex[:12]
        batch.mkdir(parents=True)
        try:
            files = await _receive_uploads(request, batch)
        except BaseException:
            # Nothing of a refused or cut-off upload stays on disk.
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(batch, ignore_errors=True))
            raise
        return await anyio.to_thread.run_sync(_submit, request, files, [], release)
    if not ctype.startswith("application/json"):
        raise ApiError(415, "send application/json or multipart/form-data")
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError

    body = await request.body()
    try:
        req = IngestRequest.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None
    files, rejected = await anyio.to_thread.run_sync(_expand, settings, req)
    return await anyio.to_thread.run_sync(_submit, request, files, rejected, release)


@router.get("/jobs", response_model=list[JobOut], summary="Recent ingest jobs",
            dependencies=[Depends(require("read"))])
def list_jobs(request: Request, limit: int = Query(100, ge=1, le=1000),
              status: Literal["queued", "running", "done", "failed", "skipped"] | None = None) -> list[JobOut]:
    from pipelines.store.catalog import open_catalog

    state = request.app.state.argus
    catalog = open_catalog(state.settings)
    try:
        return [_job_out(j, state.progress.get(j.id)) for j in catalog.list_jobs(status, limit)]
    finally:
        catalog.close()


@router.get("/jobs/{job_id}", response_model=JobOut, summary="One ingest job and its progress",
            dependencies=[Depends(require("read"))])
def get_job(request: Request, job_id: RowId) -> JobOut:
    from pipelines.store.catalog import open_catalog

    state = request.app.state.argus
    catalog = open_catalog(state.settings)
    try:
        job = catalog.get_job(job_id)
    finally:
        catalog.close()
    if job is None:
        raise ApiError(404, f"no job with id {job_id}")
    return _job_out(job, state.progress.get(job_id))


