"""Helpers of the browser tests: the chat page in one browser context (the server is wasmlm.localserve's)."""
import json
import re
import subprocess
import time
from pathlib import Path

from wasmlm.defaults import default_model
from wasmlm.localserve import LocalServer as Server
from wasmlm.settings import ROOT

SMOLLM2_ID = default_model("smollm2").id
GEMMA3_ID = default_model("gemma3").id
SHARD_PATH = re.compile(r"/chunks/[^/]+/(\d+)\.bin$")


class ChatPage:
    """One browser context (its own Cache API storage) with the chat page, counting shard requests."""

    def __init__(self, browser, server: Server, viewport=None, context=None):
        """In a new context, or as a new page of `context` (which then stays open after close())."""
        self._own_context = context is None
        self.context = context or browser.new_context(viewport=viewport or {"width": 1200, "height": 800})
        self.page = self.context.new_page()
        self.server = server
        self.shard_requests: list[tuple[int, str | None]] = []
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.context.on("request", self._request_seen)

    def _request_seen(self, request) -> None:
        m = SHARD_PATH.search(request.url)
        if m:
            self.shard_requests.append((int(m.group(1)), request.headers.get("range")))

    def open(self, query: str = "") -> "ChatPage":
        self.page.goto(f"{self.server.url}/{query}")
        return self

    def hook(self, key: str):
        return self.page.evaluate(f"window.wasmlm && window.wasmlm[{key!r}]")

    def wait_state(self, *states: str, timeout_s: float = 180) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.hook("state")
            if state in states:
                return state
            time.sleep(0.1)
        raise AssertionError(f"page stayed {self.hook('state')!r}, wanted {states}; error {self.hook('error')}; "
                             f"console: {self.console[-20:]}")

    def ready(self) -> "ChatPage":
        state = self.wait_state("ready", "error")
        assert state == "ready", f"load failed: {self.hook('error')}; console: {self.console[-20:]}"
        return self

    def settings(self, **values) -> None:
        if not self.page.evaluate("document.querySelector('#settings').open"):
            self.page.click("#settings summary")
        for name, value in values.items():
            self.page.fill(f"#{name}", str(value))

    def send(self, text: str) -> None:
        self.page.fill("#input", text)
        self.page.press("#input", "Enter")

    def close(self) -> None:
        if self._own_context:
            self.context.close()
        else:
            self.page.close()


def reply_wait(chat: ChatPage, replies_before: int, timeout_s: float = 120) -> list[str]:
    """Waits for the next finished reply; returns the partial texts seen while it streamed."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if chat.hook("replies") > replies_before and chat.hook("state") == "ready":
            return seen
        if chat.hook("state") == "generating":
            text = chat.hook("reply")
            if text and (not seen or seen[-1] != text):
                seen.append(text)
        time.sleep(0.02)
    raise AssertionError(f"no reply within {timeout_s} s; error {chat.hook('error')}; console {chat.console[-20:]}")


def native_tokenize(gguf: Path, text: str, special: bool) -> list[int]:
    """The native engine's tokenization (BOS where the model adds one), an implementation apart from the page."""
    from wasmlm.engine_cli import engine_command
    out = subprocess.run([*engine_command("native"), "tokenize", str(gguf), text, *(["--parse-special"] if special else [])],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout)


class ApiPage:
    """The JS API's example page (static/examples/) in its own context, with the model it loaded at
    window.example.model; `call` runs an async JS function body with `model` and `api` in scope."""

    def __init__(self, browser, server: Server, model_id: str = SMOLLM2_ID):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.goto(f"{server.url}/static/examples/index.html?model={model_id}")
        self.page.wait_for_function("() => window.example?.model", timeout=180_000)

    def call(self, body: str, arg=None):
        return self.page.evaluate("async (arg) => { const model = window.example.model;"
                                  " const api = await import('/static/wasmlm.js');" + body + "}", arg)

    def close(self) -> None:
        self.context.close()
