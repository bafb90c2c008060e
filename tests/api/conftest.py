"""Fixtures of the REST API tests: apps on throwaway bases, httpx clients, a real uvicorn.
The shared real base (`built_base`) and `LiveServer` live in tests/api_base.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_base import LiveServer, free_port, make_settings, write_documents

from core.settings import Settings


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    """Settings of an empty base, with an ingest root holding one small document."""
    root = tmp_path / "allowed"
    write_documents(root)
    return make_settings(tmp_path / "home", ingest_roots=[root])


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
