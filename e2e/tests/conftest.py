"""One real server per session (the default models packed), one browser per engine and module; console lines
on failure. The tests that need Playwright's own API (routing requests, key presses, screenshots) take
`chromium` or `tab` and run in Chromium only."""
import os
import sys
import tempfile
from pathlib import Path

import pytest

from e2e.drivers import ENGINES, launch
from e2e.pageserver import PageServer
from e2e.recorder import Recorder
from e2e.server import chunks_ensure
from wasmlm.defaults import DEFAULT_MODELS
from wasmlm.localserve import LocalServer

PAGES = Path(__file__).resolve().parent.parent / "pages"


@pytest.fixture(scope="session")
def wasmlm_server():
    with LocalServer() as server:
        for model in DEFAULT_MODELS:
            chunks_ensure(model.id, server.chunks_dir)
        yield server


@pytest.fixture(scope="session")
def recorder(wasmlm_server):
    """The real server behind a recording proxy: the privacy test reads every request the pages made."""
    with Recorder(wasmlm_server.url) as r:
        yield r


@pytest.fixture(scope="session")
def page_server():
    with PageServer({"/": PAGES}) as server:
        yield server


@pytest.fixture(scope="module", params=ENGINES)
def browser(request):
    driver = launch(request.param)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def chromium():
    """Chromium through Playwright (module scope: Playwright's sync API runs one driver at a time)."""
    driver = launch("chromium")
    yield driver
    driver.close()


@pytest.fixture
def tab(chromium):
    """A Chromium tab in a fresh context: an empty shard cache and no service worker yet."""
    t = chromium.context_new(viewport={"width": 1200, "height": 800})
    yield t
    t.tab_close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """Screenshots go here (WASMLM_SHOTS, else a temporary folder); the path is printed."""
    out = Path(os.environ.get("WASMLM_SHOTS") or tempfile.mkdtemp(prefix="wasmlm-shots-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {out}", file=sys.stderr)
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    funcargs = getattr(item, "funcargs", {})
    driver = funcargs.get("tab") or funcargs.get("browser") or funcargs.get("chromium")
    if report.failed and driver is not None:
        report.sections.append((f"{driver.engine} console ({driver.via})", "\n".join(driver.console_lines())))
