"""Prometheus metrics of one app: requests by route and status, bytes, ranges, latency, shards, transfers.

Each app has its own registry (tests run several apps in one process). `HttpMetrics` is pure ASGI, like
SecurityHeaders, so streamed bodies are counted as they go without being buffered. Label values come only
from bounded sets: route templates (not paths), status codes, and model ids the server knows.
"""
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from starlette.types import ASGIApp, Message, Receive, Scope, Send

disable_created_metrics()   # no *_created series: they double the output and no dashboard here uses them

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Routes whose bodies are downloads worth watching while they run: shards and engine builds.
TRANSFER_ROUTES = ("/chunks/{model_id}/{name}", "/build/wasm/{name}")


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("wasmlm_http_requests", "HTTP requests answered, by route template, method "
                                "and status", ["route", "method", "status"], registry=r)
        self.bytes_sent = Counter("wasmlm_http_response_body_bytes", "Response body bytes sent, by route template",
                                  ["route"], registry=r)
        self.ranges = Counter("wasmlm_http_range_requests", "Requests carrying a Range header, by the status "
                              "answered (206 partial, 200 whole, 416 unsatisfiable, 304 not modified)",
                              ["status"], registry=r)
        self.latency = Histogram("wasmlm_http_request_duration_seconds", "From the request to the last body "
                                 "byte sent, by route template", ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.shards = Counter("wasmlm_shards_served", "Shard bodies started (200 or 206), by model", ["model"],
                              registry=r)
        self.in_flight = Gauge("wasmlm_downloads_in_flight", "Shard and engine-build bodies being sent now",
                               registry=r)


def route_template(scope: Scope) -> str:
    """The matched route's path template ("/chunks/{model_id}/{name}"), or "unmatched": the router records
    the route in the scope it shares with the middleware, before the response starts."""
    return getattr(scope.get("route"), "path", None) or "unmatched"


class HttpMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        m = self.metrics
        t0 = time.perf_counter()
        has_range = any(k == b"range" for k, _ in scope.get("headers", ()))
        state = {"status": 500, "sent": 0, "transfer": False}

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = state["status"] = message["status"]
                route = route_template(scope)
                if status in (200, 206) and scope["method"] == "GET" and route in TRANSFER_ROUTES:
                    state["transfer"] = True
                    m.in_flight.inc()
                    if route == TRANSFER_ROUTES[0] and scope["path"].endswith(".bin"):
                        m.shards.labels(scope["path"].split("/")[2]).inc()
            elif message["type"] == "http.response.body":
                state["sent"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            if state["transfer"]:
                m.in_flight.dec()
            status, route = str(state["status"]), route_template(scope)
            m.requests.labels(route, scope["method"], status).inc()
            m.bytes_sent.labels(route).inc(state["sent"])
            m.latency.labels(route).observe(time.perf_counter() - t0)
            if has_range:
                m.ranges.labels(status).inc()
