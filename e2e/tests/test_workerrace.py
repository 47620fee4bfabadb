"""The reproduction of the Firefox start-up hang (e2e/workerrace.py) keeps running: a few rounds of each way to
start the engine's pool worker. The long form, with the figures, is in docs/loading.md."""
from e2e.workerrace import race_run


def test_pool_workers_made_by_the_page_always_load():
    results = race_run("firefox", "relay", sw=False, profiles=1, rounds=8, log=lambda line: None)
    assert len(results) == 8 and all(r["ok"] for r in results), results


def test_pool_workers_made_by_a_worker_run_every_round():
    # whether a round hangs is Firefox's (about 1 in 100); the harness must get through all of them
    results = race_run("firefox", "nested", sw=False, profiles=1, rounds=8, log=lambda line: None)
    assert len(results) == 8 and all(r["ok"] or r["alive"] is False for r in results), results
