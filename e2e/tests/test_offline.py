"""The page without the server: once the model is loaded, turns, New chat and settings need nothing from it;
with the service worker (static/sw.js) and the shard cache warm, a reload with the server down reaches
"ready" and answers; when the server is back, the page and its modules come from it again."""
import json

from chat_harness import SMOLLM2_ID, ChatPage, Server, reply_wait


def test_turns_and_reload_without_the_server(browser, chunks_dir, tmp_path):
    server = Server(chunks_dir, log_dir=tmp_path).start()
    chat = ChatPage(browser, server)
    try:
        chat.open().ready()
        assert chat.page.evaluate("Promise.race([navigator.serviceWorker.ready.then((r) => !!r.active),"
                                  " new Promise((r) => setTimeout(() => r(false), 15000))])"), "no service worker"
        chat.settings(temperature=0, **{"max-tokens": 12})
        chat.send("Hello!")
        reply_wait(chat, 0)

        server.stop()
        chat.send("What is the capital of France?")
        reply_wait(chat, 1)
        assert "Paris" in chat.hook("messages")[-1]["content"]
        chat.settings(temperature=0.5, seed=7)
        chat.send("And of Italy?")
        reply_wait(chat, 2)
        assert chat.hook("last")["reused_tokens"] > 0
        chat.page.click("#new-chat")
        chat.send("Say hello.")
        reply_wait(chat, 3)
        assert len(chat.hook("messages")) == 2 and chat.hook("error") is None

        chat.page.reload()
        chat.ready()
        n_shards = len(json.loads((chunks_dir / SMOLLM2_ID / "manifest.json").read_text())["shards"])
        load = chat.hook("load")
        assert load["from_cache"] == n_shards and load["from_network"] == 0
        chat.settings(temperature=0, **{"max-tokens": 12})
        chat.send("What is the capital of France?")
        reply_wait(chat, 0)
        assert "Paris" in chat.hook("messages")[-1]["content"]

        # The server is back: the page and its modules are asked from it first (a new content hash wins).
        back_logs = tmp_path / "back"
        back_logs.mkdir()
        server = Server(chunks_dir, port=server.port, log_dir=back_logs).start()
        chat.page.reload()
        chat.ready()
        log = server.log_path.read_text()
        assert '"GET / HTTP' in log and '"GET /static/wasmlm.js HTTP' in log, log[-2000:]
    finally:
        chat.close()
        server.stop()
