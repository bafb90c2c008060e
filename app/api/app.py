"""The FastAPI application: `create_app(settings)`.

    uvicorn --factory app.api:create_app      # or `argus serve`

Routers, one module each: health, ingest, sources, query, media, openai_compat, evals
(past agent evaluations), agents (and legal). Cross-cutting concerns are middleware (body
size, metrics, CORS) and dependencies (`require(scope)`: API key, scope and rate limit).
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_RESPONSES, install_problem_handlers, problem_response
from app.api.security import KeyStore, LoopbackGuardMiddleware, RateLimiter, default_origins
from app.api.state import AppState
from core.settings import Settings, get_settings

UPLOAD_PATHS = ("/v1/ingest",)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for bodies over the limit: at once from Content-Length, else while the body streams in
    (so a chunked upload is cut off as soon as it passes the limit, not after it is stored)."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int):
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        is_upload = scope["path"] in UPLOAD_PATHS and headers.get(b"content-type", b"").startswith(b"multipart/")
        limit = self.max_upload if is_upload else self.max_body
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0
        started = exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # The route may turn the interrupted read into its own error (FastAPI answers 400 for an
                # unreadable body); the client gets the 413 instead.
                if not started and message["type"] == "http.response.start":
                    started = True
                    await self._refuse(scope, receive, send, limit)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(413, f"the request body is larger than {limit} bytes", instance=scope["path"],
                                    headers={"Connection": "close"})
        await response(scope, receive, send)


class MetricsMiddleware:
    """Request counts and latency per route template (never the raw path: ids would explode the labels)."""

    def __init__(self, app: ASGIApp, *, state: AppState):
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            name = getattr(scope.get("route"), "path", "unmatched")
            self.state.metrics.requests.labels(scope["method"], name, str(status)).inc()
            self.state.metrics.latency.labels(name).observe(time.perf_counter() - started)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Argus REST API for the base of `settings.home`."""
    settings = settings or get_settings()
    state = AppState(settings=settings, keys=KeyStore(settings.api_keys_path),
                     limiter=RateLimiter(settings.api_rate_limit_per_min, settings.api_rate_burst))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from app.doctor import warm_attention_check

        warm_attention_check()  # the Status page's kernel probe, ready before it is asked for
        yield
        state.close()

    app = FastAPI(
        title="Argus",
        version="1.0",
        summary="Search and question answering over your videos and documents, with citations.",
        description="See docs/api.md. Errors are `application/problem+json`; protected routes take "
                    "`Authorization: Bearer <key>` once API keys are configured.",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.argus = state
    install_problem_handlers(app)

    # Added innermost first: CORS outermost (so errors carry its headers too), then metrics, then the
    # no-key mode's Host/Origin guard, then the body limit.
    app.add_middleware(BodyLimitMiddleware, max_body=settings.api_max_request_kb * 1024,
                       max_upload=settings.api_max_upload_mb * 1024 * 1024)
    app.add_middleware(LoopbackGuardMiddleware, keys=state.keys, allowed_hosts=settings.api_allowed_hosts,
                       allowed_origins=settings.api_allowed_origins or
                       [*default_origins(settings.ui_port, settings.api_port), *settings.api_cors_origins])
    app.add_middleware(MetricsMiddleware, state=state)
    if settings.api_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.api_cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type", "Range", "Last-Event-ID"],
                           expose_headers=["Content-Range", "Accept-Ranges", "Retry-After", "Location"])

    from app.api import evals, health, ingest, media, openai_compat, query, sources, status

    for module in (health, status, ingest, sources, query, media, openai_compat, evals):
        app.include_router(module.router)
    _include_optional(app)
    return app


def _include_optional(app: FastAPI) -> None:
    """The agent-run and legal routers, when those parts are installed (they load on first use)."""
    from app.api.state import AGENT_MODULES, LEGAL_MODULES, available

    if available(*AGENT_MODULES):
        from app.api import agents

        app.include_router(agents.router)
    if available(*LEGAL_MODULES):
        from app.api import legal

        app.include_router(legal.router)
