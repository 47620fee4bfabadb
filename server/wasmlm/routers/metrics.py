"""GET /metrics: this app's Prometheus metrics. Not linked from the page, never cached; served on the app's
own listen address only (docker/nginx.conf refuses it; docs/operations.md says how to restrict it)."""
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .deps import MetricsDep

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics_get(metrics: MetricsDep) -> Response:
    body = generate_latest(metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
