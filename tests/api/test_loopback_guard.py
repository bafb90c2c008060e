"""Loopback is not a credential: with no API keys, a web page the user visits must not reach the API
(DNS rebinding through a foreign Host; cross-site form posts through a foreign Origin or Referer)."""

from __future__ import annotations

import httpx
import pytest
from api_base import client_for

from app.api import create_app
from app.api.security import KeyStore, host_name, origin_of

pytestmark = [pytest.mark.unit, pytest.mark.anyio]

ATTACKER = "http://attacker.example"
FORM = {"files": ("note.md", b"# pwned\n\nplanted by a web page\n", "text/markdown")}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_host_and_origin_parsing() -> None:
    assert host_name("[::1]:8080") == "::1" and host_name("LocalHost.:80") == "localhost"
    assert host_name("127.0.0.1") == "127.0.0.1" and host_name("attacker.example:8080") == "attacker.example"
    assert origin_of("http://127.0.0.1:8501/chat?x=1") == "http://127.0.0.1:8501" and origin_of("null") == "null"


async def test_foreign_host_is_refused_and_loopback_names_work(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        r = await c.get("/v1/sources", headers={"host": "attacker.example"})
        assert r.status_code == 403 and "attacker.example" in r.json()["detail"]
        for host in ("127.0.0.1:8080", "localhost", "localhost:9", "[::1]:8080", "127.0.0.2"):
            assert (await c.get("/v1/sources", headers={"host": host})).status_code == 200, host
        assert (await c.get("/healthz", headers={"host": "rebound.attacker.example"})).status_code == 403


async def test_cross_site_upload_is_refused_and_nothing_is_stored(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        r = await c.post("/v1/ingest", files=FORM, headers={"origin": ATTACKER})
        assert r.status_code == 403 and "attacker.example" in r.json()["detail"]
        r = await c.post("/v1/ingest", files=FORM, headers={"referer": ATTACKER + "/page.html"})
        assert r.status_code == 403
        r = await c.post("/v1/ingest", files=FORM, headers={"origin": "null"})  # a sandboxed frame or file://
        assert r.status_code == 403
        r = await c.request("DELETE", "/v1/sources/1", headers={"origin": ATTACKER})
        assert r.status_code == 403
        assert (await c.get("/v1/jobs")).json() == []
    uploads = empty_settings.uploads_dir
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


async def test_the_uis_own_requests_and_plain_clients_still_work(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        for origin in ("http://127.0.0.1:8501", "http://localhost:8501", "http://127.0.0.1:8080"):
            r = await c.request("DELETE", "/v1/sources/424242", headers={"origin": origin})
            assert r.status_code == 404, (origin, r.text)  # through the guard, to the route
        # Reading is not state-changing: a foreign Origin on a loopback Host may GET (CORS keeps the
        # answer from the page's script).
        assert (await c.get("/v1/sources", headers={"origin": ATTACKER})).status_code == 200
        r = await c.request("DELETE", "/v1/sources/424242")  # curl, the CLI, the UI's server side
        assert r.status_code == 404


async def test_allowed_hosts_and_origins_from_settings(empty_settings) -> None:
    settings = empty_settings.model_copy(update={"api_allowed_hosts": ["argus.lan"],
                                                  "api_allowed_origins": ["https://argus.lan"]})
    async with client_for(create_app(settings)) as c:
        assert (await c.get("/v1/sources", headers={"host": "argus.lan:8080"})).status_code == 200
        r = await c.request("DELETE", "/v1/sources/424242", headers={"host": "argus.lan", "origin": "https://argus.lan"})
        assert r.status_code == 404
        r = await c.request("DELETE", "/v1/sources/424242", headers={"origin": "http://127.0.0.1:8501"})
        assert r.status_code == 403  # the explicit list replaces the loopback defaults


async def test_with_keys_the_key_is_the_credential(empty_settings) -> None:
    _, key = KeyStore(empty_settings.api_keys_path).create("proxy", ["admin"])
    async with client_for(create_app(empty_settings), host="10.0.0.5") as c:
        r = await c.get("/v1/sources", headers={"host": "argus.example.org", "authorization": f"Bearer {key}"})
        assert r.status_code == 200
        assert (await c.get("/v1/sources", headers={"host": "argus.example.org"})).status_code == 401


def test_a_real_server_refuses_a_rebound_host(empty_settings, live_server) -> None:
    server = live_server(create_app(empty_settings))
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/v1/sources").status_code == 200
        assert c.get("/v1/sources", headers={"host": "attacker.example"}).status_code == 403
        r = c.post("/v1/ingest", files=FORM, headers={"origin": ATTACKER})
        assert r.status_code == 403
