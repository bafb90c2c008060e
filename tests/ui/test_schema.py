"""schemathesis against the OpenAPI schema of the real app on the shared base: no 5xx, and
status codes, content types and bodies as the schema documents them.

Left out: operations that start LLM work (ask, chat completions, agent runs, legal) and those
that change the shared base (ingest, delete), which the API tests cover one by one.
The cases come from schemathesis' strategies, driven by hypothesis per operation (its own
pytest plugin does not run under this pytest)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
import schemathesis
from api_base import LiveServer, free_port
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.api import create_app
from core.settings import Settings

pytestmark = pytest.mark.integration

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
LEFT_OUT = {"POST /v1/ask", "POST /v1/chat/completions", "POST /v1/agent/runs", "POST /v1/legal/predict",
            "POST /v1/ingest", "DELETE /v1/sources/{source_id}"}
EXAMPLES_PER_OPERATION = 15

# The schema does not depend on the base, so an app on an unused home gives it at import time.
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings(home=tempfile.mkdtemp(prefix="argus_schema_"))).openapi())
OPERATIONS = [op for op in (result.ok() for result in SCHEMA.get_all_operations()) if op.label not in LEFT_OUT]


@pytest.fixture(scope="module")
def api_url(built_base) -> Iterator[str]:
    # The fuzzer sends hundreds of requests from one address: lift the rate limit for it.
    fast = built_base["settings"].model_copy(update={"api_rate_limit_per_min": 1e9, "api_rate_burst": 10**6})
    with LiveServer(create_app(fast), free_port()) as server:
        yield server.url


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_operation_conforms_to_the_schema(operation, api_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        case.call_and_validate(base_url=api_url, checks=CHECKS)

    check()
