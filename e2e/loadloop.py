"""`python -m e2e.loadloop`: cold loads of the chat page, each in a fresh browser profile, counted.

Made to prove that a load never hangs (the pthreads build in Firefox once hung before its first progress
message in 1 load of 12): every load must reach "ready" within --timeout seconds. A load that does not is
reported with the page's last progress and the worker's console, and the command exits 1.

    .venv/bin/python -m e2e.loadloop --browser firefox --threads 2 --loads 30
"""
import argparse
import statistics
import sys
import time

from .chatpage import model_open
from .drivers import ENGINES, DriverError, launch
from .server import DEFAULT_MODEL, WasmlmServer, chunks_ensure


def load_once(engine: str, server_url: str, model_id: str, threads: int | None, timeout_s: float) -> dict:
    """One cold load in a fresh profile: {ok, ms (the page's total_ms), wall_s, build, threads} or {ok: False, error}."""
    driver = launch(engine)
    started = time.monotonic()
    try:
        loaded = model_open(driver, server_url, model_id, timeout_s=timeout_s, threads=threads)
        info, load = loaded["info"], loaded["load"]
        return {"ok": True, "ms": load["total_ms"], "wall_s": time.monotonic() - started,
                "build": info.get("build"), "threads": info.get("threads")}
    except DriverError as e:
        return {"ok": False, "error": str(e), "wall_s": time.monotonic() - started,
                "console": driver.console_lines()[-30:]}
    finally:
        driver.close()


def loop_run(engine: str, loads: int, threads: int | None, model_id: str = DEFAULT_MODEL,
             timeout_s: float = 60, log=print) -> list[dict]:
    results = []
    with WasmlmServer() as server:
        chunks_ensure(model_id, server.chunks_dir)
        for i in range(loads):
            r = load_once(engine, server.url, model_id, threads, timeout_s)
            results.append(r)
            if r["ok"]:
                log(f"load {i + 1}/{loads}: ready in {r['ms']:.0f} ms ({r['build']}, {r['threads']} threads)")
            else:
                log(f"load {i + 1}/{loads}: FAILED after {r['wall_s']:.0f} s: {r['error']}")
                for line in r["console"]:
                    log(f"    {line}")
    return results


def summary(results: list[dict]) -> str:
    ok = [r for r in results if r["ok"]]
    line = f"{len(ok)} of {len(results)} loads ready, {len(results) - len(ok)} hung or failed"
    if ok:
        ms = sorted(r["ms"] for r in ok)
        line += f"; load ms median {statistics.median(ms):.0f}, max {ms[-1]:.0f}"
    return line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m e2e.loadloop", description=__doc__.splitlines()[0])
    p.add_argument("--browser", default="firefox", choices=ENGINES)
    p.add_argument("--threads", type=int, default=2, help="the page's ?threads=N (0: the page picks)")
    p.add_argument("--loads", type=int, default=30)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--timeout", type=float, default=60, help="seconds a load may take to reach ready")
    args = p.parse_args(argv)
    results = loop_run(args.browser, args.loads, args.threads or None, args.model, args.timeout)
    print(summary(results))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
