"""The model's storage in the real browsers: a warm load places the decoded bytes the cache keeps (no Brotli,
no sha256), bad entries are fetched again, two tabs load at once, a full quota and a stalled cache read
still end in a loaded model; and cold loads of the pthreads build in fresh Firefox profiles never hang."""
import json
import os

import pytest

from e2e.chatpage import model_open, view_wait
from e2e.drivers.firefox_bidi import FirefoxBidiDriver
from e2e.loadloop import loop_run, summary
from wasmlm.defaults import DEFAULT_MODEL_ID

CACHE = "wasmlm-shards-v2"
# Cold loads of the pthreads build per CI run (the long form: `python -m e2e.loadloop --loads 30`).
MT_LOADS = int(os.environ.get("WASMLM_MT_LOADS", "3"))


def manifest(server) -> dict:
    return json.loads((server.chunks_dir / DEFAULT_MODEL_ID / "manifest.json").read_text())


def cache_clear(driver, server) -> None:
    """Empties this profile's shard cache: from a plain file of the same origin, so no load starts."""
    driver.open(f"{server.url}/static/chat.css")
    driver.evaluate(f"caches.delete({json.dumps(CACHE)})")


def cache_entries(driver) -> list[dict]:
    """Every entry of the shard cache as {key, size (header), length (body)}."""
    return driver.evaluate(f"""(async () => {{
        const c = await caches.open({json.dumps(CACHE)});
        const out = [];
        for (const req of await c.keys()) {{
            const r = await c.match(req);
            out.push({{key: req.url.split('/').pop(), size: Number(r.headers.get('x-wasmlm-size')),
                       length: (await r.arrayBuffer()).byteLength}});
        }}
        return out;
    }})()""")


def notices(driver) -> list[str]:
    return driver.evaluate("wasmlm.notices")


# WebKitGTK under WebKitWebDriver drops this origin's 26 shard entries between two loads of the page (a
# few small entries persist; measured: warm load from_cache 0, the same with the encoded v1 entries).
NO_LASTING_CACHE = {"webkit"}


def test_warm_load_places_the_decoded_bytes_without_hashing(browser, wasmlm_server):
    if browser.engine in NO_LASTING_CACHE:
        pytest.skip("WebKitGTK under WebDriver keeps no shard entries from one load to the next")
    shards = manifest(wasmlm_server)["shards"]
    cache_clear(browser, wasmlm_server)
    cold = model_open(browser, wasmlm_server.url, DEFAULT_MODEL_ID)["load"]
    assert (cold["from_network"], cold["hashed"]) == (len(shards), len(shards))   # verified once, when stored
    entries = cache_entries(browser)
    assert sorted(e["key"] for e in entries) == sorted(s["sha256"] for s in shards)
    sizes = {s["sha256"]: s["size"] for s in shards}
    assert all(e["size"] == e["length"] == sizes[e["key"]] for e in entries), entries
    warm = model_open(browser, wasmlm_server.url, DEFAULT_MODEL_ID)["load"]
    assert (warm["from_cache"], warm["from_network"], warm["requests"]) == (len(shards), 0, 0)
    assert warm["hashed"] == 0, "a warm load must not hash the shards again"


def test_bad_cache_entries_are_fetched_again(browser, wasmlm_server):
    if browser.engine in NO_LASTING_CACHE:
        pytest.skip("WebKitGTK under WebDriver keeps no shard entries from one load to the next")
    shards = manifest(wasmlm_server)["shards"]
    model_open(browser, wasmlm_server.url, DEFAULT_MODEL_ID)
    changed, missing = shards[2]["sha256"], shards[5]["sha256"]
    browser.evaluate(f"""(async () => {{
        const c = await caches.open({json.dumps(CACHE)});
        for (const req of await c.keys()) {{
            if (req.url.endsWith({json.dumps(missing)})) await c.delete(req);
            if (!req.url.endsWith({json.dumps(changed)})) continue;
            const r = await c.match(req);
            const bytes = new Uint8Array(await r.arrayBuffer());
            bytes[bytes.length >> 1] ^= 0x55;             // same size, one byte changed
            await c.put(req, new Response(bytes, {{headers: r.headers}}));
        }}
    }})()""")
    load = model_open(browser, wasmlm_server.url, DEFAULT_MODEL_ID)["load"]
    assert (load["from_network"], load["from_cache"]) == (2, len(shards) - 2)
    said = "\n".join(notices(browser))
    assert f"shard 2 ({shards[2]['file']}) was corrupt in the cache (its bytes changed" in said, said
    again = model_open(browser, wasmlm_server.url, DEFAULT_MODEL_ID)["load"]
    assert again["from_cache"] == len(shards), "the bad entries were replaced"


def test_two_tabs_load_the_same_model_at_once(browser, wasmlm_server):
    if browser.engine == "webkit":
        pytest.skip("the WebKitGTK driver drives one tab")
    shards = manifest(wasmlm_server)["shards"]
    cache_clear(browser, wasmlm_server)
    other = browser.tab_new()
    url = f"{wasmlm_server.url}/?model={DEFAULT_MODEL_ID}"
    browser.open(url)
    other.open(url)
    for tab in (browser, other):
        view_wait(tab, "view.state === 'ready'", 180, "loading in one of two tabs")
    for tab in (browser, other):     # the later tab may find some shards the other one already stored
        load = tab.evaluate("wasmlm.load")
        assert load["from_network"] + load["from_cache"] == len(shards) and load["from_network"] > 0, load
        assert not any("corrupt" in n for n in notices(tab)), notices(tab)
    entries = cache_entries(browser)
    sizes = {s["sha256"]: s["size"] for s in shards}
    assert sorted(e["key"] for e in entries) == sorted(sizes), "one entry per shard"
    assert all(e["size"] == e["length"] == sizes[e["key"]] for e in entries), entries
    load = model_open(other, wasmlm_server.url, DEFAULT_MODEL_ID)["load"]
    assert load["from_cache"] == len(shards) and not notices(other), notices(other)


# ---- Firefox only: its storage limit is a preference, and its profile is a folder the test can reach ----

def test_full_storage_still_loads_with_a_notice(wasmlm_server):
    # 40 MB for everything: the origin's share (a fifth, at least 10 MB) holds a few 4 MiB shards only
    driver = FirefoxBidiDriver(prefs={"dom.quotaManager.temporaryStorage.fixedLimit": 40 * 1024})
    try:
        loaded = model_open(driver, wasmlm_server.url, DEFAULT_MODEL_ID)
        assert loaded["info"]["n_layer"] == 30
        assert loaded["load"]["caching"] is False
        said = "\n".join(notices(driver))
        assert "caching is off" in said and "downloaded again next time" in said, said
    finally:
        driver.close()


def test_stalled_cache_read_is_evicted_and_fetched_again(wasmlm_server):
    """One body file of the cache replaced by a FIFO whose write end the test holds open and silent: Firefox
    opens it at once, and reading it waits for good: a real stalled read, not a fake."""
    driver = FirefoxBidiDriver()
    writer = None
    try:
        shards = manifest(wasmlm_server)["shards"]
        # ?sw=0: no service worker, whose own cache (page, modules, engine builds) would share the origin's
        # body files with the shards'
        model_open(driver, wasmlm_server.url, DEFAULT_MODEL_ID, query="&sw=0")
        driver.open(f"{wasmlm_server.url}/static/chat.css")   # no page holds the cache while a file is swapped
        bodies = sorted(driver.profile.glob("storage/default/*/cache/morgue/*/*.final"))
        assert len(bodies) == len(shards), bodies
        fifo = bodies[len(bodies) // 2]
        fifo.unlink()
        os.mkfifo(fifo)
        writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)      # a writer that never writes
        load = model_open(driver, wasmlm_server.url, DEFAULT_MODEL_ID, timeout_s=120, query="&sw=0")["load"]
        said = notices(driver)
        assert any("was corrupt in the cache (reading it stalled" in n for n in said), said
        assert load["from_network"] == 1 and load["from_cache"] == len(shards) - 1, (load, said)
        assert load["caching"] is True
    finally:
        if writer is not None:
            os.close(writer)                                    # the blocked reader sees the end of the file
        driver.close()


def test_pthreads_build_cold_loads_never_hang():
    """Fresh Firefox profiles, ?threads=2: each load must reach ready (it once hung in 1 of 12). 90 s: a load
    whose worker wedges gets a new one after 30 s (static/wasmlm.js), and that must have time to finish."""
    results = loop_run("firefox", MT_LOADS, threads=2, timeout_s=90, log=lambda line: None)
    assert all(r["ok"] for r in results), summary(results) + "\n" + "\n".join(
        f"{r['error']}\n" + "\n".join(r["console"]) for r in results if not r["ok"])
    assert all(r["build"] == "relaxed-mt" and r["threads"] == 2 for r in results), results
