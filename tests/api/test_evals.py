"""GET /v1/eval/agents/runs[/{id}]: past agent evaluations, read-only, ids confined to the runs folder."""

from __future__ import annotations

import json
import os

import pytest
from api_base import client_for, make_settings

from app.api import create_app
from app.api.security import KeyStore

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def write_run(root, run_id: str, created: str, pass_rate: float) -> dict:
    report = {"created": created, "summary": {"pass_rate": pass_rate, "tokens": 10}, "by_category": {}, "tasks": []}
    (root / run_id).mkdir(parents=True)
    (root / run_id / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return report


@pytest.fixture
def settings(tmp_path):
    settings = make_settings(tmp_path / "home")
    root = settings.home / "eval" / "agents"
    write_run(root, "20260101T000000Z", "2026-01-01T00:00:00+00:00", 0.5)
    write_run(root, "20260102T000000Z", "2026-01-02T00:00:00+00:00", 0.7)
    (root / "20260103T000000Z").mkdir()  # still running: no report yet
    (root / "broken").mkdir()
    (root / "broken" / "report.json").write_text("{not json")
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "report.json").write_text(json.dumps({"summary": {"secret": 1}}))
    os.symlink(secret, root / "escape")
    return settings


async def test_list_newest_first_and_get_one(settings) -> None:
    async with client_for(create_app(settings)) as c:
        r = await c.get("/v1/eval/agents/runs")
        assert r.status_code == 200
        runs = r.json()
        assert [run["id"] for run in runs][:2] == ["20260102T000000Z", "20260101T000000Z"]
        assert set(runs[0]) == {"id", "created", "summary"} and runs[0]["summary"]["pass_rate"] == 0.7
        assert "20260103T000000Z" not in {run["id"] for run in runs} and "broken" not in {run["id"] for run in runs}
        r = await c.get("/v1/eval/agents/runs/20260101T000000Z")
        assert r.status_code == 200 and r.json()["summary"]["pass_rate"] == 0.5


async def test_unknown_and_escaping_ids_are_404_problems(settings) -> None:
    async with client_for(create_app(settings)) as c:
        for run_id in ("nope", "20260103T000000Z", "..", "%2e%2e", "..%2f..%2fetc", "escape", ".hidden"):
            r = await c.get(f"/v1/eval/agents/runs/{run_id}")
            assert r.status_code == 404, run_id
            assert r.headers["content-type"].startswith("application/problem+json")
        assert (await c.get("/v1/eval/agents/runs/broken")).status_code == 500


async def test_empty_home_lists_nothing_and_needs_the_read_scope(tmp_path) -> None:
    settings = make_settings(tmp_path / "home")
    async with client_for(create_app(settings)) as c:
        r = await c.get("/v1/eval/agents/runs")
        assert r.status_code == 200 and r.json() == []
    store = KeyStore(settings.api_keys_path)
    _, key = store.create("reader", ["read"])
    async with client_for(create_app(settings)) as c:
        assert (await c.get("/v1/eval/agents/runs")).status_code == 401
        r = await c.get("/v1/eval/agents/runs", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
