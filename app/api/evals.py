"""Past agent evaluations, read-only (written by `argus eval agents` under ARGUS_HOME/eval/agents/).

    GET /v1/eval/agents/runs        [{"id", "created", "summary"}], newest first
    GET /v1/eval/agents/runs/{id}   the run's report.json

A run is a folder under ARGUS_HOME/eval/agents/ that holds a report.json; its folder name is its id.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from agents.evaluation.report import REPORT_JSON, runs_dir
from app.api.paths import PathRefused, confine
from app.api.problems import ApiError
from app.api.security import require

router = APIRouter(prefix="/v1/eval/agents/runs", tags=["evaluation"])

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class EvalRun(BaseModel):
    id: str = Field(examples=["20260101T120000Z"])
    created: str = Field(description="ISO 8601 time the report was written.", examples=["2026-01-01T12:30:00+00:00"])
    summary: dict[str, Any] = Field(description="pass_rate, fact_recall, citation_validity, citation_precision, "
                                    "refusal_accuracy, routing_accuracy, p50_s, p95_s, tokens, ...")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _created(report: dict[str, Any], path: Path) -> str:
    created = report.get("created")
    if isinstance(created, str):
        return created
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def _report_path(root: Path, run_id: str) -> Path | None:
    """The run's report.json, if the id is a plain folder name and the file lies inside the runs folder."""
    if not RUN_ID.match(run_id) or ".." in run_id:
        return None
    try:
        path = confine(root / run_id / REPORT_JSON, [root])  # a symlinked folder must not lead outside
    except PathRefused:
        return None
    return path if path.is_file() else None


@router.get("", response_model=list[EvalRun], summary="Past agent evaluation runs, newest first",
            dependencies=[Depends(require("read"))])
def list_runs(request: Request) -> list[EvalRun]:
    root = runs_dir(request.app.state.argus.settings).resolve()
    runs = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        path = _report_path(root, folder.name)
        report = _read(path) if path is not None else None
        if report is not None:
            runs.append(EvalRun(id=folder.name, created=_created(report, path), summary=report.get("summary") or {}))
    return sorted(runs, key=lambda r: (r.created, r.id), reverse=True)


@router.get("/{run_id}", summary="One evaluation run's report (summary, by_category, tasks with traces)",
            dependencies=[Depends(require("read"))])
def get_run(request: Request, run_id: str) -> dict[str, Any]:
    path = _report_path(runs_dir(request.app.state.argus.settings).resolve(), run_id)
    if path is None:
        raise ApiError(404, f"no evaluation run {run_id!r}")
    report = _read(path)
    if report is None:
        raise ApiError(500, f"the report of evaluation run {run_id!r} is unreadable")
    return report
