"""The Status page's data: `argus doctor` and base statistics.

    GET /v1/status   admin scope: the doctor report names server paths (model files, ARGUS_HOME)
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from app.api.security import require

router = APIRouter(prefix="/v1", tags=["health"])


class BaseStats(BaseModel):
    sources: int
    by_type: dict[str, int] = Field(examples=[{"video": 3, "document": 2}])
    rows: dict[str, int] = Field(description="Rows of each kind in the catalog.",
                                 examples=[{"segment": 120, "keyframe": 40, "chunk": 18, "caption": 0}])
    duration_s: float = Field(description="Total duration of the media sources.")
    index_version: str | None = None
    jobs: dict[str, int] = Field(description="Jobs by status.", examples=[{"done": 5, "failed": 1}])


class StatusOut(BaseModel):
    doctor: dict[str, Any] = Field(description="`argus doctor --json`: models, engines, system tools.")
    stats: BaseStats


def base_stats(settings) -> BaseStats:
    from pipelines.store.catalog import open_catalog
    from pipelines.store.indexes import current_version

    catalog = open_catalog(settings)
    try:
        sources = catalog.list_sources()
        by_type: dict[str, int] = {}
        rows: dict[str, int] = {}
        for s in sources:
            by_type[s.type] = by_type.get(s.type, 0) + 1
            for kind, n in catalog.counts(s.id).items():
                rows[kind] = rows.get(kind, 0) + n
        jobs: dict[str, int] = {}
        for job in catalog.list_jobs():
            jobs[job.status] = jobs.get(job.status, 0) + 1
    finally:
        catalog.close()
    return BaseStats(sources=len(sources), by_type=by_type, rows=rows,
                     duration_s=round(sum(s.duration_s or 0 for s in sources), 1),
                     index_version=current_version(settings), jobs=jobs)


@router.get("/status", response_model=StatusOut, summary="Models and engines (real or absent) and base statistics",
            dependencies=[Depends(require("admin"))])
async def status(request: Request) -> StatusOut:
    from app.doctor import doctor_report

    settings = request.app.state.argus.settings
    doctor = await anyio.to_thread.run_sync(lambda: doctor_report(settings, wait=False))
    return StatusOut(doctor=doctor, stats=await anyio.to_thread.run_sync(base_stats, settings))
