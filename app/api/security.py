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


# --- Loopback is not a credential -------------------------------------------------------------
# With no keys, a web page the user visits can still reach a loopback server: by DNS rebinding
# (its own name resolving to 127.0.0.1, sent as the Host header) or by a cross-site form post
# (no CORS preflight). So the no-key mode also checks who the browser says is asking.

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(header: str) -> str:
    """The name of a Host header without its port: `[::1]:8080` → `::1`, `LocalHost.:80` → `localhost`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    if header.count(":") > 1:  # a bare IPv6 address, which a Host header should bracket
        return header
    return header.rsplit(":", 1)[0].rstrip(".") if ":" in header else header.rstrip(".")


def names_loopback(name: str) -> bool:
    return name == "localhost" or is_loopback(name)


def origin_of(value: str) -> str:
    """`scheme://host[:port]` of an Origin or Referer value, lowercased ('null' stays 'null')."""
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else value.strip().lower()


def default_origins(ui_port: int, api_port: int) -> list[str]:
    """The UI's and the API's own origins on loopback."""
    return [f"http://{host}:{port}" for port in (ui_port, api_port) for host in ("127.0.0.1", "localhost", "[::1]")]


class LoopbackGuardMiddleware:
    """In the no-key mode: 403 unless the Host names loopback (or `allowed_hosts`), and 403 for a
    state-changing request whose Origin (else Referer) is not an allowed origin. Requests with
    neither header (curl, the CLI, the UI's server-side client) are not from a web page."""

    def __init__(self, app, *, keys: KeyStore, allowed_hosts: list[str], allowed_origins: list[str]):
        self.app, self.keys = app, keys
        self.hosts = {host_name(h) for h in allowed_hosts}
        self.origins = {origin_of(o) for o in allowed_origins}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.keys.any_active():
            await self.app(scope, receive, send)
            return
        problem = self.refusal(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        from app.api.problems import problem_response

        await problem_response(403, problem, instance=scope["path"])(scope, receive, send)

    def refusal(self, scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        name = host_name(headers.get("host", ""))
        if not (names_loopback(name) or name in self.hosts):
            return (f"Host {name!r} is not this machine's loopback name: with no API keys the API answers "
                    "only requests addressed to localhost (add the name to api_allowed_hosts, or create keys)")
        if scope["method"] in STATE_CHANGING:
            sender = headers.get("origin") or headers.get("referer")
            if sender is not None and origin_of(sender) not in self.origins:
                return (f"a {scope['method']} from the web page at {origin_of(sender)!r} is refused: with no API "
                        "keys only the UI's own origin may change data (api_allowed_origins)")
        return None
