"""The LLM engine killed mid-answer (bench/dying_engine.py: a real process on loopback that streams a few
tokens inside a chunked body and SIGKILLs itself): the client gets a clear error, the API goes on."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_base import client_for, free_port

from app.api import create_app

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

DYING_ENGINE = Path(__file__).resolve().parents[2] / "bench" / "dying_engine.py"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def start_engine(port: int, model: str) -> subprocess.Popen:
    engine = subprocess.Popen([sys.executable, str(DYING_ENGINE), str(port), model])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return engine
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the stand-in engine did not start")


async def test_engine_killed_mid_answer(tmp_path: Path) -> None:
    from core.settings import Settings
    from pipelines.ingest.jobs import ingest

    port = free_port()
    settings = Settings(home=tmp_path / "home", llm_base_url=f"http://127.0.0.1:{port}/v1")
    (tmp_path / "harbour.md").write_text("# Harbour\n\nThe harbour crane lifts containers at dawn.\n")
    assert ingest([str(tmp_path / "harbour.md")], progress=False, settings=settings).ok
    question = {"question": "What does the harbour crane lift?"}
    async with client_for(create_app(settings)) as c:
        engine = start_engine(port, settings.llm_model)
        r = await c.post("/v1/ask", json=question)
        assert r.status_code == 502 and r.headers["retry-after"] == "30"
        assert "the LLM engine failed while answering" in r.json()["detail"]
        assert engine.wait(timeout=30) == -9  # it did die mid-answer

        engine = start_engine(port, settings.llm_model)
        r = await c.post("/v1/ask", json={**question, "stream": True})
        assert r.status_code == 200 and "event: token" in r.text
        assert "event: error" in r.text and "the LLM failed" in r.text and "event: answer" not in r.text
        assert engine.wait(timeout=30) == -9

        assert (await c.get("/healthz")).status_code == 200
        r = await c.post("/v1/search", json={"query": "harbour crane"})
        assert r.status_code == 200 and r.json()["results"][0]["source"] == "harbour.md"
