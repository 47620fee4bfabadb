"""`python -m e2e.workerrace`: reproduces the Firefox start-up hang of the pthreads build outside the product.

Rounds of e2e/pages/workerrace/index.html: a module worker compiles the engine's wasm and gets its thread pool's
worker, either making it itself (--mode nested, what Emscripten's glue does) or through the page (--mode relay,
what static/thread_relay.js does), optionally with a service worker that takes over the page each round (--sw).
A round hangs when the pool worker never reports "loaded" (10 s); the line then says whether the outer worker's
thread still answers and the last step it reached. Exits 1 if any round hung. Figures: docs/loading.md.
"""
import argparse
import json
import sys
import time
from pathlib import Path

from .drivers import ENGINES, launch
from .pageserver import PageServer

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "e2e" / "pages" / "workerrace"
BUILD = ROOT / "build" / "wasm"
ROUND_S = 13   # the longest a round takes: 10 s to call it hung, 2 s of ping, the pause


def profile_run(engine: str, url: str, rounds: int) -> list[dict]:
    """The rounds of one fresh browser profile."""
    driver = launch(engine, on_disk=True)
    try:
        driver.open(url)
        deadline = time.monotonic() + rounds * ROUND_S + 30
        while not driver.evaluate("window.done") and time.monotonic() < deadline:
            time.sleep(1)
        return driver.evaluate("window.results")
    finally:
        driver.close()


def race_run(engine: str, mode: str, sw: bool, profiles: int, rounds: int, log=print) -> list[dict]:
    results = []
    with PageServer({"/build": BUILD, "/": PAGE}) as server:
        url = f"{server.url}/index.html?mode={mode}&sw={int(sw)}&rounds={rounds}"
        for p in range(profiles):
            got = profile_run(engine, url, rounds)
            for r in got:
                if not r["ok"]:
                    log(f"HUNG profile {p} {json.dumps(r)}")
            log(f"profile {p + 1}/{profiles}: {len(got)} rounds, {sum(not r['ok'] for r in got)} hung")
            results += got
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m e2e.workerrace", description=__doc__.split("\n")[0])
    ap.add_argument("--browser", choices=ENGINES, default="firefox")
    ap.add_argument("--mode", choices=["nested", "relay"], default="nested")
    ap.add_argument("--sw", action="store_true", help="a service worker takes over the page each round")
    ap.add_argument("--profiles", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=40, help="rounds per profile")
    args = ap.parse_args(argv)
    results = race_run(args.browser, args.mode, args.sw, args.profiles, args.rounds)
    hung = [r for r in results if not r["ok"]]
    blocked = sum(r.get("alive") is False for r in hung)
    print(f"{args.browser}, mode {args.mode}{', service worker' if args.sw else ''}: {len(results)} rounds, "
          f"{len(hung)} hung ({blocked} with the outer worker's thread blocked)")
    return 1 if hung else 0


if __name__ == "__main__":
    sys.exit(main())
