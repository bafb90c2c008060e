"""Keys, rate limits, path confinement and range parsing, without an app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.api.media import parse_range
from app.api.paths import PathRefused, confine, safe_upload_name
from app.api.problems import ApiError
from app.api.security import KeyStore, RateLimiter

pytestmark = pytest.mark.unit


def test_keys_are_stored_hashed_and_revocable(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "api_keys.json")
    record, plain = store.create("ci", ["read", "ingest"])
    raw = (tmp_path / "api_keys.json").read_text()
    assert plain not in raw and plain.split("_", 2)[2] not in raw
    assert json.loads(raw)["keys"][0]["hash"] == record.hash
    assert (tmp_path / "api_keys.json").stat().st_mode & 0o777 == 0o600
    assert store.verify(plain).id == record.id
    assert store.verify(plain + "x") is None
    assert store.verify("argus_nope_secret") is None and store.verify("garbage") is None
    # A second store (another process) sees the revocation.
    KeyStore(tmp_path / "api_keys.json").revoke(record.id)
    assert store.verify(plain) is None
    assert not store.any_active()


def test_key_scopes(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "k.json")
    admin, _ = store.create("ops", ["admin"])
    reader, _ = store.create("ui", ["read"])
    assert admin.allows("ingest") and admin.allows("read")
    assert reader.allows("read") and not reader.allows("ingest") and not reader.allows("admin")
    with pytest.raises(ValueError):
        store.create("bad", ["root"])


def test_token_bucket() -> None:
    limiter = RateLimiter(per_min=60, burst=2)
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    wait = limiter.take("a")
    assert 0 < wait <= 1.0
    assert limiter.take("b") == 0  # buckets are per client


def test_confine(tmp_path: Path) -> None:
    root = (tmp_path / "root").resolve()
    (root / "sub").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("x")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert confine(root / "sub", [root]) == root / "sub"
    for bad in (tmp_path / "secret.txt", root / ".." / "secret.txt", root / "link.txt", "/etc/passwd", "a\x00b"):
        with pytest.raises(PathRefused):
            confine(bad, [root])


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/b.txt", "..\\x.txt", "C:\\x.txt", ".hidden",
                                  "..", "", "a\x00.txt", "x" * 300])
def test_unsafe_upload_names(name: str) -> None:
    with pytest.raises(PathRefused):
        safe_upload_name(name)


def test_safe_upload_name() -> None:
    assert safe_upload_name("talk 1 (final).mp4") == "talk 1 (final).mp4"
    assert safe_upload_name("讲座.pdf") == "讲座.pdf"


def test_parse_range() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-", 100) == (90, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=50-1000", 100) == (50, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # multi-range: served whole
    assert parse_range("items=0-1", 100) is None
    with pytest.raises(ApiError) as exc:
        parse_range("bytes=100-", 100)
    assert exc.value.status == 416 and exc.value.headers["Content-Range"] == "bytes */100"
