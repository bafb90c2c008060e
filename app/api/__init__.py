"""The Argus REST API (FastAPI). `create_app(settings)` builds it; `argus serve` runs it."""

from app.api.app import create_app

__all__ = ["create_app"]
