"""Regression cases of the fault campaign (bench/fault_campaign.py) that are cheap: hostile request
bodies, URLs and upload names each get a 4xx problem, never a 5xx, and the server keeps serving."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from api_base import client_for

from app.api import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from fault_inputs import raw_multipart, request_cases  # noqa: E402

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_hostile_requests_get_4xx_and_the_server_goes_on(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        for case in request_cases():
            r = await c.request(case.method, case.url, content=case.body,
                                headers={"content-type": "application/json", **(case.headers or {})})
            assert r.status_code < 500, (case.kind, r.status_code, r.text[:200])
            assert (await c.get("/healthz")).status_code == 200


@pytest.mark.parametrize("name", [b"../../escape.md", b"nul\x00.md", b"two\nlines.md", b"tab\tname.md",
                                  b"a" * 296 + b".md", b".hidden.md", b"..\\..\\win.md"])
async def test_hostile_upload_names_are_refused_and_nothing_is_written(empty_settings, name: bytes) -> None:
    async with client_for(create_app(empty_settings)) as c:
        body, ctype = raw_multipart(name)
        r = await c.post("/v1/ingest", content=body, headers={"content-type": ctype})
        assert r.status_code == 400, r.text
    uploads = empty_settings.uploads_dir
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
