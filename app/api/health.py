"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from app.api.security import require

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check] = Field(examples=[{"catalog": {"ok": True, "detail": "3 sources"}}])


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health()


@router.get("/readyz", response_model=Readiness, summary="Catalog, indexes and LLM engine are usable",
            responses={503: {"model": Readiness, "description": "Not ready"}})
def readyz(request: Request) -> JSONResponse:
    settings = request.app.state.argus.settings
    checks: dict[str, Check] = {}
    try:
        from pipelines.store.catalog import open_catalog

        catalog = open_catalog(settings)
        try:
            checks["catalog"] = Check(ok=True, detail=f"{len(catalog.source_ids())} sources")
        finally:
            catalog.close()
    except Exception as exc:  # noqa: BLE001 — a readiness probe reports, it does not raise
        checks["catalog"] = Check(ok=False, detail=type(exc).__name__)
    try:
        from pipelines.store.indexes import current_version

        version = current_version(settings)
        empty = checks["catalog"].ok and checks["catalog"].detail.startswith("0 ")
        checks["indexes"] = Check(ok=version is not None or empty, detail=f"version {version}" if version else
                                  "no index published yet")
    except Exception as exc:  # noqa: BLE001
        checks["indexes"] = Check(ok=False, detail=type(exc).__name__)
    try:
        from models.llm.server import local_root, probe

        root = settings.llm_base_url or local_root(settings)
        served = probe(root, settings.llm_api_key, vllm_health=not settings.llm_base_url) or []
        up = any(m.get("id") == settings.llm_model for m in served)
        checks["llm_engine"] = Check(ok=up, detail=settings.llm_model if up else
                                     "not serving (it starts on the first question; `argus engine start`)")
    except Exception as exc:  # noqa: BLE001
        checks["llm_engine"] = Check(ok=False, detail=type(exc).__name__)
    body = Readiness(ready=all(c.ok for c in checks.values()), checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            dependencies=[Depends(require("read"))])
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.argus.metrics.registry), media_type=CONTENT_TYPE_LATEST)
