"""The knowledge base's sources: list, inspect (transcript, keyframes, chunks), remove."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from app.api.paths import RowId
from app.api.problems import ApiError
from app.api.security import require
from core.types import Caption, Chunk, Keyframe, Segment, Source

router = APIRouter(prefix="/v1/sources", tags=["sources"])


class SourceSummary(Source):
    media_url: str = Field(description="GET it for the file itself (range requests supported).",
                           examples=["/v1/media/3"])
    counts: dict[str, int] = Field(default_factory=dict, examples=[{"segments": 12, "keyframes": 5, "chunks": 0}])


class KeyframeOut(Keyframe):
    url: str = Field(examples=["/v1/media/3/keyframes/17"])


class SourceDetail(BaseModel):
    source: SourceSummary
    transcript: list[Segment] = Field(description="Timestamped transcript segments (media).")
    keyframes: list[KeyframeOut]
    captions: list[Caption]
    chunks: list[Chunk] = Field(description="Text chunks (documents).")


def _summary(source: Source, counts: dict[str, int]) -> SourceSummary:
    return SourceSummary(**source.model_dump(), media_url=f"/v1/media/{source.id}", counts=counts)


@router.get("", response_model=list[SourceSummary], summary="All sources",
            dependencies=[Depends(require("read"))])
def list_sources(request: Request) -> list[SourceSummary]:
    from pipelines.store.catalog import open_catalog

    catalog = open_catalog(request.app.state.argus.settings)
    try:
        return [_summary(s, catalog.counts(s.id)) for s in catalog.list_sources()]
    finally:
        catalog.close()


@router.get("/{source_id}", response_model=SourceDetail, summary="One source with its transcript, keyframes and chunks",
            dependencies=[Depends(require("read"))])
def get_source(request: Request, source_id: RowId) -> SourceDetail:
    from pipelines.store.catalog import open_catalog

    catalog = open_catalog(request.app.state.argus.settings)
    try:
        source = catalog.get_source(source_id)
        if source is None:
            raise ApiError(404, f"no source with id {source_id}")
        return SourceDetail(
            source=_summary(source, catalog.counts(source_id)),
            transcript=catalog.segments(source_id),
            keyframes=[KeyframeOut(**k.model_dump(), url=f"/v1/media/{source_id}/keyframes/{k.id}")
                       for k in catalog.keyframes(source_id)],
            captions=catalog.captions(source_id),
            chunks=catalog.chunks(source_id),
        )
    finally:
        catalog.close()


@router.delete("/{source_id}", status_code=204, response_class=Response, summary="Remove a source",
               dependencies=[Depends(require("admin"))])
def delete_source(request: Request, source_id: RowId) -> Response:
    """Delete the source from the catalog, the indexes and the thumbnails (an uploaded file too).
    While an ingest batch holds the base's writer lock the answer is 409 with Retry-After: a
    request never waits in the threadpool for a batch to end."""
    from pipelines.store.catalog import CatalogError, writer_lock

    settings = request.app.state.argus.settings
    try:
        with writer_lock(settings, wait=False):
            _delete(settings, source_id)
    except CatalogError as exc:
        raise ApiError(409, f"{exc}; try again when the batch ends", headers={"Retry-After": "10"}) from None
    return Response(status_code=204)


def _delete(settings, source_id: int) -> None:
    from pipelines.ingest.jobs import remove_upload
    from pipelines.store.catalog import open_catalog
    from pipelines.store.index_writer import IndexWriter

    catalog = open_catalog(settings)
    try:
        # By id only: `remove_source` also matches names and hash prefixes, which a URL id must not.
        source = catalog.get_source(source_id)
        if source is None:
            raise ApiError(404, f"no source with id {source_id}")
        catalog.remove_source(source_id)
        writer = IndexWriter(settings, catalog)
        writer.sync()
        writer.publish()
        shutil.rmtree(settings.media_dir / source.content_hash, ignore_errors=True)
        remove_upload(settings, Path(source.path))
    finally:
        catalog.close()
