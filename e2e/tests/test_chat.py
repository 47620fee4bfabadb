"""The real chat page on the real server, in each engine: load the default model, chat, read the stats.
The page, the loaded model and the first reply are shared by the tests of one engine (module fixtures).
The page is opened through a recording proxy (e2e/recorder.py): the last test checks that no request it
made holds what was typed."""
import secrets

import pytest

from e2e.chatpage import message_send, model_open, settings_set
from wasmlm.defaults import DEFAULT_MODEL_ID

MAX_TOKENS = 24


@pytest.fixture(scope="module")
def loaded(browser, recorder):
    return model_open(browser, recorder.url, DEFAULT_MODEL_ID)


@pytest.fixture(scope="module")
def first_reply(browser, loaded):
    settings_set(browser, temperature=0, max_tokens=MAX_TOKENS)
    return message_send(browser, "What is the capital of France?")


def test_default_model_loads(loaded):
    assert loaded["info"]["arch"] == "llama"
    assert loaded["info"]["n_layer"] == 30
    assert loaded["load"]["total_ms"] > 0
    assert loaded["stats"]["memory"]["weights"] > 0


# Relaxed SIMD where the engine validates a module of it (static/worker.js, build_candidates).
BUILD_FAMILY = {"chromium": ("relaxed", "relaxed-mt"), "firefox": ("relaxed", "relaxed-mt"), "webkit": ("simd", "mt")}


def test_the_page_runs_the_best_build_the_engine_has(browser, loaded):
    assert loaded["info"]["build"] in BUILD_FAMILY[browser.engine], loaded["info"]


def test_reply_streams_with_statistics(first_reply):
    assert first_reply["reply"]["role"] == "assistant"
    assert "Paris" in first_reply["reply"]["content"]
    last = first_reply["last"]
    assert 0 < last["generated_tokens"] <= MAX_TOKENS
    assert last["prompt_tokens"] > 7
    assert last["ttft_ms"] > 0 and last["prompt_tps"] > 0
    assert last["gen_tps"] is None or last["gen_tps"] > 0
    assert first_reply["stats"]["tokens"]["generated"] >= last["generated_tokens"]
    assert last["reused_tokens"] == 0 and last["evaluated_tokens"] == last["prompt_tokens"]
    assert last["engine"]["tokens"]["prompt"] == last["evaluated_tokens"]   # the engine's own counter


def test_second_turn_reuses_the_cache(browser, first_reply):
    first = first_reply["last"]
    answer = message_send(browser, "And of Italy?")
    assert answer["reply"]["content"].strip()
    # the whole conversation is sent again; the worker evaluates only what the cache does not hold
    assert answer["last"]["prompt_tokens"] > first["prompt_tokens"] + first["generated_tokens"]
    assert answer["last"]["reused_tokens"] >= first["prompt_tokens"]
    assert answer["last"]["evaluated_tokens"] < answer["last"]["prompt_tokens"] - first["prompt_tokens"]
    second = answer["last"]
    assert second["evaluated_tokens"] == second["prompt_tokens"] - second["reused_tokens"]
    assert second["engine"]["tokens"]["prompt"] == second["evaluated_tokens"]
    shown = browser.evaluate("document.querySelector('#stats').innerText")
    assert f"{second['evaluated_tokens']} new, {second['reused_tokens']} reused" in shown, shown


def test_no_request_carries_the_conversation(browser, loaded, recorder):
    """Every request the page, its worker and its service worker made since the page was opened (URL,
    headers, body), through two more turns: none holds the random markers typed into the system prompt and
    the two messages."""
    markers = [f"m{secrets.token_hex(8)}" for _ in range(3)]
    settings_set(browser, temperature=0, max_tokens=6, system=f"You are helpful. Ticket {markers[0]}.")
    first = message_send(browser, f"Remember the code word {markers[1]}, please.")
    second = message_send(browser, f"Which code word did I give? Also {markers[2]}.")
    assert first["last"]["prompt_tokens"] > 0 and second["last"]["reused_tokens"] > 0
    typed = browser.evaluate("wasmlm.messages.filter((m) => m.role === 'user').map((m) => m.content).join(' ')")
    assert markers[1] in typed and markers[2] in typed          # the page really holds what was typed

    paths = {r["url"].removeprefix(recorder.url) for r in recorder.requests}
    assert "/static/wasmlm.js" in paths and any(p.endswith(".bin") for p in paths), sorted(paths)[:20]
    assert not any(r["method"] not in ("GET", "HEAD") for r in recorder.requests), \
        [f"{r['method']} {r['url']}" for r in recorder.requests if r["method"] not in ("GET", "HEAD")]
    for marker in markers:
        assert recorder.leaks(marker) == [], f"{browser.engine}: {marker} left the page"
