"""`python -m e2e.loadloop`: cold loads of the chat page, each in a fresh browser profile, counted and timed.

Made to prove that a load never hangs (the pthreads build in Firefox once hung before its first progress
message in 1 load of 12): every load must reach "ready" within --timeout seconds; loads that got there only
because the page replaced a wedged worker (static/wasmlm.js, START_STALL_MS) are counted apart. A load that does not is
reported with the page's last progress and the worker's console, and the command exits 1. With --reloads K
each cold load is followed by K warm ones (the page reloaded, shards from the browser's cache).

    .venv/bin/python -m e2e.loadloop --browser firefox --threads 2 --loads 30
    .venv/bin/python -m e2e.loadloop --browser chromium --threads 1 --loads 5 --reloads 3
"""
import argparse
import statistics
import sys
import time

from wasmlm.defaults import DEFAULT_MODEL_ID
from wasmlm.localserve import LocalServer

from .chatpage import model_open
from .drivers import ENGINES, DriverError, launch
from .server import chunks_ensure


def load_once(engine: str, server_url: str, model_id: str, threads: int | None, timeout_s: float,
              reloads: int = 0) -> dict:
    """One cold load in a fresh profile, then `reloads` warm ones: {ok, ms (the page's total_ms of the cold
    load), warm_ms [...], wall_s, build, threads, cold, warm (the last load stats)} or {ok: False, error}."""
    driver = launch(engine, on_disk=True)
    started = time.monotonic()
    try:
        loaded = model_open(driver, server_url, model_id, timeout_s=timeout_s, threads=threads)
        info, load = loaded["info"], loaded["load"]
        restarts = [n for n in driver.evaluate("wasmlm.notices") if "stopped answering" in n]
        warm = [model_open(driver, server_url, model_id, timeout_s=timeout_s, threads=threads)["load"]
                for _ in range(reloads)]
        return {"ok": True, "ms": load["total_ms"], "warm_ms": [w["total_ms"] for w in warm],
                "wall_s": time.monotonic() - started, "build": info.get("build"), "threads": info.get("threads"),
                "cold": load, "warm": warm[-1] if warm else None, "restarts": restarts,
                "console": driver.console_lines()[-30:] if restarts else []}
    except DriverError as e:
        return {"ok": False, "error": str(e), "wall_s": time.monotonic() - started,
                "console": driver.console_lines()[-30:]}
    finally:
        driver.close()


def loop_run(engine: str, loads: int, threads: int | None, model_id: str = DEFAULT_MODEL_ID,
             timeout_s: float = 60, log=print, reloads: int = 0) -> list[dict]:
    results = []
    with LocalServer() as server:
        chunks_ensure(model_id, server.chunks_dir)
        for i in range(loads):
            r = load_once(engine, server.url, model_id, threads, timeout_s, reloads)
            results.append(r)
            if r["ok"]:
                warm = "".join(f", warm {ms:.0f}" for ms in r["warm_ms"])
                log(f"load {i + 1}/{loads}: ready in {r['ms']:.0f} ms{warm} ({r['build']}, {r['threads']} threads)"
                    f"; {phases(r['cold'])}" + (f"; warm: {phases(r['warm'])}" if r["warm"] else "")
                    + "".join(f"; RESTARTED: {n}" for n in r["restarts"]))
                for line in r["console"] if r["restarts"] else []:
                    log(f"    {line}")
            else:
                log(f"load {i + 1}/{loads}: FAILED after {r['wall_s']:.0f} s: {r['error']}")
                for line in r["console"]:
                    log(f"    {line}")
    return results


def phases(load: dict) -> str:
    """Where a load's time went, from the worker's own figures."""
    return (f"download {load['download_ms']:.0f}, decode+check {load['decode_ms']:.0f}, "
            f"engine {load['engine_ms']:.0f} (compile {load['compile_ms']:.0f}) ms, "
            f"{load['from_cache']} cached, {load.get('hashed', '?')} hashed")


def summary(results: list[dict]) -> str:
    ok = [r for r in results if r["ok"]]
    restarted = sum(1 for r in ok if r["restarts"])
    line = (f"{len(ok)} of {len(results)} loads ready ({restarted} after replacing a wedged worker), "
            f"{len(results) - len(ok)} hung or failed")
    if ok:
        ms = sorted(r["ms"] for r in ok)
        line += f"; cold load ms median {statistics.median(ms):.0f}, min {ms[0]:.0f}, max {ms[-1]:.0f}"
        warm = sorted(w for r in ok for w in r["warm_ms"])
        if warm:
            line += f"; warm load ms median {statistics.median(warm):.0f}, min {warm[0]:.0f}, max {warm[-1]:.0f}"
    return line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m e2e.loadloop", description=__doc__.splitlines()[0])
    p.add_argument("--browser", default="firefox", choices=ENGINES)
    p.add_argument("--threads", type=int, default=2, help="the page's ?threads=N (0: the page picks)")
    p.add_argument("--loads", type=int, default=30)
    p.add_argument("--model", default=DEFAULT_MODEL_ID)
    p.add_argument("--timeout", type=float, default=60, help="seconds a load may take to reach ready")
    p.add_argument("--reloads", type=int, default=0, help="warm loads after each cold one")
    args = p.parse_args(argv)
    results = loop_run(args.browser, args.loads, args.threads or None, args.model, args.timeout,
                       reloads=args.reloads)
    print(summary(results))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
