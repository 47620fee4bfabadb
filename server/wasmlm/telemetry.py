"""Opt-in performance reports from pages: numbers only, validated, rate-limited per client, kept as
Prometheus histograms labelled by model, build and browser family.

A report has no free text anywhere: every field is a number, or a label from a bounded set that the server
checks (a model it serves, an engine build it has, one of four browser families), and unknown fields are
refused, so nothing a person typed can be carried in one.
"""
import math
import time
from collections import OrderedDict
from typing import Literal

from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field

from .metrics import Metrics

MAX_BODY = 1024          # bytes: a full report is about 200
BROWSERS = ("chromium", "firefox", "webkit", "other")


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    model: str = Field(min_length=1, max_length=128)
    build: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    browser: Literal[BROWSERS]
    threads: int = Field(ge=1, le=256)
    load_ms: float = Field(ge=0, le=3_600_000, allow_inf_nan=False)
    first_token_ms: float | None = Field(default=None, ge=0, le=600_000, allow_inf_nan=False)
    prompt_tps: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    decode_tps: float | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)


SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
TPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
LABELS = ("model", "build", "browser")


class TelemetryMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.load = Histogram("wasmlm_page_load_seconds", "Model load time reported by pages", LABELS,
                              buckets=SECONDS, registry=r)
        self.first_token = Histogram("wasmlm_page_first_token_seconds", "Time to the first token reported by "
                                     "pages", LABELS, buckets=SECONDS, registry=r)
        self.prompt_tps = Histogram("wasmlm_page_prompt_tokens_per_second", "Prompt tokens per second reported "
                                    "by pages", LABELS, buckets=TPS, registry=r)
        self.decode_tps = Histogram("wasmlm_page_decode_tokens_per_second", "Generated tokens per second "
                                    "reported by pages", LABELS, buckets=TPS, registry=r)
        self.threads = Histogram("wasmlm_page_threads", "Engine threads reported by pages", LABELS,
                                 buckets=(1, 2, 4, 8, 16, 32), registry=r)
        self.rejected = Counter("wasmlm_telemetry_rejected", "Reports refused, by reason", ["reason"], registry=r)

    def record(self, report: Report) -> None:
        labels = (report.model, report.build, report.browser)
        self.load.labels(*labels).observe(report.load_ms / 1000)
        self.threads.labels(*labels).observe(report.threads)
        if report.first_token_ms is not None:
            self.first_token.labels(*labels).observe(report.first_token_ms / 1000)
        if report.prompt_tps is not None:
            self.prompt_tps.labels(*labels).observe(report.prompt_tps)
        if report.decode_tps is not None:
            self.decode_tps.labels(*labels).observe(report.decode_tps)


class RateLimiter:
    """A token bucket per client address; the least recently seen clients are forgotten past `max_clients`
    (a flood from many addresses costs bounded memory, and a forgotten client starts with a full bucket)."""

    def __init__(self, burst: int = 10, per_second: float = 0.2, max_clients: int = 10_000, clock=time.monotonic):
        self.burst, self.per_second, self.max_clients, self.clock = burst, per_second, max_clients, clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str) -> float:
        """0 when the request may go on, else the seconds until it may."""
        now = self.clock()
        tokens, seen = self.buckets.pop(client, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - seen) * self.per_second)
        wait = 0.0 if tokens >= 1 else math.ceil((1 - tokens) / self.per_second)
        self.buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self.buckets) > self.max_clients:
            self.buckets.popitem(last=False)
        return wait
