"""What the handlers take from the app, as typed FastAPI dependencies (each set once in main.app_create)."""
from typing import Annotated

from fastapi import Depends, Request

from ..metrics import Metrics
from ..settings import Settings
from ..telemetry import RateLimiter, TelemetryMetrics


def settings_get(request: Request) -> Settings:
    return request.app.state.settings


def metrics_get(request: Request) -> Metrics:
    return request.app.state.metrics


def telemetry_get(request: Request) -> TelemetryMetrics:
    return request.app.state.telemetry


def telemetry_limiter_get(request: Request) -> RateLimiter:
    return request.app.state.telemetry_limiter


SettingsDep = Annotated[Settings, Depends(settings_get)]
MetricsDep = Annotated[Metrics, Depends(metrics_get)]
TelemetryDep = Annotated[TelemetryMetrics, Depends(telemetry_get)]
TelemetryLimiterDep = Annotated[RateLimiter, Depends(telemetry_limiter_get)]
