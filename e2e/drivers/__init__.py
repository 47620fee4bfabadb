"""One small interface over three browser engines.

    driver = launch("firefox")          # fresh profile, headless, bounded start-up
    driver.open("http://127.0.0.1:8000/")
    driver.evaluate("document.title")   # any JS expression; promises are awaited; the value comes back as JSON
    driver.console_lines()              # console output of the page and its workers so far
    driver.close()

Where Playwright's own browser builds are installed (a developer's laptop), Playwright drives all three
engines. Otherwise each engine gets the driver that works with the Debian build: Chromium through
Playwright, Firefox through its built-in WebDriver BiDi, WebKitGTK through WebKitWebDriver under Xvfb.
`driver.via` says which one ran.
"""
from typing import Any, Protocol

ENGINES = ("chromium", "firefox", "webkit")


class DriverError(RuntimeError):
    """A browser failed to start, navigate or evaluate within its time limit."""


class Driver(Protocol):
    engine: str  # "chromium" | "firefox" | "webkit"
    via: str     # which automation ran it, e.g. "playwright", "webdriver-bidi", "webkitwebdriver"

    def open(self, url: str, timeout_s: float = 30) -> None: ...
    def evaluate(self, js: str, timeout_s: float = 60) -> Any: ...
    def console_lines(self) -> list[str]: ...
    def tab_new(self) -> "Driver": ...      # another tab with the same storage (Chromium, Firefox)
    def browser_pid(self) -> int: ...
    def close(self) -> None: ...


def json_expression(js: str) -> str:
    """Wraps an expression so every driver returns the same thing: its awaited value as a JSON string."""
    return f"(async () => JSON.stringify(await ({js})))()"


def launch(engine: str, start_timeout_s: float = 60, on_disk: bool = False) -> Driver:
    """on_disk: a profile on disk as a user's browser has (Firefox and WebKit always have one; Playwright's
    contexts are off the record, where Chromium keeps at most ~1.35 GiB in the Cache API)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown browser engine {engine!r}; expected one of {', '.join(ENGINES)}")
    from . import playwright_engines
    if playwright_engines.has_own_build(engine) or engine == "chromium":
        return playwright_engines.PlaywrightDriver(engine, start_timeout_s, on_disk)
    if engine == "firefox":
        from .firefox_bidi import FirefoxBidiDriver
        return FirefoxBidiDriver(start_timeout_s)
    from .webkit_webdriver import WebKitDriver
    return WebKitDriver(start_timeout_s)
