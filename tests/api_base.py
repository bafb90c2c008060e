"""The small real knowledge base the API and UI tests run against (two documents and a short
narrated video whose speech starts after a few silent seconds), and a uvicorn server in a thread
to serve an app on it.

`built_base` is registered in tests/conftest.py, so every folder shares one session-wide base.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MARKDOWN_FACT = "The Argus lighthouse keeper polishes the brass lens every Tuesday at dawn."
TEXT_FACT = "The orchard on Mill Road grows exactly forty-two quince trees beside the river."
# speech.mp4: SPEECH_AT_S seconds of silence, then SPEECH_S seconds of narration. The silent lead puts
# the transcript (and so a cited moment) well inside the video, so a player seek is visible.
SPEECH_AT_S = 3.0
SPEECH_S = 11.0


def write_documents(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "lighthouse.md"
    md.write_text("# Lighthouse Manual\n\n## Lens care\n\n" + MARKDOWN_FACT +
                  " Use a soft chamois cloth and never use abrasive paste.\n\n"
                  "## Fuel\n\nThe lamp burns paraffin oil, stored in the north shed.\n", encoding="utf-8")
    txt = folder / "orchard.txt"
    txt.write_text("Orchard notes.\n\n" + TEXT_FACT + " The quince harvest starts in late October "
                   "and the fruit is stored in straw-lined crates.\n", encoding="utf-8")
    return [md, txt]


def write_video(folder: Path, shared_data: Path, seconds: float = SPEECH_S, silent_lead_s: float = SPEECH_AT_S) -> Path:
    """speech.mp4: `silent_lead_s` seconds of silence, then `seconds` of a real recording."""
    if str(TESTS / "ingest") not in sys.path:
        sys.path.insert(0, str(TESTS / "ingest"))
    import numpy as np
    from media_files import SAMPLE_RATE, speech, write_media

    folder.mkdir(parents=True, exist_ok=True)
    audio = np.concatenate([np.zeros(int(silent_lead_s * SAMPLE_RATE), dtype=np.float32),
                            speech(shared_data)[: int(seconds * SAMPLE_RATE)]])
    return write_media(folder / "speech.mp4", seconds=silent_lead_s + seconds, audio=audio)


def client_for(app, host: str = "127.0.0.1", headers: dict | None = None):
    """An httpx client that calls the ASGI app in-process, as if from `host`."""
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 50000)),
                             base_url="http://127.0.0.1:8080", headers=headers or {}, timeout=120)


def make_settings(home: Path, **overrides):
    from core.settings import Settings

    return Settings(home=home, **overrides)


@pytest.fixture(scope="session")
def built_base(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    """A real base: a Markdown and a text document with distinct facts, and a 14 s video (3 s of
    silence, then the 11 s "ask not" recording).
    Shared by the whole session: tests must not add to it or delete from it."""
    from pipelines.ingest.jobs import ingest

    root = tmp_path_factory.mktemp("api_base")
    data = root / "data"
    docs = write_documents(data)
    video = write_video(data, shared_data)
    settings = make_settings(root / "home", ingest_roots=[data])
    report = ingest([str(p) for p in [*docs, video]], progress=False, settings=settings)
    assert report.ok, report.to_dict()
    ids = {f.name: f.source_id for f in report.files}
    return {"settings": settings, "data": data, "ids": ids}


class LiveServer:
    """An app under a real uvicorn in a daemon thread (`with LiveServer(app, free_port()) as s: s.url`)."""

    def __init__(self, app, port: int):
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
