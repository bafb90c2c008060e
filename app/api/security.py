"""API keys, scopes and per-key rate limits.

Keys look like `argus_<id>_<secret>`; the file `api_keys.json` stores only the sha256 of
each key (the secret is 32 random bytes, so a fast hash is as strong as a slow one) with
its id, name, scopes and revocation time. The file is re-read when it changes, so
`argus keys revoke` takes effect on a running server.

With no active key the API is open, but only to loopback clients: a server bound to a
public interface without keys answers 401 to everyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Literal

from fastapi import Request

from app.api.problems import ApiError

Scope = Literal["read", "ingest", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "ingest", "admin")
PREFIX = "argus_"


@dataclass
class KeyRecord:
    id: str
    name: str
    scopes: list[str]
    hash: str
    created_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: Scope) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyStore:
    """The keys of one file; safe to share between threads."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, KeyRecord] = {}

    def _load(self) -> dict[str, KeyRecord]:
        with self._lock:
            try:
                st = self.path.stat()
                stamp = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                self._stamp, self._keys = None, {}
                return self._keys
            if stamp != self._stamp:
                data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
                self._keys = {k["id"]: KeyRecord(**k) for k in data.get("keys", [])}
                self._stamp = stamp
            return self._keys

    def _save(self, keys: dict[str, KeyRecord]) -> None:
        # Atomic and private: temp file in the same folder, mode 0600, then rename.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".api_keys.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"keys": [vars(k) for k in keys.values()]}, fh, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def records(self) -> list[KeyRecord]:
        return list(self._load().values())

    def any_active(self) -> bool:
        return any(k.active for k in self._load().values())

    def create(self, name: str, scopes: list[str]) -> tuple[KeyRecord, str]:
        """A new key; the plain key is returned once and never stored."""
        unknown = set(scopes) - set(SCOPES)
        if unknown or not scopes:
            raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {sorted(scopes)}")
        keys = dict(self._load())
        key_id = secrets.token_hex(4)
        plain = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        record = KeyRecord(key_id, name, sorted(set(scopes)), _hash(plain), time.time())
        keys[key_id] = record
        self._save(keys)
        return record, plain

    def revoke(self, key_id: str) -> KeyRecord:
        keys = dict(self._load())
        if key_id not in keys:
            raise KeyError(key_id)
        if keys[key_id].revoked_at is None:
            keys[key_id].revoked_at = time.time()
            self._save(keys)
        return keys[key_id]

    def verify(self, plain: str) -> KeyRecord | None:
        """The active key `plain` is, or None (unknown, malformed or revoked)."""
        parts = plain.split("_")
        if len(parts) < 3 or not plain.startswith(PREFIX):
            return None
        record = self._load().get(parts[1])
        if record is None or not record.active:
            return None
        return record if hmac.compare_digest(record.hash, _hash(plain)) else None


class RateLimiter:
    """A token bucket per client: `burst` tokens, refilled at `per_min` a minute."""

    def __init__(self, per_min: float, burst: int):
        self.rate = per_min / 60.0
        self.burst = max(1, burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Principal:
    """Who is calling: a key id, or `loopback` when no keys are configured."""

    id: str
    key: KeyRecord | None


def authenticate(request: Request, scope: Scope) -> Principal:
    state = request.app.state.argus
    store: KeyStore = state.keys
    header = request.headers.get("authorization", "")
    if not store.any_active():
        client = request.client.host if request.client else None
        if not is_loopback(client):
            raise ApiError(401, "no API keys are configured: the API answers loopback clients only; "
                                "create a key with `argus keys create`", headers={"WWW-Authenticate": "Bearer"})
        principal = Principal(f"ip:{client}", None)
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "a bearer API key is required", headers={"WWW-Authenticate": "Bearer"})
        record = store.verify(token.strip())
        if record is None:
            raise ApiError(401, "the API key is unknown or revoked",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if not record.allows(scope):
            raise ApiError(403, f"the API key lacks the {scope!r} scope")
        principal = Principal(f"key:{record.id}", record)
    wait = state.limiter.take(principal.id)
    if wait > 0:
        state.metrics.rate_limited.inc()
        raise ApiError(429, "rate limit exceeded for this key", headers={"Retry-After": str(math.ceil(wait))})
    return principal


def require(scope: Scope):
    """A dependency: the caller must hold `scope` (and is rate limited)."""

    def dependency(request: Request) -> Principal:
        return authenticate(request, scope)

    dependency.__name__ = f"require_{scope}"
    return dependency
