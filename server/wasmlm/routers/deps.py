"""What the handlers take from the app, as typed FastAPI dependencies (each set once in main.app_create)."""
from typing import Annotated

from fastapi import Depends, Request

from ..metrics import Metrics
from ..settings import Settings
from ..telemetry import RateLimiter, TelemetryMetrics


def app_state(name: str):
    """A dependency on the app's `state.<name>`."""
    def state_get(request: Request):
        return getattr(request.app.state, name)
    return Depends(state_get)


SettingsDep = Annotated[Settings, app_state("settings")]
MetricsDep = Annotated[Metrics, app_state("metrics")]
TelemetryDep = Annotated[TelemetryMetrics, app_state("telemetry")]
TelemetryLimiterDep = Annotated[RateLimiter, app_state("telemetry_limiter")]
