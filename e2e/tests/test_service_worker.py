"""The service worker (static/sw.js) in fresh browser profiles: it never takes over the page that registered
it (taken over mid-load, workers' scripts sometimes never arrived: docs/loading.md), and the next load of the
page is controlled by it."""
import pytest

from e2e.chatpage import model_open
from e2e.drivers import launch
from wasmlm.defaults import DEFAULT_MODEL_ID


SW_ACTIVE_JS = ("Promise.race([navigator.serviceWorker.ready.then((r) => !!r.active),"
                " new Promise((r) => setTimeout(() => r(false), 15000))])")


@pytest.mark.parametrize("engine", ["chromium", "firefox"])
def test_the_service_worker_never_takes_over_an_open_page(engine, wasmlm_server):
    """A first visit (fresh profile) loads the pthreads build while the service worker installs; the service
    worker must not claim the page and its workers in the middle of that (static/sw.js). The next load of the
    page is controlled, for offline use."""
    driver = launch(engine)
    try:
        loaded = model_open(driver, wasmlm_server.url, DEFAULT_MODEL_ID, threads=2, timeout_s=90)
        assert loaded["info"]["threads"] == 2, loaded["info"]
        assert driver.evaluate(SW_ACTIVE_JS, timeout_s=30), "no service worker"
        driver.evaluate("new Promise((r) => setTimeout(r, 1000))")
        assert driver.evaluate("navigator.serviceWorker.controller === null"), "the service worker took over the open page"
        model_open(driver, wasmlm_server.url, DEFAULT_MODEL_ID, threads=2, timeout_s=90)
        assert driver.evaluate("navigator.serviceWorker.controller !== null"), "the next load is not controlled"
    finally:
        driver.close()
