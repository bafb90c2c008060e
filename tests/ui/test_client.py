"""The UI's API client: server-sent event parsing and error handling (no server needed)."""

from __future__ import annotations

import httpx
import pytest

from ui.client import ApiError, ArgusClient, parse_sse

pytestmark = pytest.mark.unit


def test_parse_sse() -> None:
    lines = ["event: evidence", 'data: [{"n": 1}]', "", ": ping", "", "id: 7", "event: token", 'data: {"text": "Hi"}',
             "", "event: note", "data: line one", "data: line two", ""]
    events = list(parse_sse(iter(lines)))
    assert [(e.event, e.data, e.id) for e in events] == [
        ("evidence", [{"n": 1}], None), ("token", {"text": "Hi"}, "7"), ("note", "line one\nline two", None)]


def test_problem_details_and_rate_limit_retry() -> None:
    calls = {"n": 0}

    def fake_server(request: httpx.Request) -> httpx.Response:  # a fake transport standing in for the API
        if request.url.path == "/v1/sources/9":
            return httpx.Response(404, json={"status": 404, "detail": "no source with id 9"},
                                  headers={"content-type": "application/problem+json"})
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"retry-after": "0"})
        return httpx.Response(200, json=[])

    client = ArgusClient("http://argus.test", api_key="argus_k_s")
    client.http = httpx.Client(base_url="http://argus.test", transport=httpx.MockTransport(fake_server),
                               headers=client.http.headers)
    assert client.sources() == [] and calls["n"] == 2
    with pytest.raises(ApiError) as caught:
        client.source(9)
    assert caught.value.status == 404 and caught.value.detail == "no source with id 9"
    assert client.http.headers["authorization"] == "Bearer argus_k_s"
