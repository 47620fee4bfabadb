"""Operations features of the chat page: the per-op timing chart after a reply, the opt-in telemetry that
sends numbers only (and nothing while off), and ?build=debug. Real server, engine and Chromium (the tests
click and read requests through Playwright)."""
import json

import httpx

from e2e.chatpage import message_send, settings_set, state_wait
from wasmlm.defaults import DEFAULT_MODEL_ID as SMOLLM2_ID

QUESTION = "What is the capital of France? zebra-quartz-1187"


def page_open(tab, server, query: str = "") -> None:
    tab.open(f"{server.url}/{query}")
    state_wait(tab, "ready")


def test_op_chart_appears_after_a_reply(tab, wasmlm_server, shots):
    page_open(tab, wasmlm_server)
    assert tab.page.is_hidden("#op-timings")
    settings_set(tab, temperature=0, max_tokens=16)
    message_send(tab, "What is the capital of France?")
    assert tab.page.is_visible("#op-timings")
    tab.page.click("#op-timings summary")
    rows = tab.page.eval_on_selector_all(
        "#op-timings .op-row", "rs => rs.map(r => [r.dataset.op, Number(r.dataset.ms), r.querySelector('.op-bar').getBoundingClientRect().width])")
    ms = tab.evaluate("wasmlm.stats")["ms"]
    assert [r[0] for r in rows] == ["matmul", "attention", "norm", "rope", "ffn_act", "logits", "sample", "other"]
    times = {op: t for op, t, _ in rows}
    for op in ("matmul", "attention", "norm", "rope", "logits", "sample"):
        assert abs(times[op] - ms[op]) < 1e-3 and times[op] > 0, (op, times, ms)
    # The bars are drawn to scale: the longest op has the widest bar.
    widths = {op: w for op, _, w in rows}
    assert max(widths, key=widths.get) == max(times, key=times.get) and widths["matmul"] > 20
    tab.page.screenshot(path=shots / "op-chart.png")


def test_telemetry_is_off_by_default_and_sends_only_numbers(tab, wasmlm_server):
    posted = []
    tab.page.on("request", lambda r: posted.append(r.post_data) if r.url.endswith("/api/telemetry") else None)
    answers = []
    tab.page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/telemetry") else None)
    page_open(tab, wasmlm_server)
    assert tab.page.is_checked("#telemetry") is False
    settings_set(tab, temperature=0, max_tokens=16)
    message_send(tab, QUESTION)
    tab.page.wait_for_timeout(500)
    assert posted == [], "telemetry was sent while off"

    tab.page.check("#telemetry")
    message_send(tab, "Say something about zebras, quartz and the number 1187.")
    tab.page.wait_for_timeout(1000)
    assert len(posted) == 1, posted
    report = json.loads(posted[0])
    assert set(report) == {"model", "build", "browser", "threads", "load_ms", "first_token_ms", "prompt_tps",
                           "decode_tps"}
    assert (report["model"], report["browser"]) == (SMOLLM2_ID, "chromium")
    assert report["build"] == tab.evaluate("wasmlm.info")["build"]
    assert all(isinstance(report[k], (int, float)) for k in ("threads", "load_ms", "first_token_ms", "prompt_tps"))
    # Nothing anyone wrote: neither the question nor any reply.
    for m in tab.evaluate("wasmlm.messages"):
        for word in m["content"].split():
            if len(word) > 3 and word not in (SMOLLM2_ID,):
                assert word not in posted[0], (word, posted[0])
    assert "zebra" not in posted[0] and "1187" not in posted[0]
    assert answers == [204]
    metrics = httpx.get(f"{wasmlm_server.url}/metrics").text
    assert f'wasmlm_page_load_seconds_count{{browser="chromium",build="{report["build"]}",model="{SMOLLM2_ID}"}} 1.0' in metrics
    # The choice is remembered in this browser.
    page_open(tab, wasmlm_server)
    assert tab.page.is_checked("#telemetry")


def test_build_debug_flag_loads_the_debug_build(tab, wasmlm_server):
    page_open(tab, wasmlm_server, "?build=debug")
    assert tab.evaluate("wasmlm.info")["build"] == "debug"
    assert "debug (DWARF)" in tab.page.inner_text("#stats")
    settings_set(tab, temperature=0, max_tokens=12)
    assert "Paris" in message_send(tab, "What is the capital of France?")["reply"]["content"]
    tab.open(f"{wasmlm_server.url}/?build=nope")
    assert state_wait(tab, "ready", "error") == "error"
    assert 'no engine build "nope"' in tab.evaluate("wasmlm.error")["message"]
