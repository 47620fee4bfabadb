"""Operations features of the chat page: the per-op timing chart after a reply, the opt-in telemetry that
sends numbers only (and nothing while off), and ?build=debug. Real server, engine and Chromium."""
import json

import httpx

from chat_harness import SMOLLM2_ID, ChatPage

QUESTION = "What is the capital of France? zebra-quartz-1187"


def reply_wait(chat: ChatPage, before: int) -> None:
    chat.page.wait_for_function(f"() => window.wasmlm.replies > {before} && window.wasmlm.state === 'ready'",
                                timeout=180_000)


def test_op_chart_appears_after_a_reply(browser, server, shots):
    chat = ChatPage(browser, server)
    try:
        chat.open().ready()
        assert chat.page.is_hidden("#op-timings")
        chat.settings(temperature=0, **{"max-tokens": 16})
        chat.send("What is the capital of France?")
        reply_wait(chat, 0)
        assert chat.page.is_visible("#op-timings")
        chat.page.click("#op-timings summary")
        rows = chat.page.eval_on_selector_all(
            "#op-timings .op-row", "rs => rs.map(r => [r.dataset.op, Number(r.dataset.ms), r.querySelector('.op-bar').getBoundingClientRect().width])")
        ms = chat.hook("stats")["ms"]
        assert [r[0] for r in rows] == ["matmul", "attention", "norm", "rope", "ffn_act", "logits", "sample", "other"]
        times = {op: t for op, t, _ in rows}
        for op in ("matmul", "attention", "norm", "rope", "logits", "sample"):
            assert abs(times[op] - ms[op]) < 1e-3 and times[op] > 0, (op, times, ms)
        # The bars are drawn to scale: the longest op has the widest bar.
        widths = {op: w for op, _, w in rows}
        assert max(widths, key=widths.get) == max(times, key=times.get) and widths["matmul"] > 20
        chat.page.screenshot(path=shots / "op-chart.png")
    finally:
        chat.close()


def test_telemetry_is_off_by_default_and_sends_only_numbers(browser, server):
    chat = ChatPage(browser, server)
    posted = []
    chat.page.on("request", lambda r: posted.append(r.post_data) if r.url.endswith("/api/telemetry") else None)
    answers = []
    chat.page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/telemetry") else None)
    try:
        chat.open().ready()
        assert chat.page.is_checked("#telemetry") is False
        chat.settings(temperature=0, **{"max-tokens": 16})
        chat.send(QUESTION)
        reply_wait(chat, 0)
        chat.page.wait_for_timeout(500)
        assert posted == [], "telemetry was sent while off"

        chat.page.check("#telemetry")
        chat.send("Say something about zebras, quartz and the number 1187.")
        reply_wait(chat, 1)
        chat.page.wait_for_function("() => true")
        chat.page.wait_for_timeout(1000)
        assert len(posted) == 1, posted
        report = json.loads(posted[0])
        assert set(report) == {"model", "build", "browser", "threads", "load_ms", "first_token_ms", "prompt_tps",
                               "decode_tps"}
        assert (report["model"], report["browser"]) == (SMOLLM2_ID, "chromium")
        assert report["build"] == chat.hook("info")["build"]
        assert all(isinstance(report[k], (int, float)) for k in ("threads", "load_ms", "first_token_ms", "prompt_tps"))
        # Nothing anyone wrote: neither the question nor any reply.
        for m in chat.hook("messages"):
            for word in m["content"].split():
                if len(word) > 3 and word not in (SMOLLM2_ID,):
                    assert word not in posted[0], (word, posted[0])
        assert "zebra" not in posted[0] and "1187" not in posted[0]
        assert answers == [204]
        metrics = httpx.get(f"{server.url}/metrics").text
        assert f'wasmlm_page_load_seconds_count{{browser="chromium",build="{report["build"]}",model="{SMOLLM2_ID}"}} 1.0' in metrics
        # The choice is remembered in this browser.
        chat.open().ready()
        assert chat.page.is_checked("#telemetry")
    finally:
        chat.close()


def test_build_debug_flag_loads_the_debug_build(browser, server):
    chat = ChatPage(browser, server)
    try:
        chat.open("?build=debug").ready()
        assert chat.hook("info")["build"] == "debug"
        assert "debug (DWARF)" in chat.page.inner_text("#stats")
        chat.settings(temperature=0, **{"max-tokens": 12})
        chat.send("What is the capital of France?")
        reply_wait(chat, 0)
        assert "Paris" in chat.hook("messages")[-1]["content"]
        chat.open("?build=nope")
        assert chat.wait_state("ready", "error") == "error"
        assert 'no engine build "nope"' in chat.hook("error")["message"]
    finally:
        chat.close()
