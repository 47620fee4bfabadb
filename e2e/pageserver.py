"""A small static server for pages that are not the product's: the drivers' probe page and the wllama
comparison page. It sends the cross-origin isolation headers (SharedArrayBuffer needs them) and serves
byte ranges, which `python -m http.server` does not.
"""
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from wasmlm.localserve import AppThread

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def app_build(mounts: dict[str, Path]) -> FastAPI:
    app = FastAPI()
    for prefix, directory in mounts.items():
        app.mount(prefix, StaticFiles(directory=directory))

    @app.middleware("http")
    async def isolate(request, call_next):
        response = await call_next(request)
        response.headers.update(ISOLATION_HEADERS)
        if request.url.path.endswith(".mjs"):
            response.headers["Content-Type"] = "text/javascript"
        return response

    return app


class PageServer(AppThread):
    """Serves `mounts` ({"/url-prefix": directory}) on a free loopback port in a thread."""

    def __init__(self, mounts: dict[str, Path]):
        super().__init__(app_build(mounts), "page server")
