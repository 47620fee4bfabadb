"""`launch("chromium", on_disk=True)`: a fresh profile on disk, as a user's browser has, for the benchmark and
the load loop. Playwright's usual context is off the record, where Chromium's Cache API refuses to store more
than ~1.35 GiB (docs/bench/scaling.md), so a 2.4 GB model was half downloaded again on every warm load.
A file of its own: Playwright's sync API runs one driver at a time, and test_drivers.py holds one per module."""
from pathlib import Path

import pytest

from e2e.drivers import DriverError, launch


def test_the_cache_api_writes_into_the_profile_on_disk(page_server):
    driver = launch("chromium", on_disk=True)
    try:
        profile = Path(driver._profile)
        driver.open(f"{page_server.url}/probe.html")
        stored = driver.evaluate("caches.open('t').then((c) => c.put('/x', new Response(new Uint8Array(1 << 20))))"
                                 ".then(() => caches.open('t')).then((c) => c.keys()).then((k) => k.length)")
        assert stored == 1
        on_disk = sum(f.stat().st_size for f in profile.rglob("*") if f.is_file() and "CacheStorage" in str(f))
        assert on_disk >= 1 << 20, f"the 1 MiB entry is not under {profile}"
        with pytest.raises(DriverError, match="one context"):
            driver.context_new()
    finally:
        driver.close()
    assert not profile.exists()
