"""Assembles the FastAPI app: routers for the page, the chunks and the models API, behind security headers.

Run with `wasmlm serve`, or `uvicorn --factory wasmlm.main:app_create`.
"""
from fastapi import FastAPI

from .routers import chunks, models, pages
from .security import SecurityHeaders
from .settings import Settings


def app_create(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="wasmlm", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings or Settings()
    app.include_router(pages.router)
    app.include_router(chunks.router)
    app.include_router(models.router)
    app.add_middleware(SecurityHeaders)
    return app
