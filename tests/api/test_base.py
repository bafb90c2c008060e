"""The API against a real base (two documents and a narrated video), the real retriever and LLM engine."""

from __future__ import annotations

import time

import httpx
import pytest
from api_base import client_for, make_settings
from test_app import fake_stream, problem, sse_events

from app.api import create_app

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def base_app(built_base):
    return create_app(built_base["settings"])


async def test_sources(base_app, built_base) -> None:
    ids = built_base["ids"]
    async with client_for(base_app) as c:
        listed = (await c.get("/v1/sources")).json()
        assert {s["name"] for s in listed} == {"lighthouse.md", "orchard.txt", "speech.mp4"}
        video = (await c.get(f"/v1/sources/{ids['speech.mp4']}")).json()
        assert video["source"]["type"] == "video" and video["source"]["media_url"] == f"/v1/media/{ids['speech.mp4']}"
        assert video["transcript"] and "ask" in " ".join(s["text"] for s in video["transcript"]).lower()
        assert video["keyframes"] and video["keyframes"][0]["url"].startswith(f"/v1/media/{ids['speech.mp4']}/keyframes/")
        doc = (await c.get(f"/v1/sources/{ids['lighthouse.md']}")).json()
        assert any("brass lens" in ch["text"] for ch in doc["chunks"]) and doc["transcript"] == []


async def test_media_range_requests(base_app, built_base) -> None:
    vid = built_base["ids"]["speech.mp4"]
    data = (built_base["data"] / "speech.mp4").read_bytes()
    size = len(data)
    async with client_for(base_app) as c:
        full = await c.get(f"/v1/media/{vid}")
        assert full.status_code == 200 and full.content == data and full.headers["accept-ranges"] == "bytes"
        assert full.headers["content-type"].startswith("video/mp4")
        part = await c.get(f"/v1/media/{vid}", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{size}" and part.headers["content-length"] == "100"
        tail = await c.get(f"/v1/media/{vid}", headers={"Range": "bytes=-50"})
        assert tail.status_code == 206 and tail.content == data[-50:]
        open_end = await c.get(f"/v1/media/{vid}", headers={"Range": f"bytes={size - 10}-"})
        assert open_end.content == data[-10:]
        bad = await c.get(f"/v1/media/{vid}", headers={"Range": f"bytes={size}-"})
        assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{size}" and problem(bad)
        head = await c.head(f"/v1/media/{vid}", headers={"Range": "bytes=0-9"})
        assert head.status_code == 206 and head.content == b"" and head.headers["content-length"] == "10"
        stale = await c.get(f"/v1/media/{vid}", headers={"Range": "bytes=0-9", "If-Range": '"other"'})
        assert stale.status_code == 200

        keyframe_url = (await c.get(f"/v1/sources/{vid}")).json()["keyframes"][0]["url"]
        jpeg = await c.get(keyframe_url)
        assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8"
        keyframe_id = keyframe_url.rsplit("/", 1)[1]
        doc = built_base["ids"]["lighthouse.md"]
        assert (await c.get(f"/v1/media/{doc}/keyframes/{keyframe_id}")).status_code == 404  # another source's id
        assert (await c.get(f"/v1/media/{vid}/keyframes/999999")).status_code == 404
        doc_file = await c.get(f"/v1/media/{doc}")
        assert doc_file.status_code == 200 and b"brass lens" in doc_file.content


async def test_media_of_cli_ingested_sources(built_base, tmp_path) -> None:
    # The same base served with no ingest roots, as `argus serve` after `argus ingest` on the command
    # line: the catalog's files are served by id wherever they lie.
    settings = make_settings(built_base["settings"].home)
    vid = built_base["ids"]["speech.mp4"]
    async with client_for(create_app(settings)) as c:
        r = await c.get(f"/v1/media/{built_base['ids']['orchard.txt']}")
        assert r.status_code == 200 and r.content == (built_base["data"] / "orchard.txt").read_bytes()
        part = await c.get(f"/v1/media/{vid}", headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == (built_base["data"] / "speech.mp4").read_bytes()[:100]


async def test_media_refuses_a_file_changed_since_ingestion(empty_settings, tmp_path) -> None:
    # A registered path now holding other bytes of the same size, or a link to another file: 409, not those bytes.
    from pipelines.ingest.jobs import ingest

    folder = tmp_path / "cli"
    folder.mkdir()
    note = folder / "note.txt"
    note.write_text("The ferry to the island leaves at nine.\n", encoding="utf-8")
    report = ingest([str(note)], progress=False, settings=empty_settings)
    sid = report.files[0].source_id
    async with client_for(create_app(make_settings(empty_settings.home))) as c:
        assert (await c.get(f"/v1/media/{sid}")).status_code == 200
        note.write_text("The ferry to the island leaves at ten.\n", encoding="utf-8")  # same size, other bytes
        changed = await c.get(f"/v1/media/{sid}")
        assert changed.status_code == 409 and b"ten" not in changed.content
        secret = tmp_path / "secret.txt"
        secret.write_text("The ferry to the island leaves at nine.\n".replace("ferry", "SECRE"), encoding="utf-8")
        note.unlink()
        note.symlink_to(secret)
        linked = await c.get(f"/v1/media/{sid}")
        assert linked.status_code == 409 and b"SECRE" not in linked.content
        note.unlink()
        assert (await c.get(f"/v1/media/{sid}")).status_code == 404


async def test_search(base_app, built_base) -> None:
    async with client_for(base_app) as c:
        r = await c.post("/v1/search", json={"query": "when is the brass lens polished", "k": 3})
        assert r.status_code == 200
        top = r.json()["results"][0]
        assert top["source"] == "lighthouse.md" and top["media_url"].startswith("/v1/media/") and top["label"]
        r = await c.post("/v1/search", json={"query": "how many quince trees", "k": 3})
        assert r.json()["results"][0]["source"] == "orchard.txt"
        r = await c.post("/v1/search", json={"query": "ask not what your country can do", "k": 3,
                                             "filters": {"types": ["video"]}})
        hit = r.json()["results"][0]
        assert hit["source"] == "speech.mp4" and hit["t0"] is not None
        r = await c.post("/v1/search", json={"query": "lens", "level": "source", "k": 2})
        assert r.status_code == 200 and r.json()["results"]
        r = await c.post("/v1/search", json={"query": "lens", "filters": {"types": ["hologram"]}})
        assert r.status_code == 422


async def test_readyz_and_metrics(base_app, llm_engine) -> None:
    async with client_for(base_app) as c:
        r = await c.get("/readyz")
        body = r.json()
        assert r.status_code == 200 and body["ready"], body
        assert set(body["checks"]) == {"catalog", "indexes", "llm_engine"}
        text = (await c.get("/metrics")).text
        assert 'route="/readyz"' in text and "argus_http_request_seconds_bucket" in text


async def test_ask(base_app, llm_engine) -> None:
    async with client_for(base_app) as c:
        r = await c.post("/v1/ask", json={"question": "What does the lamp burn?"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["answered"] and "paraffin" in body["text"].lower(), body
        assert body["citations"] and body["citations"][0]["source"] == "lighthouse.md"
        r = await c.post("/v1/ask", json={"question": "What grows in the orchard on Mill Road?", "stream": True})
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [(k, d) for k, d, _ in sse_events(r.text)]
        kinds = [k for k, _ in events]
        assert kinds[0] == "evidence" and kinds[-2:] == ["answer", "done"] and "token" in kinds
        assert set(kinds[1:-2]) == {"token"}
        streamed = "".join(d["text"] for k, d in events if k == "token")
        final = events[-2][1]
        assert "quince" in streamed.lower(), streamed
        assert final["citations"][0]["source"] == "orchard.txt"
        r = await c.post("/v1/ask", json={"question": "What colour is the submarine of the moon emperor?"})
        assert r.status_code == 200 and r.json()["answered"] is False


async def test_ingest_and_delete_through_the_api(tmp_path) -> None:
    root = tmp_path / "allowed"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "kettle.md").write_text("# Kettle\n\nThe copper kettle whistles in B flat.\n", encoding="utf-8")
    settings = make_settings(tmp_path / "home", ingest_roots=[root])
    async with client_for(create_app(settings)) as c:
        r = await c.post("/v1/ingest", files=[("files", ("violin.txt", b"The violin was built in 1721 in Cremona.",
                                                         "text/plain"))])
        assert r.status_code == 202, r.text
        upload_job = r.json()["jobs"][0]
        assert upload_job["status"] == "queued" and upload_job["path"].startswith(str(settings.uploads_dir))
        r = await c.post("/v1/ingest", json={"paths": [str(root)], "recursive": True})
        assert r.status_code == 202
        path_job = r.json()["jobs"][0]
        assert path_job["path"].endswith("kettle.md")
        seen_stages: set[str] = set()
        deadline = time.monotonic() + 240
        jobs = {}
        while time.monotonic() < deadline:
            jobs = {j: (await c.get(f"/v1/jobs/{j}")).json() for j in (upload_job["id"], path_job["id"])}
            seen_stages |= {j["stage"] for j in jobs.values()}
            if all(j["status"] in ("done", "failed", "skipped") for j in jobs.values()):
                break
            time.sleep(0.3)
        assert all(j["status"] == "done" and j["source_id"] for j in jobs.values()), jobs
        assert "done" in seen_stages
        assert len((await c.get("/v1/jobs")).json()) == 2
        hit = (await c.post("/v1/search", json={"query": "where was the violin built", "k": 1})).json()["results"][0]
        assert hit["source"] == "violin.txt"
        uploaded = (await c.get(f"/v1/media/{hit['source_id']}")).content
        assert uploaded == b"The violin was built in 1721 in Cremona."

        # Re-uploading the same content is a skipped job, not a second source.
        r = await c.post("/v1/ingest", files=[("files", ("again.txt", b"The violin was built in 1721 in Cremona.",
                                                         "text/plain"))])
        again = r.json()["jobs"][0]["id"]
        for _ in range(200):
            job = (await c.get(f"/v1/jobs/{again}")).json()
            if job["status"] not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert job["status"] == "skipped" and "already ingested" in job["error"]

        # The batch that ran the skipped job may still hold the writer lock for a moment: the API
        # answers 409 with Retry-After then, and a client tries again.
        for _ in range(50):
            deleted = await c.delete(f"/v1/sources/{hit['source_id']}")
            if deleted.status_code != 409:
                break
            assert deleted.headers["retry-after"]
            time.sleep(0.2)
        assert deleted.status_code == 204, deleted.text
        assert (await c.get(f"/v1/sources/{hit['source_id']}")).status_code == 404
        results = (await c.post("/v1/search", json={"query": "violin Cremona", "k": 3})).json()["results"]
        assert all(r["source"] != "violin.txt" for r in results)


def test_openai_client(base_app, llm_engine, live_server) -> None:
    from openai import NotFoundError, OpenAI

    server = live_server(base_app)
    client = OpenAI(base_url=f"{server.url}/v1", api_key="unused-on-loopback", max_retries=0, timeout=300)
    assert "argus-rag" in [m.id for m in client.models.list().data]
    reply = client.chat.completions.create(
        model="argus-rag", messages=[{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "What does the lamp burn?"}])
    text = reply.choices[0].message.content
    assert "paraffin" in text.lower() and "Sources:\n[1] lighthouse.md" in text, text
    assert reply.model_extra["citations"][0]["source"] == "lighthouse.md"
    # The engine's token counts: a prompt holding the evidence (hundreds of tokens) and the answer's tokens.
    usage = reply.usage
    assert usage.prompt_tokens > 100 and 0 < usage.completion_tokens <= 512
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    stream = client.chat.completions.create(
        model="argus-rag", stream=True,
        messages=[{"role": "user", "content": "What grows in the orchard on Mill Road?"}])
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert "quince" in content.lower() and "orchard.txt" in content, content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"][0]["source"] == "orchard.txt"
    streamed = chunks[-1].usage
    assert streamed.prompt_tokens > 100 and streamed.completion_tokens > 0
    assert streamed.total_tokens == streamed.prompt_tokens + streamed.completion_tokens
    with pytest.raises(NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_openai_client_agents_model(built_base, live_server) -> None:
    from openai import OpenAI

    app = create_app(built_base["settings"])
    app.state.argus.agent_stream = fake_stream  # the real team is exercised in tests/agents
    server = live_server(app)
    client = OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    reply = client.chat.completions.create(model="argus-agents", messages=[{"role": "user", "content": "lens?"}])
    assert reply.choices[0].message.content == "Tuesday [1]"
    chunks = list(client.chat.completions.create(model="argus-agents", stream=True,
                                                 messages=[{"role": "user", "content": "lens?"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Tuesday [1]"


def test_slow_sse_client_and_reconnect(built_base, live_server) -> None:
    """A client that reads one event and goes away does not hurt the run; it resumes with Last-Event-ID."""
    app = create_app(built_base["settings"])
    app.state.argus.agent_stream = fake_stream
    server = live_server(app)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        run_id = c.post("/v1/agent/runs", json={"question": "lens?"}).json()["run_id"]
        with c.stream("GET", f"/v1/agent/runs/{run_id}/events") as r:
            assert r.status_code == 200
            first = next(r.iter_lines())  # read a little, then drop the connection
            assert first
        for _ in range(100):
            if c.get(f"/v1/agent/runs/{run_id}").json()["status"] != "running":
                break
            time.sleep(0.1)
        assert c.get(f"/v1/agent/runs/{run_id}").json()["status"] == "finished"
        r = c.get(f"/v1/agent/runs/{run_id}/events", headers={"Last-Event-ID": "0"})
        events = sse_events(r.text)
        assert [k for k, _, _ in events][-1] == "report" and events[0][2] == "1"
        assert c.get("/healthz").status_code == 200
        assert events[-1][1]["data"]["result"]["report"] == "Tuesday [1]"


async def test_legal_endpoint_without_a_trained_model(empty_settings) -> None:
    async with client_for(create_app(empty_settings)) as c:
        r = await c.post("/v1/legal/predict", json={"fact": "被告人张某于2017年5月在某超市盗窃手机一部，价值人民币2000元。"})
        assert r.status_code == 503, r.text
        assert "argus legal train" in problem(r)["detail"] and str(empty_settings.home) not in r.text
