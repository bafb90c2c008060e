"""Fixtures of the REST API tests: apps on throwaway bases, httpx clients, a real uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_base import write_documents, write_video

from app.settings import Settings


def make_settings(home: Path, **overrides) -> Settings:
    return Settings(home=home, **overrides)


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    """Settings of an empty base, with an ingest root holding one small document."""
    root = tmp_path / "allowed"
    write_documents(root)
    return make_settings(tmp_path / "home", ingest_roots=[root])


def client_for(app, host: str = "127.0.0.1", headers: dict | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 50000)),
                             base_url="http://argus.test", headers=headers or {}, timeout=120)


@pytest.fixture(scope="session")
def built_base(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict:
    """A real base: a Markdown and a text document with distinct facts, and a 5 s narrated video."""
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


@pytest.fixture
def live_server() -> Iterator:
    servers: list[LiveServer] = []

    def start(app) -> LiveServer:
        server = LiveServer(app, free_port()).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()
