"""Signed media links: a browser's <video> streams a source by range requests straight from the
API, with no key, for a limited time; a changed or expired link is refused."""

from __future__ import annotations

import time

import pytest
from api_base import client_for

from app.api import create_app
from app.api.security import KeyStore

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_signed_link_streams_by_range_without_a_key(built_base, tmp_path) -> None:
    settings = built_base["settings"].model_copy(update={"api_keys_file": tmp_path / "keys.json"})
    _, key = KeyStore(settings.api_keys_path).create("ui", ["read"])
    video_id = built_base["ids"]["speech.mp4"]
    async with client_for(create_app(settings), headers={"authorization": f"Bearer {key}"}) as c:
        assert (await c.get(f"/v1/media/{video_id}/link", headers={"authorization": ""})).status_code == 401
        link = (await c.get(f"/v1/media/{video_id}/link")).json()
        assert link["expires"] > time.time() + 3600
        size = (built_base["data"] / "speech.mp4").stat().st_size
        async with client_for(c._transport.app) as browser:  # no key, as a <video> tag
            r = await browser.get(link["url"], headers={"range": "bytes=100-199"})
            assert r.status_code == 206 and len(r.content) == 100
            assert r.headers["content-range"] == f"bytes 100-199/{size}"
            assert (await browser.get(f"/v1/media/{video_id}")).status_code == 401
            tampered = link["url"].replace(f"/v1/media/{video_id}?", f"/v1/media/{built_base['ids']['orchard.txt']}?")
            assert (await browser.get(tampered)).status_code == 403
            expired = link["url"].replace(str(link["expires"]), str(int(time.time()) - 1))
            assert (await browser.get(expired)).status_code == 403
        assert (await c.get("/v1/media/999999/link")).status_code == 404
