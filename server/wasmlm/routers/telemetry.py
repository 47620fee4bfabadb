"""POST /api/telemetry: a page's opt-in performance report (numbers only; wasmlm/telemetry.py).

Every refusal is a 4xx that leaves the histograms as they were: 429 over the client's rate, 413 over the
size limit (read no further), 400 not JSON, 422 a wrong type, range, field, or a model or build this
server does not have. The client is the TCP peer, or X-Forwarded-For from a trusted proxy (uvicorn's
--forwarded-allow-ips, loopback by default, so nginx in front on the same host counts each browser).
"""
import json

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError

from ..catalog import manifest_get
from ..telemetry import MAX_BODY, Report, TelemetryMetrics
from .deps import SettingsDep, TelemetryDep, TelemetryLimiterDep

router = APIRouter(prefix="/api")


def refuse(telemetry: TelemetryMetrics, status: int, reason: str, detail, headers: dict | None = None):
    telemetry.rejected.labels(reason).inc()
    raise HTTPException(status, detail, headers=headers)


async def body_read(request: Request, telemetry: TelemetryMetrics) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        refuse(telemetry, 413, "too_large", f"a report is at most {MAX_BODY} bytes")
    body = b""
    async for block in request.stream():
        body += block
        if len(body) > MAX_BODY:
            refuse(telemetry, 413, "too_large", f"a report is at most {MAX_BODY} bytes")
    return body


@router.post("/telemetry", status_code=204)
async def telemetry_post(request: Request, settings: SettingsDep, telemetry: TelemetryDep,
                         limiter: TelemetryLimiterDep) -> Response:
    client = request.client.host if request.client else "unknown"
    wait = limiter.allow(client)
    if wait:
        refuse(telemetry, 429, "rate_limited", "too many reports; try later", {"Retry-After": str(int(wait))})
    body = await body_read(request, telemetry)
    try:
        data = json.loads(body, parse_constant=lambda c: None)   # NaN/Infinity become null, then fail types
    except (ValueError, UnicodeDecodeError):
        refuse(telemetry, 400, "bad_json", "the body is not JSON")
    try:
        report = Report.model_validate(data)
    except ValidationError as e:
        refuse(telemetry, 422, "invalid", [{"loc": err["loc"], "msg": err["msg"]} for err in e.errors()])
    if manifest_get(settings.chunks, report.model) is None:
        refuse(telemetry, 422, "invalid", "unknown model")
    if not (settings.engine / f"wasmlm-{report.build}.wasm").is_file():
        refuse(telemetry, 422, "invalid", "unknown engine build")
    telemetry.record(report)
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
