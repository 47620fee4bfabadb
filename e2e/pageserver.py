"""A small static server for pages that are not the product's: the drivers' probe page and the wllama
comparison page. It sends the cross-origin isolation headers (SharedArrayBuffer needs them) and serves
byte ranges, which `python -m http.server` does not.
"""
import threading
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from wasmlm.localserve import free_port

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


class PageServer:
    """Serves `mounts` ({"/url-prefix": directory}) on a free loopback port in a thread."""

    def __init__(self, mounts: dict[str, Path]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app_build(mounts), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "PageServer":
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"page server did not start on port {self.port}")
            self._thread.join(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join()
