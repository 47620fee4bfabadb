"""POST /api/telemetry: good reports land in the histograms; bad types, huge bodies and floods get 4xx,
change nothing, and leave the server healthy."""
import json

import pytest

from metrics_read import delta, metrics_read

MODEL = "smollm2-135m-instruct-q4_1"
LABELS = {"model": MODEL, "build": "simd", "browser": "firefox"}
GOOD = {"model": MODEL, "build": "simd", "browser": "firefox", "threads": 1, "load_ms": 2345.6,
        "first_token_ms": 180.5, "prompt_tps": 123.4, "decode_tps": 31.5}
HISTOGRAMS = ["wasmlm_page_load_seconds_count", "wasmlm_page_first_token_seconds_count",
              "wasmlm_page_prompt_tokens_per_second_count", "wasmlm_page_decode_tokens_per_second_count",
              "wasmlm_page_threads_count"]
_clients = iter(range(1, 1 << 20))


def client_ip() -> dict:
    """A fresh client address for each test (X-Forwarded-For from loopback is trusted), so that the
    per-client rate limit of one test does not spill into another."""
    n = next(_clients)
    return {"X-Forwarded-For": f"198.51.{n >> 8}.{n & 255}"}


def counts(http) -> dict:
    m = metrics_read(http)
    return {name: m.get((name, tuple(sorted(LABELS.items()))), 0.0) for name in HISTOGRAMS}


def test_telemetry_report_lands_in_histograms(http):
    before = metrics_read(http)
    r = http.post("/api/telemetry", json=GOOD, headers=client_ip())
    assert r.status_code == 204, r.text
    after = metrics_read(http)
    for name in HISTOGRAMS:
        assert delta(before, after, name, **LABELS) == 1, name
    assert delta(before, after, "wasmlm_page_load_seconds_sum", **LABELS) == pytest.approx(2.3456)
    assert delta(before, after, "wasmlm_page_load_seconds_bucket", **LABELS, le="2.0") == 0
    assert delta(before, after, "wasmlm_page_load_seconds_bucket", **LABELS, le="5.0") == 1
    # Optional figures may be left out (a reply of one token has no decode rate).
    r = http.post("/api/telemetry", json={**GOOD, "decode_tps": None, "first_token_ms": None}, headers=client_ip())
    assert r.status_code == 204


BAD = [
    ("load_ms as text", {**GOOD, "load_ms": "2345"}),
    ("threads as a float", {**GOOD, "threads": 1.5}),
    ("threads as a bool", {**GOOD, "threads": True}),
    ("threads zero", {**GOOD, "threads": 0}),
    ("negative load", {**GOOD, "load_ms": -1}),
    ("absurd load", {**GOOD, "load_ms": 1e12}),
    ("absurd rate", {**GOOD, "decode_tps": 1e9}),
    ("unknown browser", {**GOOD, "browser": "netscape"}),
    ("unknown model", {**GOOD, "model": "no-such-model"}),
    ("unknown build", {**GOOD, "build": "turbo"}),
    ("build with odd characters", {**GOOD, "build": "simd\n"}),
    ("a text field", {**GOOD, "text": "what the person typed"}),
    ("a prompt field", {**GOOD, "prompt": "hello"}),
    ("missing load", {k: v for k, v in GOOD.items() if k != "load_ms"}),
    ("a list", [GOOD]),
    ("a number", 42),
]


@pytest.mark.parametrize("why,body", BAD, ids=[b[0] for b in BAD])
def test_telemetry_refuses_bad_types(http, why, body):
    before = counts(http)
    r = http.post("/api/telemetry", json=body, headers=client_ip())
    assert r.status_code == 422, (why, r.text)
    assert counts(http) == before
    assert http.get("/healthz").status_code == 200


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b'{"load_ms": NaN}', b"nul"])
def test_telemetry_refuses_what_is_not_json(http, raw):
    before = counts(http)
    r = http.post("/api/telemetry", content=raw, headers={**client_ip(), "Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert counts(http) == before


def test_telemetry_refuses_huge_bodies(http):
    before = counts(http)
    huge = json.dumps({**GOOD, "pad": "x" * (8 << 20)}).encode()
    r = http.post("/api/telemetry", content=huge, headers=client_ip())
    assert r.status_code == 413
    # The same without Content-Length (chunked): cut off while reading.
    r = http.post("/api/telemetry", content=(huge[i:i + 4096] for i in range(0, 64 << 10, 4096)),
                  headers=client_ip())
    assert r.status_code == 413
    assert counts(http) == before
    assert http.get("/healthz").status_code == 200
    assert http.post("/api/telemetry", json=GOOD, headers=client_ip()).status_code == 204


def test_telemetry_flood_is_rate_limited_per_client(http):
    before = counts(http)
    flood = client_ip()
    answers = [http.post("/api/telemetry", json=GOOD, headers=flood) for _ in range(40)]
    codes = [r.status_code for r in answers]
    assert codes[:10] == [204] * 10 and set(codes[10:]) == {429}, codes
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert counts(http)["wasmlm_page_load_seconds_count"] == before["wasmlm_page_load_seconds_count"] + 10
    # Malformed floods are limited too, and other clients are not affected.
    assert http.post("/api/telemetry", content=b"{", headers=flood).status_code == 429
    assert http.post("/api/telemetry", json=GOOD, headers=client_ip()).status_code == 204
    assert http.get("/healthz").status_code == 200


def test_rate_limiter_refills_and_forgets():
    from wasmlm.telemetry import RateLimiter
    t = [0.0]
    limiter = RateLimiter(burst=2, per_second=0.5, max_clients=3, clock=lambda: t[0])
    assert [limiter.allow("a") for _ in range(3)] == [0, 0, 2]
    t[0] += 2
    assert limiter.allow("a") == 0 and limiter.allow("a") > 0
    for c in "bcd":
        limiter.allow(c)
    assert len(limiter.buckets) == 3 and "a" not in limiter.buckets
