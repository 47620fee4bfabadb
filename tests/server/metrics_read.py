"""Reads the server's /metrics into {(sample name, sorted labels): value}, for before/after comparisons."""
from prometheus_client.parser import text_string_to_metric_families


def metrics_read(http) -> dict:
    r = http.get("/metrics")
    assert r.status_code == 200, r.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def delta(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)
