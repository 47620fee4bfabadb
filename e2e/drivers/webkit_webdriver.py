"""WebKitGTK (Debian's MiniBrowser) through WebKitWebDriver and Selenium, on its own Xvfb display.

MiniBrowser has no headless mode, hence the private X server. WebKitWebDriver waits forever when the
browser fails to start, so the session is created in a thread with a deadline and everything is killed
past it. Console lines do not come through WebDriver, and MiniBrowser's
--enable-write-console-messages-to-stdout is not applied to the view it makes for automation, so the
driver wraps the page's console after each navigation and reads the lines back: the page's own lines and
its uncaught errors from then on, not those of its workers (the worker reports its errors to the page).
"""
import json
import os
import queue
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.webkitgtk.options import Options
from selenium.webdriver.webkitgtk.service import Service

from . import DriverError, json_expression
from ..procmem import descendant_named, process_tree

MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
WEBKITWEBDRIVER = "/usr/bin/WebKitWebDriver"
CONSOLE_CAPTURE = """(() => {
  if (window.__e2eConsole) return;
  const lines = window.__e2eConsole = [];
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    const original = console[level].bind(console);
    console[level] = (...args) => { lines.push(`[${level}] ${args.map(String).join(" ")}`); original(...args); };
  }
  addEventListener("error", (e) => lines.push(`[pageerror] ${e.message}`));
  addEventListener("unhandledrejection", (e) => lines.push(`[pageerror] ${e.reason}`));
})()"""


def xvfb_start(timeout_s: float) -> tuple[subprocess.Popen, str]:
    """A private X server; -displayfd makes it pick a free display and write the number when ready."""
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp", "-screen", "0", "1280x1024x24"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    line: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: line.put(_read_line(read_fd)), daemon=True).start()
    try:
        number = line.get(timeout=timeout_s).strip()
    except queue.Empty:
        number = b""
    if not number:
        xvfb.kill()
        raise DriverError(f"Xvfb gave no display number within {timeout_s:.0f} s")
    os.close(read_fd)
    return xvfb, f":{number.decode()}"


def _read_line(fd: int) -> bytes:
    # byte by byte up to the newline: Xvfb writes the number and keeps the pipe open
    line = b""
    while not line.endswith(b"\n") and (byte := os.read(fd, 1)):
        line += byte
    return line


class WebKitDriver:
    engine = "webkit"
    via = "webkitwebdriver"

    def __init__(self, start_timeout_s: float = 60):
        self._xvfb, display = xvfb_start(start_timeout_s)
        self._log = Path(tempfile.mkstemp(prefix="wasmlm-webkit-", suffix=".log")[1])
        env = dict(os.environ, DISPLAY=display, JSC_useSharedArrayBuffer="1")
        self._service = Service(executable_path=WEBKITWEBDRIVER, log_output=str(self._log), env=env)
        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        self._driver = self._start_session(options, start_timeout_s)

    def _start_session(self, options: Options, timeout_s: float) -> webdriver.WebKitGTK:
        result: queue.Queue = queue.Queue()

        def start() -> None:
            try:
                result.put(webdriver.WebKitGTK(options=options, service=self._service))
            except Exception as e:  # handed to the waiting thread
                result.put(e)

        threading.Thread(target=start, daemon=True).start()
        try:
            outcome = result.get(timeout=timeout_s)
        except queue.Empty:
            outcome = DriverError(f"webkit: MiniBrowser did not start within {timeout_s:.0f} s")
        if isinstance(outcome, Exception):
            log_tail = self._log.read_text(errors="replace")[-1000:]
            self._kill()
            raise DriverError(f"webkit: {outcome}\n{log_tail}") from outcome
        return outcome

    def open(self, url: str, timeout_s: float = 30) -> None:
        self._driver.set_page_load_timeout(timeout_s)
        try:
            self._driver.get(url)
        except WebDriverException as e:
            raise DriverError(f"webkit: cannot open {url}: {e.msg}") from e
        self.evaluate(CONSOLE_CAPTURE, timeout_s)

    def evaluate(self, js: str, timeout_s: float = 60) -> Any:
        self._driver.set_script_timeout(timeout_s)
        script = ("const done = arguments[arguments.length - 1];"
                  f"{json_expression(js)}.then(v => done({{ok: v}}), e => done({{error: e instanceof Error ? `${{e.name}}: ${{e.message}}` : String(e)}}));")
        try:
            reply = self._driver.execute_async_script(script)
        except WebDriverException as e:
            raise DriverError(f"webkit: {e.msg}") from e
        if "error" in reply:
            raise DriverError(f"webkit: {reply['error']}")
        return json.loads(reply["ok"]) if reply["ok"] is not None else None

    def console_lines(self) -> list[str]:
        try:
            return self.evaluate("window.__e2eConsole || []", 10)
        except DriverError as e:
            return [f"[driver] console lines unreadable: {e}"]

    def browser_pid(self) -> int:
        pid = descendant_named(self._service.process.pid, ("MiniBrowser",))
        if pid is None:
            raise DriverError("webkit: MiniBrowser process not found")
        return pid

    def close(self) -> None:
        tree = process_tree(self._service.process.pid)
        try:
            self._driver.quit()
        except WebDriverException:
            pass
        finally:
            self._kill(tree)

    def _kill(self, tree: list[int] | None = None) -> None:
        """Ends WebKitWebDriver and every process it started, even those that outlived it."""
        process = getattr(self._service, "process", None)
        if process is not None:
            for pid in reversed(tree or process_tree(process.pid)):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            process.wait()
        self._xvfb.kill()
        self._xvfb.wait()
        self._log.unlink(missing_ok=True)
