"""`argus keys create|list|revoke` and `argus serve`'s defaults."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.api.security import KeyStore
from app.cli import app

pytestmark = pytest.mark.unit


def test_keys_cli(argus_home) -> None:
    from core.settings import get_settings

    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "ci", "--scope", "read", "--scope", "ingest"])
    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    assert plain.startswith("argus_")
    store = KeyStore(get_settings().api_keys_path)
    record = store.verify(plain)
    assert record is not None and record.scopes == ["ingest", "read"]
    assert plain not in (argus_home / "api_keys.json").read_text()
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).output)
    assert listed[0]["id"] == record.id and listed[0]["revoked_at"] is None and "hash" not in listed[0]
    assert runner.invoke(app, ["keys", "revoke", record.id]).exit_code == 0
    assert store.verify(plain) is None
    assert runner.invoke(app, ["keys", "revoke", "nope"]).exit_code == 2
    assert runner.invoke(app, ["keys", "create", "x", "--scope", "root"]).exit_code == 2


def test_serve_defaults_to_loopback(argus_home, monkeypatch) -> None:
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: seen.update(kw))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8080
