"""GET /metrics: counters and histograms move by exactly what known requests did."""
import httpx

from metrics_read import delta, metrics_read

MODEL = "smollm2-135m-instruct-q4_1"
SHARD = f"/chunks/{MODEL}/000.bin"
ROUTE = "/chunks/{model_id}/{name}"


def test_metrics_count_known_requests(http):
    size = int(http.head(SHARD).headers["content-length"])
    etag = http.head(SHARD).headers["etag"]
    before = metrics_read(http)
    answers = [
        http.get(SHARD),                                                   # 200, whole shard
        http.get(SHARD, headers={"Range": "bytes=10-19"}),                 # 206
        http.get(SHARD, headers={"Range": f"bytes={size}-"}),              # 416
        http.get(SHARD, headers={"If-None-Match": etag}),                  # 304
        http.get(SHARD, headers={"Range": "bytes=0-9", "If-None-Match": etag}),   # 304, with a Range
        http.head(SHARD),                                                  # 200, no body
        http.get("/chunks/nope/000.bin"),                                  # 404
        http.get("/no/such/route"),                                        # 404, no route
    ]
    assert [r.status_code for r in answers] == [200, 206, 416, 304, 304, 200, 404, 404]
    after = metrics_read(http)

    requests = "wasmlm_http_requests_total"
    assert delta(before, after, requests, route=ROUTE, method="GET", status="200") == 1
    assert delta(before, after, requests, route=ROUTE, method="GET", status="206") == 1
    assert delta(before, after, requests, route=ROUTE, method="GET", status="416") == 1
    assert delta(before, after, requests, route=ROUTE, method="GET", status="304") == 2
    assert delta(before, after, requests, route=ROUTE, method="HEAD", status="200") == 1
    assert delta(before, after, requests, route=ROUTE, method="GET", status="404") == 1
    assert delta(before, after, requests, route="unmatched", method="GET", status="404") == 1
    ranges = "wasmlm_http_range_requests_total"
    assert [delta(before, after, ranges, status=s) for s in ("206", "416", "304", "200")] == [1, 1, 1, 0]
    # Shards: bodies started by GET 200/206 only (not HEAD, 304, 416).
    assert delta(before, after, "wasmlm_shards_served_total", model=MODEL) == 2
    assert sum(len(r.content) for r in answers[:6]) == size + 10
    sent = sum(len(r.content) for r in answers[:7])            # with the 404's small JSON body
    assert delta(before, after, "wasmlm_http_response_body_bytes_total", route=ROUTE) == sent
    assert delta(before, after, "wasmlm_http_request_duration_seconds_count", route=ROUTE) == 7
    assert after[("wasmlm_downloads_in_flight", ())] == 0


def test_metrics_in_flight_returns_to_zero_after_a_dropped_download(server, http):
    """A client that goes away mid-shard must not leave the in-flight gauge up."""
    with httpx.Client(base_url=server, timeout=30) as other:
        with other.stream("GET", SHARD) as r:
            assert r.status_code == 200
            next(r.iter_raw(1024))
    for _ in range(50):
        if metrics_read(http)[("wasmlm_downloads_in_flight", ())] == 0:
            break
        httpx.get(f"{server}/healthz")
    assert metrics_read(http)[("wasmlm_downloads_in_flight", ())] == 0


def test_metrics_not_cached_not_linked(http):
    r = http.get("/metrics")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"].startswith("text/plain")
    assert "/metrics" not in http.get("/").text
