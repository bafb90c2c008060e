"""The app on an empty base: schema, errors, auth, limits, confinement, agent runs (with a stand-in graph)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from api_base import client_for, make_settings

from app.api import create_app
from app.api.security import KeyStore
from core.types import AgentEvent

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def problem(response) -> dict:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert body["status"] == response.status_code and body["title"]
    return body


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


async def test_health_and_openapi(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        schema = (await c.get("/openapi.json")).json()
        paths = set(schema["paths"])
        for path in ("/v1/ingest", "/v1/jobs/{job_id}", "/v1/sources", "/v1/sources/{source_id}", "/v1/search",
                     "/v1/ask", "/v1/media/{source_id}", "/v1/media/{source_id}/keyframes/{keyframe_id}",
                     "/v1/chat/completions", "/v1/models", "/healthz", "/readyz", "/metrics",
                     "/v1/agent/runs", "/v1/agent/runs/{run_id}/events", "/v1/agent/runs/{run_id}/plan",
                     "/v1/agent/runs/{run_id}"):
            assert path in paths, path
        assert "Problem" in schema["components"]["schemas"]
        ingest_body = schema["paths"]["/v1/ingest"]["post"]["requestBody"]["content"]
        assert {"application/json", "multipart/form-data"} <= set(ingest_body)
        metrics = await c.get("/metrics")
        assert metrics.status_code == 200 and "argus_http_requests_total" in metrics.text


async def test_bad_input_is_problem_json(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        r = await c.post("/v1/search", content=b'{"query": ', headers={"content-type": "application/json"})
        assert r.status_code == 400 and "not valid JSON" in problem(r)["detail"]
        r = await c.post("/v1/search", json={})
        assert r.status_code == 422 and problem(r)["errors"][0]["loc"][-1] == "query"
        r = await c.post("/v1/search", json={"query": "x", "k": "many"})
        assert r.status_code == 422
        r = await c.post("/v1/search", json={"query": "secret-token-123", "k": 0})
        assert r.status_code == 422 and "secret-token-123" not in r.text  # inputs are not echoed
        r = await c.post("/v1/search", json={"query": "\x00\x01"})
        assert r.status_code == 400 and problem(r)["detail"] == "the query is empty"
        assert problem(await c.get("/v1/nowhere"))["status"] == 404
        assert (await c.get("/v1/sources/999")).status_code == 404
        assert (await c.get("/v1/sources/abc")).status_code == 422
        assert (await c.get("/v1/jobs/999")).status_code == 404
        assert (await c.get("/v1/media/999")).status_code == 404
        assert (await c.delete("/v1/sources/999")).status_code == 404
        assert (await c.get("/v1/agent/runs/unknown")).status_code == 404
        assert (await c.get("/v1/agent/runs/unknown/events")).status_code == 404
        assert (await c.post("/v1/agent/runs/unknown/plan", json={"action": "accept"})).status_code == 404
        r = await c.post("/v1/chat/completions", json={"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 404 and "argus-rag" in problem(r)["detail"]
        r = await c.post("/v1/chat/completions", json={"model": "argus-rag", "messages": []})
        assert r.status_code == 422


async def test_body_size_limits(tmp_path) -> None:
    settings = make_settings(tmp_path / "home", api_max_request_kb=1, api_max_upload_mb=1)
    async with client_for(create_app(settings)) as c:
        r = await c.post("/v1/search", json={"query": "x" * 2000})
        assert r.status_code == 413 and problem(r)

        async def chunked():  # no Content-Length: the running count must stop it
            for _ in range(10):
                yield b"x" * 512

        r = await c.post("/v1/search", content=chunked(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        big = b"0" * (1024 * 1024 + 10)
        r = await c.post("/v1/ingest", files={"files": ("big.txt", big, "text/plain")})
        assert r.status_code == 413

        async def chunked_upload():
            yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n\r\n"
            for _ in range(40):
                yield b"y" * 65536
            yield b"\r\n--b--\r\n"

        r = await c.post("/v1/ingest", content=chunked_upload(),
                         headers={"content-type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413
    assert files_under(settings.uploads_dir) == []
    assert not settings.catalog_path.exists() or not _jobs(settings)


def _jobs(settings) -> list:
    from pipelines.store.catalog import open_catalog

    catalog = open_catalog(settings)
    try:
        return catalog.list_jobs()
    finally:
        catalog.close()


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/cron.d/evil.txt", "..%2Fx.txt/../y.txt", ".hidden.txt",
                                  "sub/dir.txt"])
async def test_upload_names_are_confined(empty_settings, tmp_path, name) -> None:
    async with client_for(create_app(empty_settings)) as c:
        r = await c.post("/v1/ingest", files={"files": (name, b"hello", "text/plain")})
        assert r.status_code == 400, r.text
        assert "unsafe upload file name" in problem(r)["detail"]
    assert files_under(empty_settings.uploads_dir) == []
    assert not (tmp_path / "escape.txt").exists()
    assert _jobs(empty_settings) == []


async def test_server_paths_are_confined(empty_settings, tmp_path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("# secret\n")
    (empty_settings.ingest_roots[0] / "link.md").symlink_to(outside)
    async with client_for(create_app(empty_settings)) as c:
        for path in (str(outside), str(empty_settings.ingest_roots[0] / ".." / "outside.md"), "/etc/passwd",
                     str(empty_settings.ingest_roots[0] / "link.md"), str(empty_settings.home)):
            r = await c.post("/v1/ingest", json={"paths": [path]})
            assert r.status_code == 403, (path, r.text)
            assert "outside the allowed ingest folders" in problem(r)["detail"]
        r = await c.post("/v1/ingest", json={"paths": "not-a-list"})
        assert r.status_code == 422
        r = await c.post("/v1/ingest", json={"paths": ["x"], "evil": 1})
        assert r.status_code == 422
        r = await c.post("/v1/ingest", content=b"paths=x", headers={"content-type": "text/plain"})
        assert r.status_code == 415
    assert _jobs(empty_settings) == []


async def test_open_api_is_loopback_only(empty_settings) -> None:
    async with client_for(create_app(empty_settings), host="203.0.113.9") as c:
        r = await c.get("/v1/sources")
        assert r.status_code == 401 and "loopback" in problem(r)["detail"]
        assert (await c.get("/healthz")).status_code == 200


async def test_api_keys_scopes_revocation(empty_settings) -> None:
    store = KeyStore(empty_settings.api_keys_path)
    reader, read_key = store.create("reader", ["read"])
    _, admin_key = store.create("admin", ["admin"])
    app = create_app(empty_settings)
    async with client_for(app, host="203.0.113.9") as c:
        assert (await c.get("/v1/sources")).status_code == 401
        assert (await c.get("/v1/sources", headers={"Authorization": "Basic abc"})).status_code == 401
        r = await c.get("/v1/sources", headers={"Authorization": f"Bearer {read_key}x"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert (await c.get("/v1/sources", headers={"Authorization": f"Bearer {read_key}"})).status_code == 200
        r = await c.delete("/v1/sources/1", headers={"Authorization": f"Bearer {read_key}"})
        assert r.status_code == 403 and "admin" in problem(r)["detail"]
        r = await c.post("/v1/ingest", json={"paths": ["/x"]}, headers={"Authorization": f"Bearer {read_key}"})
        assert r.status_code == 403
        assert (await c.delete("/v1/sources/1", headers={"Authorization": f"Bearer {admin_key}"})).status_code == 404
        store.revoke(reader.id)  # takes effect on the running app
        r = await c.get("/v1/sources", headers={"Authorization": f"Bearer {read_key}"})
        assert r.status_code == 401 and "revoked" in problem(r)["detail"]
    # Keys apply to loopback clients too, once configured.
    async with client_for(app) as c:
        assert (await c.get("/v1/sources")).status_code == 401


async def test_rate_limit(tmp_path) -> None:
    settings = make_settings(tmp_path / "home", api_rate_limit_per_min=6, api_rate_burst=3)
    _, key = KeyStore(settings.api_keys_path).create("busy", ["read"])
    _, other = KeyStore(settings.api_keys_path).create("quiet", ["read"])
    async with client_for(create_app(settings)) as c:
        codes = [(await c.get("/v1/sources", headers={"Authorization": f"Bearer {key}"})).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = await c.get("/v1/sources", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 10 and problem(r)
        assert (await c.get("/v1/sources", headers={"Authorization": f"Bearer {other}"})).status_code == 200
        assert 'argus_rate_limited_total 2.0' in (await c.get("/metrics", headers={
            "Authorization": f"Bearer {other}"})).text


async def test_cors(tmp_path) -> None:
    settings = make_settings(tmp_path / "home", api_cors_origins=["https://ui.example"])
    async with client_for(create_app(settings)) as c:
        r = await c.options("/v1/search", headers={"Origin": "https://ui.example",
                                                   "Access-Control-Request-Method": "POST"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://ui.example"
        r = await c.options("/v1/search", headers={"Origin": "https://evil.example",
                                                   "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in r.headers
    async with client_for(create_app(make_settings(tmp_path / "h2"))) as c:
        r = await c.get("/healthz", headers={"Origin": "https://ui.example"})
        assert "access-control-allow-origin" not in r.headers


def fake_stream(question=None, *, thread_id=None, review=None, resume=None, settings=None):
    """A stand-in for agents.run.stream_events with the real event shapes and order."""
    def ev(kind, node=None, **data):
        return AgentEvent(kind=kind, thread_id=thread_id, node=node, data=data)

    yield ev("run_start", question=question, resumed=resume is not None)
    if resume is None:
        yield ev("node_start", "planner")
        plan = {"steps": [{"agent": "researcher", "goal": "find the lens care", "expected_output": "the day"}]}
        yield ev("plan", "planner", plan=plan)
        yield ev("node_end", "planner")
        if review:
            yield ev("interrupt", "human_review", result={"thread_id": thread_id, "question": question,
                                                          "status": "interrupted", "plan": plan})
            return
    yield ev("node_start", "researcher")
    yield ev("tool_call", "researcher", tool="search_knowledge_base", args={"query": "lens"})
    time.sleep(0.2)
    yield ev("tool_result", "researcher", tool="search_knowledge_base", result="1 hit")
    yield ev("token", "reporter", text="Tuesday")
    yield ev("report", "reporter", result={"thread_id": thread_id, "question": question or "q",
                                           "status": "answered", "report": "Tuesday [1]"})


def sse_events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
    return out


async def test_agent_runs_with_plan_review(empty_settings) -> None:
    app = create_app(empty_settings)
    app.state.argus.agent_stream = fake_stream
    async with client_for(app) as c:
        r = await c.post("/v1/agent/runs", json={"question": "When is the lens polished?", "review": True})
        assert r.status_code == 202
        run_id = r.json()["run_id"]
        r = await c.get(f"/v1/agent/runs/{run_id}/events")
        assert r.headers["content-type"].startswith("text/event-stream")
        kinds = [k for k, _, _ in sse_events(r.text)]
        assert kinds == ["run_start", "node_start", "plan", "node_end", "interrupt"]
        state = (await c.get(f"/v1/agent/runs/{run_id}")).json()
        assert state["status"] == "interrupted" and state["result"]["plan"]["steps"]
        r = await c.post(f"/v1/agent/runs/{run_id}/plan", json={"action": "edit"})
        assert r.status_code == 422
        r = await c.post(f"/v1/agent/runs/{run_id}/plan", json={"action": "merge"})
        assert r.status_code == 422
        r = await c.post(f"/v1/agent/runs/{run_id}/plan", json={"action": "accept"})
        assert r.status_code == 202
        # Resume from the last seen event: only the new ones arrive, in order.
        r = await c.get(f"/v1/agent/runs/{run_id}/events", headers={"Last-Event-ID": "4"})
        events = sse_events(r.text)
        assert [k for k, _, _ in events] == ["run_start", "node_start", "tool_call", "tool_result", "token", "report"]
        assert [int(i) for _, _, i in events] == list(range(5, 11))
        state = (await c.get(f"/v1/agent/runs/{run_id}")).json()
        assert state["status"] == "finished" and state["result"]["report"] == "Tuesday [1]"
        r = await c.post(f"/v1/agent/runs/{run_id}/plan", json={"action": "accept"})
        assert r.status_code == 409


async def test_agent_run_failure_is_an_event(empty_settings) -> None:
    def broken(question=None, **kw):
        yield AgentEvent(kind="run_start", thread_id=kw["thread_id"])
        raise RuntimeError("/secret/path exploded")

    app = create_app(empty_settings)
    app.state.argus.agent_stream = broken
    async with client_for(app) as c:
        run_id = (await c.post("/v1/agent/runs", json={"question": "q"})).json()["run_id"]
        r = await c.get(f"/v1/agent/runs/{run_id}/events")
        assert [k for k, _, _ in sse_events(r.text)] == ["run_start", "error"]
        assert "/secret/path" not in r.text
        assert "RuntimeError: <path> exploded" in r.text  # the reason surfaces, the server's paths do not
        assert (await c.get(f"/v1/agent/runs/{run_id}")).json()["status"] == "failed"


async def test_legal_endpoint_validation(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        assert (await c.post("/v1/legal/predict", json={"fact": "x"})).status_code == 422
        assert (await c.post("/v1/legal/predict", json={})).status_code == 422

