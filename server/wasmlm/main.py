"""Assembles the FastAPI app: routers for the page, the chunks, the models API, metrics and telemetry,
behind security headers and request metrics.

Run with `wasmlm serve`, or `uvicorn --factory wasmlm.main:app_create`.
"""
from fastapi import FastAPI

from .metrics import HttpMetrics, Metrics
from .routers import chunks, metrics, models, pages, telemetry
from .security import SecurityHeaders
from .settings import Settings
from .telemetry import RateLimiter, TelemetryMetrics


def app_create(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="wasmlm", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings or Settings()
    app.state.metrics = Metrics()
    app.state.telemetry = TelemetryMetrics(app.state.metrics)
    app.state.telemetry_limiter = RateLimiter()
    app.include_router(pages.router)
    app.include_router(chunks.router)
    app.include_router(models.router)
    app.include_router(metrics.router)
    app.include_router(telemetry.router)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HttpMetrics, metrics=app.state.metrics)
    return app
