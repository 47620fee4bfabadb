"""Soak, short form (the long one is `python -m e2e.soak`, figures in docs/soak.md): one page in Chromium,
24 turns at a 512-token context so that old turns are dropped several times, Stop pressed at random moments
in 6 of them, New chat once (at turn 16). Wasm memory must not grow once the context is full, no worker may be
left behind, the browser's memory must stay within bounds, and every turn must come back to 'ready'."""
import pytest

from e2e.drivers import launch
from e2e.soak import soak_run

TURNS, STOPS, BLOCK = 24, 6, 8


@pytest.fixture(scope="module")
def rows(wasmlm_server):
    driver = launch("chromium")
    try:
        yield soak_run(driver, wasmlm_server.url, TURNS, STOPS, new_chat_every=16, block=BLOCK)
    finally:
        driver.close()


def test_the_context_policy_dropped_turns_many_times(rows):
    assert rows[-1]["drops"] >= 2  # the context fills after about 12 turns (docs/soak.md)
    assert rows[-1]["stops"] == STOPS


def test_wasm_memory_is_flat(rows):
    # wasm memory never shrinks: growth after the context first filled would be a leak
    assert rows[-1]["wasm_mib"] - rows[1]["wasm_mib"] <= 1.0, [r["wasm_mib"] for r in rows]


def test_no_worker_is_leaked(rows):
    assert len({r["workers"] for r in rows}) == 1, [r["workers"] for r in rows]


def test_browser_memory_stays_within_bounds(rows):
    first = rows[0]["browser_mib"]
    assert max(r["browser_mib"] for r in rows) < first * 1.5 + 100, [round(r["browser_mib"]) for r in rows]


def test_speed_does_not_degrade(rows):
    speeds = [r["gen_tps"] for r in rows if r["gen_tps"]]
    # loose: CI shares its cores with the test run itself; the long run's figures are in docs/soak.md
    assert min(speeds[1:]) > 0.4 * speeds[0], speeds
