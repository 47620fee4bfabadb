"""Nothing typed leaves the browser: a two-turn chat through a recording proxy, in each engine. Every request
the page, its worker and its service worker make (URL, headers, body) is kept, and none holds the random
markers typed into the system prompt and the messages."""
import secrets

import pytest

from e2e.chatpage import message_send, model_open, settings_set
from e2e.recorder import Recorder
from e2e.server import DEFAULT_MODEL


@pytest.fixture(scope="module")
def recorder(wasmlm_server):
    with Recorder(wasmlm_server.url) as r:
        yield r


def test_no_request_carries_the_conversation(browser, recorder):
    markers = [f"m{secrets.token_hex(8)}" for _ in range(3)]
    model_open(browser, recorder.url, DEFAULT_MODEL)
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
