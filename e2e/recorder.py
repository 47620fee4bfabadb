"""A recording reverse proxy in front of the real server: the browser opens the page through it, and every
request it makes (method, URL, headers, body) is kept, whatever the engine. The privacy tests read them.
"""
import threading

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from wasmlm.localserve import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "te", "trailer",
              "proxy-authorization", "proxy-authenticate"}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Recorder:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[dict] = []
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=METHODS)])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._client: httpx.AsyncClient | None = None

    async def _forward(self, request: Request):
        body = await request.body()
        self.requests.append({"method": request.method, "url": str(request.url),
                              "headers": list(request.headers.items()), "body": body})
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=None)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        target = self.upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        upstream = await self._client.send(
            self._client.build_request(request.method, target, headers=headers, content=body), stream=True)
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code, headers=out,
                                 background=BackgroundTask(upstream.aclose))

    def leaks(self, secret: str) -> list[str]:
        """Where `secret` appears in the recorded requests, as "METHOD URL: part" lines."""
        found = []
        for r in self.requests:
            where = f"{r['method']} {r['url']}"
            if secret in r["url"]:
                found.append(f"{where}: URL")
            found += [f"{where}: header {k}" for k, v in r["headers"] if secret in k or secret in v]
            if secret.encode() in r["body"]:
                found.append(f"{where}: body")
        return found

    def __enter__(self) -> "Recorder":
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the recorder did not start on port {self.port}")
            self._thread.join(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join()
