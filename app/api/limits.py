"""Caps on concurrent work: agent runs and ingest batches, per caller and in all.

A caller past either cap gets 429 with `Retry-After`; a slot is held from the request that
starts the work until the work ends (a run's thread returns, a batch's runner finishes),
whatever way it ends.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from app.api.problems import ApiError


class WorkSlots:
    def __init__(self, kind: str, *, per_key: int, total: int, retry_after_s: int):
        self.kind, self.per_key, self.total, self.retry_after_s = kind, per_key, total, retry_after_s
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, caller: str) -> Callable[[], None]:
        """A slot for `caller`, or ApiError 429; returns the release function (safe to call twice)."""
        with self._lock:
            if sum(self._held.values()) >= self.total:
                reason = f"{self.total} {self.kind} are in progress on this server"
            elif self._held[caller] >= self.per_key:
                reason = f"this key already has {self.per_key} {self.kind} in progress"
            else:
                self._held[caller] += 1
                return self._releaser(caller)
        raise ApiError(429, f"{reason}; try again when one ends", headers={"Retry-After": str(self.retry_after_s)})

    def _releaser(self, caller: str) -> Callable[[], None]:
        done = threading.Event()

        def release() -> None:
            if done.is_set():
                return
            done.set()
            with self._lock:
                self._held[caller] -= 1
                if self._held[caller] <= 0:
                    del self._held[caller]

        return release

    def in_use(self) -> int:
        with self._lock:
            return sum(self._held.values())
