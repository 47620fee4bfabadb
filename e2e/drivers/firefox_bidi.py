"""Firefox (Debian's firefox-esr) through its built-in WebDriver BiDi, over one websocket.

Stock Firefox does not speak Playwright's protocol and geckodriver is not packaged, but Firefox itself
listens for BiDi when started with --remote-debugging-port. Console lines of the page and of its workers
arrive as log.entryAdded events.
"""
import itertools
import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from . import DriverError, json_expression

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "firefox-esr"
# quiet start-up: no first-run pages, no update or telemetry traffic
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "browser.aboutwelcome.enabled": False,
}


class FirefoxBidiDriver:
    engine = "firefox"
    via = "webdriver-bidi"

    def __init__(self, start_timeout_s: float = 60, prefs: dict[str, Any] | None = None):
        """prefs: more preferences for this profile (a test's storage limit, say)."""
        self._profile = tempfile.mkdtemp(prefix="wasmlm-firefox-")
        self.profile = Path(self._profile)
        Path(self._profile, "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in {**PREFS, **(prefs or {})}.items()))
        self._proc = subprocess.Popen(
            [FIREFOX, "--headless", "--remote-debugging-port=0", "--profile", self._profile, "--no-remote"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._lines: list[str] = []
        self._replies: dict[int, queue.Queue] = {}
        self._ids = itertools.count(1)
        try:
            ws_url = self._read_ws_url(start_timeout_s)
            self._ws = connect(f"{ws_url}/session", max_size=None, open_timeout=start_timeout_s)
            threading.Thread(target=self._read_messages, daemon=True).start()
            self._send("session.new", {"capabilities": {}}, start_timeout_s)
            self._send("session.subscribe", {"events": ["log.entryAdded"]}, start_timeout_s)
            tree = self._send("browsingContext.getTree", {}, start_timeout_s)
            self._context = tree["contexts"][0]["context"]
        except Exception:
            self._kill()
            raise

    def _read_ws_url(self, timeout_s: float) -> str:
        found: queue.Queue = queue.Queue()

        def drain() -> None:  # keep reading stderr for the browser's whole life, else it blocks on a full pipe
            for line in self._proc.stderr:
                if "WebDriver BiDi listening on " in line:
                    found.put(line.split("listening on ", 1)[1].strip())
                elif line.startswith(("console.", "JavaScript error")):
                    self._lines.append(f"[stderr] {line.rstrip()}")

            found.put(None)  # stderr closed: the browser has gone

        threading.Thread(target=drain, daemon=True).start()
        try:
            url = found.get(timeout=timeout_s)
        except queue.Empty:
            raise DriverError(f"firefox did not offer WebDriver BiDi within {timeout_s:.0f} s") from None
        if url is None:
            raise DriverError(f"firefox exited with code {self._proc.wait()} before offering WebDriver BiDi")
        return url

    def _read_messages(self) -> None:
        try:
            while True:
                message = json.loads(self._ws.recv())
                if "id" in message and message["id"] in self._replies:
                    self._replies[message["id"]].put(message)
                elif message.get("method") == "log.entryAdded":
                    self._lines.append(self._console_line(message["params"]))
        except ConnectionClosed:
            pass

    @staticmethod
    def _console_line(entry: dict) -> str:
        return f"[{entry.get('level', 'info')}] {entry.get('text', '')}"

    def _send(self, method: str, params: dict, timeout_s: float) -> dict:
        command_id = next(self._ids)
        reply: queue.Queue = queue.Queue()
        self._replies[command_id] = reply
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        try:
            message = reply.get(timeout=timeout_s)
        except queue.Empty:
            raise DriverError(f"firefox: {method} got no answer within {timeout_s:.0f} s") from None
        finally:
            del self._replies[command_id]
        if message.get("type") == "error":
            raise DriverError(f"firefox: {method}: {message.get('error')}: {message.get('message')}")
        return message["result"]

    def open(self, url: str, timeout_s: float = 30, wait: str = "complete") -> None:
        self._send("browsingContext.navigate", {"context": self._context, "url": url, "wait": wait},
                   timeout_s)

    def tab_new(self) -> "FirefoxBidiDriver":
        """Another tab of this browser (same profile, same storage), driven like this one."""
        created = self._send("browsingContext.create", {"type": "tab"}, 30)
        tab = object.__new__(FirefoxBidiDriver)
        tab.__dict__.update(self.__dict__)
        tab._context = created["context"]
        return tab

    def evaluate(self, js: str, timeout_s: float = 60) -> Any:
        result = self._send("script.evaluate", {
            "expression": json_expression(js), "target": {"context": self._context},
            "awaitPromise": True}, timeout_s)
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise DriverError(f"firefox: {details.get('text')}")
        value = result["result"]
        return json.loads(value["value"]) if value["type"] == "string" else None

    def console_lines(self) -> list[str]:
        return list(self._lines)

    def browser_pid(self) -> int:
        return self._proc.pid

    def close(self) -> None:
        try:
            self._send("browser.close", {}, 10)
            self._proc.wait(timeout=10)
        except (DriverError, ConnectionClosed, subprocess.TimeoutExpired):
            pass
        finally:
            self._kill()

    def _kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)
