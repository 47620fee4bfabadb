"""Driving the real chat page as a person would (type, press send) and reading what it shows through
its read-only test hook `window.wasmlm` (static/chat.js): state, info, load, stats, last, messages."""
import json
import time
from typing import Any

from .drivers import Driver, DriverError

# WebKitWebDriver may hand the page back before its module scripts have run: no hook yet is "starting".
READ_VIEW = ("(window.wasmlm ? {state: wasmlm.state, error: wasmlm.error, replies: wasmlm.replies, progress: wasmlm.progress,"
             " notices: wasmlm.notices} : {state: 'starting', error: null, replies: 0, progress: null, notices: []})")


def view_wait(driver: Driver, done_js: str, timeout_s: float, what: str) -> dict:
    """Polls the page until `done_js` (an expression over `view`) holds; an error on the page ends it early."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = driver.evaluate(f"(() => {{ const view = {READ_VIEW}; return {{...view, done: {done_js}}}; }})()")
        if view["done"]:
            return view
        if view["error"]:
            raise DriverError(f"{driver.engine}: the page failed while {what}: {view['error']}")
        if time.monotonic() > deadline:
            raise DriverError(f"{driver.engine}: still {view['state']!r} after {timeout_s:.0f} s of {what} "
                              f"(last progress: {view['progress']}; notices: {view['notices']})")
        time.sleep(0.25)


def state_wait(driver: Driver, *states: str, timeout_s: float = 180) -> str:
    """Waits until the page's state is one of `states`; an error on the page ends the wait early unless
    "error" is among them. Returns the state."""
    done = " || ".join(f"view.state === {json.dumps(state)}" for state in states)
    return view_wait(driver, done, timeout_s, f"waiting for {' or '.join(states)}")["state"]


def model_open(driver: Driver, base_url: str, model_id: str, timeout_s: float = 180,
               threads: int | None = None, query: str = "") -> dict[str, Any]:
    """Opens the page on `model_id` (with ?threads=N where given, else the page picks; `query`, e.g.
    "&sw=0", is appended) and waits for the model to be loaded; returns {info, load, stats}."""
    driver.open(f"{base_url}/?model={model_id}" + (f"&threads={threads}" if threads else "") + query)
    view_wait(driver, "view.state === 'ready'", timeout_s, f"loading {model_id}")
    return driver.evaluate("({info: wasmlm.info, load: wasmlm.load, stats: wasmlm.stats})")


def settings_set(driver: Driver, **values: Any) -> None:
    """Fills the settings form like a person: ids are those of the page (max_tokens -> #max-tokens)."""
    for key, value in values.items():
        selector = "#" + key.replace("_", "-")
        driver.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                        f" e.value = {json.dumps(str(value))}; e.dispatchEvent(new Event('change')); }})()")


def message_send(driver: Driver, text: str, timeout_s: float = 180) -> dict[str, Any]:
    """Types `text`, sends it and waits for the reply; returns {reply, last, stats}."""
    before = driver.evaluate("wasmlm.replies")
    driver.evaluate(f"(() => {{ document.querySelector('#input').value = {json.dumps(text)};"
                    " document.querySelector('#composer').requestSubmit(); })()")
    view_wait(driver, f"view.replies > {before} && view.state === 'ready'", timeout_s, "generating a reply")
    return driver.evaluate("({reply: wasmlm.messages.at(-1), last: wasmlm.last, stats: wasmlm.stats})")
