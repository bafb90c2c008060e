"""Errors as RFC 9457 problem details (`application/problem+json`).

Every error the API returns, from validation to rate limits, has the same shape:
`{"type", "title", "status", "detail", "instance"}`, plus `errors` for validation failures.
Unexpected exceptions become a 500 whose detail names no path, query or traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("argus.api")

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """An error response (RFC 9457)."""

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field("", examples=["no source with id 42"])
    instance: str | None = Field(None, examples=["/v1/sources/42"])
    errors: list[dict[str, Any]] | None = Field(None, description="Validation errors (422 only).")


class ApiError(Exception):
    """Raise anywhere in a route to answer with a problem; `headers` e.g. Retry-After."""

    def __init__(self, status: int, detail: str = "", *, headers: dict[str, str] | None = None,
                 errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.errors = status, detail, headers or {}, errors


def problem_response(status: int, detail: str = "", *, instance: str | None = None,
                     headers: dict[str, str] | None = None, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, instance=instance, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers,
                        media_type=PROBLEM_JSON)


# Documented on every route, so the OpenAPI schema shows the problem shape.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": HTTPStatus(code).phrase}
    for code in (400, 401, 403, 404, 413, 422, 429)
}


def _safe_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Echo where and why, never the submitted value (it may be large or secret).
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(exc.status, exc.detail, instance=request.url.path, headers=exc.headers,
                                errors=exc.errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _safe_errors(list(exc.errors()))
        malformed = any(e["type"] == "json_invalid" for e in errors)
        detail = "the request body is not valid JSON" if malformed else "the request does not match the schema"
        return problem_response(400 if malformed else 422, detail, instance=request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal error; see the server log", instance=request.url.path)
