"""`python -m e2e.cachequota [--mib 3000]`: how much Chromium's Cache API really stores, off the record (a
Playwright context, a private window) and in a profile on disk, against what navigator.storage.estimate()
reports. 4 MiB entries (a shard's size) are put until --mib or the first error. docs/bench/scaling.md.
"""
import argparse
import json
from pathlib import Path

from .drivers import launch
from .pageserver import PageServer

PAGES = Path(__file__).resolve().parent / "pages"
FILL = """(async () => {
  const c = await caches.open('quota-probe'), entry = new Uint8Array(4 << 20);
  let stored = 0, error = null;
  try { for (; stored < %d; stored++) await c.put('/e' + stored, new Response(entry)); }
  catch (e) { error = e.name + ': ' + e.message; }
  const { quota, usage } = await navigator.storage.estimate();
  return { stored_mib: stored * 4, kept_entries: (await c.keys()).length, error,
           estimate_quota_mib: Math.round(quota / 2 ** 20), estimate_usage_mib: Math.round(usage / 2 ** 20) };
})()"""


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m e2e.cachequota", description=__doc__.splitlines()[0])
    p.add_argument("--mib", type=int, default=3000, help="how much to try to store")
    args = p.parse_args()
    with PageServer({"/": PAGES}) as server:
        for on_disk in (False, True):
            driver = launch("chromium", on_disk=on_disk)
            try:
                driver.open(f"{server.url}/probe.html")
                result = driver.evaluate(FILL % (args.mib // 4), timeout_s=600)
                version = driver.evaluate("navigator.userAgent")
            finally:
                driver.close()
            print(json.dumps({"profile": "on disk" if on_disk else "off the record", **result, "browser": version}))


if __name__ == "__main__":
    main()
