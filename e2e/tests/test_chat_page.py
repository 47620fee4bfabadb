"""The chat page in Chromium only, where a test needs Playwright's own API (its routing of requests, key
presses, screenshots): tokens stream, Stop stops, Shift+Enter, shards cached and resumed, corrupt and
interrupted downloads, a phone-wide screen, a base model, the pthreads build. Real server, engine, Chromium;
what every engine does (load, chat, the cache on the second turn) is in test_chat.py."""
import json
import re
import shutil
import time

import pytest

from e2e.chatpage import message_send, model_open, settings_set, state_wait
from wasmlm.defaults import default_model
from wasmlm.localserve import LocalServer

SMOLLM2_ID = default_model("smollm2").id
GEMMA3_ID = default_model("gemma3").id
SHARD_PATH = re.compile(r"/chunks/[^/]+/(\d+)\.bin$")


def manifest_of(chunks) -> dict:
    return json.loads((chunks / SMOLLM2_ID / "manifest.json").read_text())


def shard_requests_watch(tab) -> list[tuple[int, str | None]]:
    """(shard index, Range header) of every shard request the tab's context makes from now on."""
    seen = []

    def seen_add(request):
        m = SHARD_PATH.search(request.url)
        if m:
            seen.append((int(m.group(1)), request.headers.get("range")))

    tab.page.context.on("request", seen_add)
    return seen


def typed_send(tab, text: str) -> None:
    """Types and presses Enter as a person does; does not wait for the reply."""
    tab.page.fill("#input", text)
    tab.page.press("#input", "Enter")


@pytest.fixture
def server_on_copy(wasmlm_server, tmp_path):
    """A server over a private copy of the packed model, free to be damaged."""
    copy = tmp_path / "chunks"
    shutil.copytree(wasmlm_server.chunks_dir / SMOLLM2_ID, copy / SMOLLM2_ID)
    with LocalServer(copy, log_dir=tmp_path) as server:
        yield server


def test_tokens_stream_into_the_reply(tab, wasmlm_server, shots):
    tab.open(f"{wasmlm_server.url}/")
    tab.page.wait_for_function("() => window.wasmlm.state === 'loading' && window.wasmlm.progress?.bytes > 0")
    tab.page.screenshot(path=shots / "loading.png")
    state_wait(tab, "ready")
    load = tab.evaluate("wasmlm.load")
    assert load["from_network"] > 0 and load["download_ms"] > 0
    # the form: the page's own choices, the API's defaults, and the engine's for the fields left blank
    form = tab.evaluate("Object.fromEntries(['temperature', 'top-k', 'top-p', 'min-p', 'repeat-penalty', 'seed',"
                        " 'max-tokens', 'n-ctx'].map((id) => [id, document.getElementById(id).value]))")
    engine = tab.evaluate("wasmlm.info.defaults")
    assert form == {"temperature": "0.7", "top-k": str(engine["top_k"]), "top-p": str(engine["top_p"]),
                    "min-p": str(engine["min_p"]), "repeat-penalty": "1.1", "seed": "42", "max-tokens": "256",
                    "n-ctx": "2048"}, form
    settings_set(tab, temperature=0, max_tokens=48)
    typed_send(tab, "What is the capital of France?")
    partial = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        view = tab.evaluate("({state: wasmlm.state, replies: wasmlm.replies, reply: wasmlm.reply})")
        if view["replies"] > 0 and view["state"] == "ready":
            break
        if view["state"] == "generating" and view["reply"] and (not partial or partial[-1] != view["reply"]):
            partial.append(view["reply"])
        time.sleep(0.02)
    answer = tab.evaluate("wasmlm.messages.at(-1).content")
    assert len(partial) >= 3, f"tokens did not stream: {partial}"
    assert all(answer.startswith(p) for p in partial)
    assert "Paris" in answer, answer
    tab.page.screenshot(path=shots / "chatting.png")


def test_stop_stops_at_once(tab, wasmlm_server):
    model_open(tab, wasmlm_server.url, SMOLLM2_ID)
    settings_set(tab, temperature=0.8, max_tokens=2000)
    typed_send(tab, "Write a very long story about a lighthouse keeper.")
    tab.page.wait_for_function("() => window.wasmlm.reply.length > 40", timeout=60_000)
    tab.page.click("#stop")
    t0 = time.monotonic()
    state_wait(tab, "ready", timeout_s=5)
    stopped_after = time.monotonic() - t0
    last = tab.evaluate("wasmlm.last")
    assert last["reason"] == "stop"
    assert last["generated_tokens"] < 2000
    assert stopped_after < 1.0, f"Stop took {stopped_after:.2f} s"
    text = tab.evaluate("wasmlm.messages.at(-1).content")
    time.sleep(0.5)
    assert tab.evaluate("wasmlm.messages.at(-1).content") == text, "tokens kept coming after Stop"


def test_new_chat_and_shift_enter(tab, wasmlm_server):
    model_open(tab, wasmlm_server.url, SMOLLM2_ID)
    tab.page.fill("#input", "line one")
    tab.page.press("#input", "Shift+Enter")
    tab.page.type("#input", "line two")
    assert tab.page.input_value("#input") == "line one\nline two"
    assert tab.evaluate("wasmlm.state") == "ready"
    settings_set(tab, max_tokens=4)
    tab.page.press("#input", "Enter")
    tab.page.wait_for_function("() => window.wasmlm.replies > 0 && window.wasmlm.state === 'ready'", timeout=120_000)
    assert tab.evaluate("wasmlm.messages[0].content") == "line one\nline two"
    tab.page.click("#new-chat")
    assert tab.evaluate("wasmlm.messages") == []


def test_reload_makes_no_shard_requests(tab, wasmlm_server):
    requests = shard_requests_watch(tab)
    model_open(tab, wasmlm_server.url, SMOLLM2_ID)
    n_shards = len(manifest_of(wasmlm_server.chunks_dir)["shards"])
    assert len({i for i, _ in requests}) == n_shards
    requests.clear()
    tab.page.reload()
    state_wait(tab, "ready")
    assert requests == []
    load = tab.evaluate("wasmlm.load")
    assert load["from_cache"] == n_shards and load["requests"] == 0


def test_corrupt_shard_is_named_and_recovers(tab, server_on_copy, shots):
    shard = manifest_of(server_on_copy.chunks_dir)["shards"][2]
    path = server_on_copy.chunks_dir / SMOLLM2_ID / shard["file"]
    good = path.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x55
    path.write_bytes(bytes(bad))
    tab.open(f"{server_on_copy.url}/")
    assert state_wait(tab, "ready", "error") == "error"
    error = tab.evaluate("wasmlm.error")
    assert error["where"] == f"shard 2 ({shard['file']})"
    assert "corrupt" in error["message"] and "re-pack" in error["message"]
    assert f"shard 2 ({shard['file']})" in tab.page.inner_text("#error")
    tab.page.screenshot(path=shots / "error.png")

    path.write_bytes(good)
    tab.page.click("#error-retry")
    state_wait(tab, "ready")
    assert tab.evaluate("wasmlm.error") is None


def test_interrupted_load_resumes_without_refetching(tab, wasmlm_server):
    """Shards 0-2 arrive, then the network stalls and the page is reloaded: only the rest is fetched."""
    n_done = 3
    held = []

    def stall(route):
        index = int(route.request.url.rsplit("/", 1)[1].split(".")[0])
        if index < n_done:
            route.continue_()
        else:
            held.append(route)      # never answered: the transfer hangs like a dead connection

    requests = shard_requests_watch(tab)
    tab.page.context.route("**/chunks/*/*.bin", stall)
    tab.open(f"{wasmlm_server.url}/")
    manifest = manifest_of(wasmlm_server.chunks_dir)
    done_bytes = sum(s["size"] for s in manifest["shards"][:n_done])
    tab.page.wait_for_function(f"() => window.wasmlm.progress?.bytes >= {done_bytes}", timeout=60_000)
    time.sleep(1.0)             # the cache write follows the hash check
    tab.page.context.unroute("**/chunks/*/*.bin")
    requests.clear()
    tab.page.reload()
    state_wait(tab, "ready")
    # Shards whose held request was released by unroute() may also have completed before the reload:
    # what matters is that no completed shard is fetched again and nothing is missing.
    again = sorted(i for i, _ in requests)
    from_cache = tab.evaluate("wasmlm.load")["from_cache"]
    assert not set(again) & set(range(n_done))
    assert from_cache >= n_done
    assert len(again) + from_cache == len(manifest["shards"])


def test_cut_transfer_resumes_with_range(tab, wasmlm_server):
    """The body of shard 1 ends halfway; the worker asks for the rest with a Range and the load succeeds."""
    cut = {}

    def cut_once(route):
        if route.request.url.endswith("/001.bin") and not cut:
            body = route.fetch().body()
            cut["at"] = len(body) // 2
            route.fulfill(status=200, headers={"Content-Type": "application/octet-stream"}, body=body[:cut["at"]])
        else:
            route.continue_()

    requests = shard_requests_watch(tab)
    tab.page.context.route("**/chunks/*/*.bin", cut_once)
    model_open(tab, wasmlm_server.url, SMOLLM2_ID)
    assert (1, None) in requests
    assert (1, f"bytes={cut['at']}-") in requests


# A model worker wedged after announcing its engine step, as Firefox's pthreads start once was: it never
# answers again (docs/loading.md, "The Firefox start-up hang").
WEDGED_WORKER = ('self.onmessage = () => self.postMessage({type: "progress", phase: "start", step: "engine",'
                 ' bytes: 0, total: 0, mbps: 0, eta_s: null});')
# One whose event loop still runs (it answers pings) while its engine step never settles.
AWAITING_WORKER = ('self.onmessage = ({data}) => self.postMessage(data.type === "ping" ? {type: "pong"} :'
                   ' {type: "progress", phase: "start", step: "engine", bytes: 0, total: 0, mbps: 0, eta_s: null});')
BLOCKED = "it does not answer a ping either: its thread is blocked or gone"
AWAITING = "its event loop still answers: a step it awaits never settled"


def worker_wedge(tab, times: int, body: str = WEDGED_WORKER) -> list[str]:
    """The first `times` model workers the tab starts are wedged ones; returns the worker requests seen."""
    seen = []

    def serve(route):
        seen.append(route.request.url)
        if len(seen) > times:
            return route.continue_()
        real = route.fetch()           # its headers (COEP, type), with the wedged body
        route.fulfill(status=200, headers=real.headers, body=body)

    tab.page.context.route("**/static/worker.js", serve)
    return seen


def api_load_js(model_id: str, stall_ms: int) -> str:
    """Loads `model_id` through static/wasmlm.js from the page; {notices, info} or {error, where, notices}."""
    return f"""(async () => {{
      const {{ load }} = await import("/static/wasmlm.js");
      const notices = [];
      try {{
        const model = await load("/chunks/{model_id}/", {{ stallMs: {stall_ms}, threads: 1, onNotice: (n) => notices.push(n) }});
        model.dispose();
        return {{ notices, info: model.info }};
      }} catch (err) {{
        return {{ notices, error: err.message, where: err.where }};
      }}
    }})()"""


def test_a_wedged_worker_is_replaced_once(tab, wasmlm_server):
    model_open(tab, wasmlm_server.url, SMOLLM2_ID, query="&sw=0")
    seen = worker_wedge(tab, times=1)
    result = tab.evaluate(api_load_js(SMOLLM2_ID, 2000), timeout_s=120)
    assert result.get("info", {}).get("n_layer") == 30, result
    assert result["notices"] == [f"the model's worker stopped answering while starting the engine (2 s; {BLOCKED}): "
                                 "starting it again"]
    assert len(seen) == 2


def test_a_worker_wedged_twice_fails_the_load_naming_the_step(tab, wasmlm_server):
    model_open(tab, wasmlm_server.url, SMOLLM2_ID, query="&sw=0")
    worker_wedge(tab, times=2)
    result = tab.evaluate(api_load_js(SMOLLM2_ID, 1000), timeout_s=60)
    assert result.get("where") == "load", result
    assert result["error"] == f"the model's worker stopped answering while starting the engine (1 s; {BLOCKED})"
    # the page is still usable: a load with working workers succeeds
    assert tab.evaluate(api_load_js(SMOLLM2_ID, 2000), timeout_s=120)["info"]["n_layer"] == 30


def test_a_stalled_step_says_whether_the_worker_still_answers(tab, wasmlm_server):
    model_open(tab, wasmlm_server.url, SMOLLM2_ID, query="&sw=0")
    worker_wedge(tab, times=2, body=AWAITING_WORKER)
    result = tab.evaluate(api_load_js(SMOLLM2_ID, 1000), timeout_s=60)
    assert result.get("where") == "load", result
    assert result["error"] == f"the model's worker stopped answering while starting the engine (1 s; {AWAITING})"
    assert result["notices"] == [f"the model's worker stopped answering while starting the engine (1 s; {AWAITING}): "
                                 "starting it again"]


def test_phone_width_layout(chromium, wasmlm_server, shots):
    phone = chromium.context_new(viewport={"width": 390, "height": 844})
    try:
        model_open(phone, wasmlm_server.url, SMOLLM2_ID)
        settings_set(phone, max_tokens=24)
        message_send(phone, "Say hello.")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        phone.page.screenshot(path=shots / "phone.png", full_page=True)
    finally:
        phone.tab_close()


def test_base_model_runs_in_completion_mode(tab, wasmlm_server):
    info = model_open(tab, wasmlm_server.url, GEMMA3_ID)["info"]
    assert info["mode"] == "completion"
    assert tab.page.inner_text("#send") == "Continue"
    assert tab.page.is_hidden("#system-row")
    settings_set(tab, temperature=0, max_tokens=12)
    prompt = "def fibonacci(n):\n    "     # llama.cpp continues greedily with "if n" (reference/gemma3_dev_code.json)
    message_send(tab, prompt)
    [doc] = tab.evaluate("wasmlm.messages")
    assert doc["role"] == "document" and doc["content"].startswith(prompt)
    assert doc["content"][len(prompt):].startswith("if n"), doc["content"]


def test_pthreads_build_answers_like_the_single_thread_one(tab, wasmlm_server):
    """?threads=2 runs the pthreads build (shared memory, 2 threads): the same greedy answer as one thread
    (both relaxed SIMD in Chromium)."""
    answers = {}
    for threads in (1, 2):
        info = model_open(tab, wasmlm_server.url, SMOLLM2_ID, threads=threads)["info"]
        assert (info["build"], info["threads"]) == (("relaxed-mt", 2) if threads == 2 else ("relaxed", 1)), info
        settings_set(tab, temperature=0, max_tokens=24)
        answers[threads] = message_send(tab, "What is the capital of France?")["reply"]["content"]
    assert answers[1] == answers[2] and "Paris" in answers[1], answers
