"""Each driver against the drivers' own probe page: what the chat page needs from an engine."""
import pytest

from e2e.drivers import DriverError


def test_page_is_isolated_with_simd_in_a_module_worker(browser, page_server):
    browser.open(f"{page_server.url}/probe.html")
    assert browser.evaluate("window.probe.isolated") is True
    assert browser.evaluate("window.probe.worker") == {"sharedArrayBuffer": True, "simd": True}


def test_evaluate_returns_json_values(browser, page_server):
    browser.open(f"{page_server.url}/probe.html")
    assert browser.evaluate("({a: [1, 'two', null], b: 1.5})") == {"a": [1, "two", None], "b": 1.5}
    assert browser.evaluate("new Promise((r) => setTimeout(() => r(7), 10))") == 7


def test_script_errors_name_the_engine(browser, page_server):
    browser.open(f"{page_server.url}/probe.html")
    with pytest.raises(DriverError, match=browser.engine):
        browser.evaluate("no_such_variable")


def test_console_lines_arrive(browser, page_server):
    browser.open(f"{page_server.url}/probe.html")
    browser.evaluate("window.probe.worker")
    browser.evaluate("console.log('said by the test')")
    lines = browser.console_lines()
    assert any("said by the test" in line for line in lines), lines
    if browser.engine != "webkit":  # WebKitGTK offers no way to read its workers' console (see its driver)
        assert any("probe worker says hello" in line for line in lines), lines


def test_browser_process_is_found(browser, page_server):
    from e2e.procmem import process_tree, pss_bytes
    assert pss_bytes(process_tree(browser.browser_pid())) > 10 * 2**20


def test_browser_that_cannot_start_fails_fast(monkeypatch):
    import time
    from e2e.drivers import firefox_bidi, webkit_webdriver
    monkeypatch.setattr(firefox_bidi, "FIREFOX", "/bin/false")
    monkeypatch.setattr(webkit_webdriver, "MINIBROWSER", "/bin/false")
    for driver_class in (firefox_bidi.FirefoxBidiDriver, webkit_webdriver.WebKitDriver):
        started = time.monotonic()
        with pytest.raises(DriverError):
            driver_class(start_timeout_s=5)
        assert time.monotonic() - started < 15, driver_class
