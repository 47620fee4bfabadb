"""A recording reverse proxy in front of the real server: the browser opens the page through it, and every
request it makes (method, URL, headers, body) is kept, whatever the engine. The privacy tests read them.
"""
import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from wasmlm.localserve import AppThread

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "te", "trailer",
              "proxy-authorization", "proxy-authenticate"}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class Recorder(AppThread):
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.requests: list[dict] = []
        self._client: httpx.AsyncClient | None = None
        super().__init__(Starlette(routes=[Route("/{path:path}", self._forward, methods=METHODS)]), "the recorder")

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
