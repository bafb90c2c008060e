"""The one HTTP client of the UI: every page talks to the REST API through `ArgusClient`.

The UI holds no knowledge base of its own; it works against any `argus serve`, local or remote.
`ARGUS_UI_API_URL` and `ARGUS_UI_API_KEY` (set by `argus ui`) say which and with what key.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8080"
RATE_LIMIT_RETRIES = 5
STREAM_TIMEOUT = httpx.Timeout(30.0, read=600.0)  # a CPU LLM may think a while between tokens


class ApiError(Exception):
    """A non-2xx answer, with the problem+json detail when the API sent one."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"{status}: {detail}")
        self.status, self.detail = status, detail


@dataclass
class SseEvent:
    event: str
    data: Any
    id: str | None = None


def parse_sse(lines: Iterator[str]) -> Iterator[SseEvent]:
    """Server-sent events from text lines (comments such as keep-alive pings are skipped)."""
    event, data, event_id = "message", [], None
    for line in lines:
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    payload = json.loads(text)
                except ValueError:
                    payload = text
                yield SseEvent(event, payload, event_id)
            event, data, event_id = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = value


class ArgusClient:
    def __init__(self, base_url: str | None = None, api_key: str | None = None, timeout: float = 60.0):
        self.base_url = (base_url or os.environ.get("ARGUS_UI_API_URL") or DEFAULT_API_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("ARGUS_UI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    # -- plumbing ---------------------------------------------------------------------

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        detail = response.reason_phrase
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            detail = response.json().get("detail") or detail
        raise ApiError(response.status_code, detail)

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One request; a 429 is retried after its Retry-After (a page may load many keyframes at once)."""
        for _ in range(RATE_LIMIT_RETRIES):
            response = self.http.request(method, path, **kwargs)
            if response.status_code != 429:
                break
            time.sleep(min(float(response.headers.get("retry-after", "1")), 5.0))
        return self._check(response)

    def _get(self, path: str, **kwargs) -> Any:
        return self._request("GET", path, **kwargs).json()

    def _post(self, path: str, body: dict, **kwargs) -> Any:
        return self._request("POST", path, json=body, **kwargs).json()

    def _events(self, method: str, path: str, **kwargs) -> Iterator[SseEvent]:
        with self.http.stream(method, path, timeout=STREAM_TIMEOUT, **kwargs) as response:
            if not response.is_success:
                response.read()
                self._check(response)
            yield from parse_sse(response.iter_lines())

    # -- knowledge base ---------------------------------------------------------------

    def healthy(self) -> bool:
        try:
            return self.http.get("/healthz", timeout=3).is_success
        except httpx.HTTPError:
            return False

    def sources(self) -> list[dict]:
        return self._get("/v1/sources")

    def source(self, source_id: int) -> dict:
        return self._get(f"/v1/sources/{source_id}")

    def delete_source(self, source_id: int) -> None:
        self._request("DELETE", f"/v1/sources/{source_id}")

    def jobs(self) -> list[dict]:
        return self._get("/v1/jobs")

    def job(self, job_id: int) -> dict:
        return self._get(f"/v1/jobs/{job_id}")

    def upload(self, files: list[tuple[str, bytes]]) -> dict:
        parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
        return self._request("POST", "/v1/ingest", files=parts, timeout=600).json()

    def media_link(self, source_id: int) -> str:
        """A signed URL of the source's file that a browser can stream from (no key needed)."""
        return self._get(f"/v1/media/{source_id}/link")["url"]

    def keyframe(self, source_id: int, keyframe_id: int) -> bytes:
        return self._request("GET", f"/v1/media/{source_id}/keyframes/{keyframe_id}").content

    # -- questions --------------------------------------------------------------------

    def search(self, query: str, k: int = 10) -> list[dict]:
        return self._post("/v1/search", {"query": query, "k": k})["results"]

    def ask_stream(self, question: str, k: int = 6) -> Iterator[SseEvent]:
        """`evidence`, `token`*, `answer`, `done` (or `error`)."""
        return self._events("POST", "/v1/ask", json={"question": question, "k": k, "stream": True})

    def start_run(self, question: str, review: bool = False) -> dict:
        return self._post("/v1/agent/runs", {"question": question, "review": review})

    def run_events(self, run_id: str, after: str | None = None) -> Iterator[SseEvent]:
        headers = {"Last-Event-ID": after} if after is not None else {}
        return self._events("GET", f"/v1/agent/runs/{run_id}/events", headers=headers)

    def review_plan(self, run_id: str, action: str, plan: dict | None = None) -> dict:
        body: dict[str, Any] = {"action": action}
        if plan is not None:
            body["plan"] = plan
        return self._post(f"/v1/agent/runs/{run_id}/plan", body)

    # -- status -----------------------------------------------------------------------

    def readiness(self) -> dict:
        """`/readyz`: its checks, whether it answers 200 or 503."""
        return self.http.get("/readyz", timeout=30).json()

    def status(self) -> dict:
        return self._get("/v1/status", timeout=120)

    def eval_runs(self) -> list[dict]:
        """Agent-evaluation runs, newest first; [] when the server has none (or no such endpoint)."""
        try:
            return self._get("/v1/eval/agents/runs")
        except ApiError as exc:
            if exc.status == 404:
                return []
            raise
