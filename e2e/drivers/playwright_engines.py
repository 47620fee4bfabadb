"""Playwright: Chromium always (Debian's /usr/bin/chromium when Playwright's own build is absent),
Firefox and WebKit only where Playwright's own builds are installed (they speak its private protocols)."""
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError, sync_playwright

from . import DriverError, json_expression
from ..procmem import descendant_named

SYSTEM_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BROWSER_PROCESS_NAMES = {"chromium": ("chromium", "chrome"), "firefox": ("firefox",),
                         "webkit": ("MiniBrowser", "pw_run.sh", "WebKitWebProcess")}


def has_own_build(engine: str) -> bool:
    with sync_playwright() as p:
        return Path(getattr(p, engine).executable_path).exists()


class PlaywrightDriver:
    """on_disk: a fresh profile in a temporary directory (Playwright's persistent context), as a user's
    browser has, instead of a context off the record: there Chromium's Cache API refuses to store more
    than about 1.35 GiB (QuotaExceededError) while navigator.storage.estimate() reports a quota of
    several GB, so a bigger model cannot stay cached (docs/bench/scaling.md). Such a driver has no
    context_new()."""

    def __init__(self, engine: str, start_timeout_s: float = 60, on_disk: bool = False):
        self.engine = engine
        self._lines: list[str] = []
        self._profile = tempfile.mkdtemp(prefix=f"wasmlm-{engine}-") if on_disk else None
        self._pw = sync_playwright().start()
        try:
            if on_disk:
                self._browser = None
                context = self._launch(engine, start_timeout_s, self._profile)
                self._page = context.pages[0] if context.pages else context.new_page()
            else:
                self._browser = self._launch(engine, start_timeout_s)
                self._page = self._browser.new_context().new_page()   # a context of its own: tab_new() adds pages
        except PlaywrightError as e:
            self._pw.stop()
            raise DriverError(f"{engine} did not start: {e}") from e
        self._page.on("console", self._console_add)
        self._page.on("pageerror", lambda e: self._lines.append(f"[pageerror] {e}"))
        self._page.on("worker", self._watch_worker)

    def _launch(self, engine: str, timeout_s: float, profile: str | None = None):
        browser_type = getattr(self._pw, engine)
        options: dict[str, Any] = {"headless": True, "timeout": timeout_s * 1000}
        if engine == "chromium":
            options["args"] = CHROMIUM_ARGS
            if not Path(browser_type.executable_path).exists():
                options["executable_path"] = SYSTEM_CHROMIUM
        self.via = "playwright" + (" (system chromium)" if "executable_path" in options else "")
        if profile:
            return browser_type.launch_persistent_context(profile, **options)
        return browser_type.launch(**options)

    def _console_add(self, message) -> None:
        where = message.location.get("url") if message.type == "error" else None
        self._lines.append(f"[{message.type}] {message.text}" + (f" ({where})" if where else ""))

    def _watch_worker(self, worker) -> None:
        # the workers' console lines already arrive through the page's "console" event
        self._lines.append(f"[worker] started {worker.url}")

    def open(self, url: str, timeout_s: float = 30) -> None:
        try:
            self._page.goto(url, timeout=timeout_s * 1000, wait_until="load")
        except PlaywrightError as e:
            raise DriverError(f"{self.engine}: cannot open {url}: {e}") from e

    def tab_new(self) -> "PlaywrightDriver":
        """Another tab of this browser context (same storage), driven like this one."""
        tab = object.__new__(PlaywrightDriver)
        tab.__dict__.update(self.__dict__)
        tab._page = self._page.context.new_page()
        tab._page.on("console", self._console_add)
        return tab

    def context_new(self, **options) -> "PlaywrightDriver":
        """A tab in a new context of this browser: storage of its own (shard cache, service worker) and its
        own console lines; `options` as Playwright's new_context(), e.g. viewport. tab_close() ends it."""
        if self._browser is None:
            raise DriverError(f"{self.engine}: a driver with a profile on disk has one context only")
        tab = object.__new__(PlaywrightDriver)
        tab.__dict__.update(self.__dict__)
        tab._lines = []
        tab._page = self._browser.new_context(**options).new_page()
        tab._page.on("console", tab._console_add)
        tab._page.on("pageerror", lambda e: tab._lines.append(f"[pageerror] {e}"))
        return tab

    @property
    def page(self):
        """The Playwright page, for what only Playwright offers (routing requests, key presses, screenshots):
        tests that use it run in Chromium only."""
        return self._page

    def tab_close(self) -> None:
        self._page.context.close()

    def evaluate(self, js: str, timeout_s: float = 60) -> Any:
        self._page.set_default_timeout(timeout_s * 1000)
        try:
            raw = self._page.evaluate(json_expression(js))
            return json.loads(raw) if raw is not None else None
        except PlaywrightError as e:
            raise DriverError(f"{self.engine}: {e}") from e

    def console_lines(self) -> list[str]:
        return list(self._lines)

    def browser_pid(self) -> int:
        pid = descendant_named(os.getpid(), BROWSER_PROCESS_NAMES[self.engine])
        if pid is None:
            raise DriverError(f"{self.engine}: browser process not found below pid {os.getpid()}")
        return pid

    def close(self) -> None:
        try:
            (self._browser or self._page.context).close()
        finally:
            self._pw.stop()
            if self._profile:
                shutil.rmtree(self._profile, ignore_errors=True)
