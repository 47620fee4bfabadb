"""One real server per session, one browser per engine and module; console lines on failure."""
from pathlib import Path

import pytest

from e2e.drivers import ENGINES, launch
from e2e.pageserver import PageServer
from e2e.recorder import Recorder
from e2e.server import chunks_ensure
from wasmlm.defaults import DEFAULT_MODEL_ID
from wasmlm.localserve import LocalServer

PAGES = Path(__file__).resolve().parent.parent / "pages"


@pytest.fixture(scope="session")
def wasmlm_server():
    with LocalServer() as server:
        chunks_ensure(DEFAULT_MODEL_ID, server.chunks_dir)
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.failed and driver is not None:
        report.sections.append((f"{driver.engine} console ({driver.via})", "\n".join(driver.console_lines())))
