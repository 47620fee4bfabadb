"""The page without the server, in Chromium: once the model is loaded, turns, New chat and settings need
nothing from it; with the service worker (static/sw.js) and the shard cache warm, a reload with the server
down reaches "ready" and answers; when the server is back, the page and its modules come from it again."""
import json

from e2e.chatpage import message_send, settings_set, state_wait
from wasmlm.defaults import DEFAULT_MODEL_ID
from wasmlm.localserve import LocalServer


def test_turns_and_reload_without_the_server(tab, wasmlm_server, tmp_path):
    chunks_dir = wasmlm_server.chunks_dir
    server = LocalServer(chunks_dir, log_dir=tmp_path).start()
    try:
        tab.open(f"{server.url}/")     # the bare URL: the one the service worker keeps
        state_wait(tab, "ready")
        assert tab.evaluate("Promise.race([navigator.serviceWorker.ready.then((r) => !!r.active),"
                            " new Promise((r) => setTimeout(() => r(false), 15000))])", timeout_s=30), "no service worker"
        settings_set(tab, temperature=0, max_tokens=12)
        message_send(tab, "Hello!")

        server.stop()
        assert "Paris" in message_send(tab, "What is the capital of France?")["reply"]["content"]
        settings_set(tab, temperature=0.5, seed=7)
        assert message_send(tab, "And of Italy?")["last"]["reused_tokens"] > 0
        tab.page.click("#new-chat")
        message_send(tab, "Say hello.")
        assert len(tab.evaluate("wasmlm.messages")) == 2 and tab.evaluate("wasmlm.error") is None

        tab.page.reload()
        state_wait(tab, "ready")
        n_shards = len(json.loads((chunks_dir / DEFAULT_MODEL_ID / "manifest.json").read_text())["shards"])
        load = tab.evaluate("wasmlm.load")
        assert load["from_cache"] == n_shards and load["from_network"] == 0
        settings_set(tab, temperature=0, max_tokens=12)
        assert "Paris" in message_send(tab, "What is the capital of France?")["reply"]["content"]

        # The server is back: the page and its modules are asked from it first (a new content hash wins).
        back_logs = tmp_path / "back"
        back_logs.mkdir()
        server = LocalServer(chunks_dir, port=server.port, log_dir=back_logs).start()
        tab.page.reload()
        state_wait(tab, "ready")
        log = server.log_path.read_text()
        assert '"GET / HTTP' in log and '"GET /static/wasmlm.js HTTP' in log, log[-2000:]
    finally:
        server.stop()
