"""Soak: one chat page, many turns. The context policy drops old turns again and again (512-token
context), Stop is pressed at random moments, New chat now and then; every block of turns reports wasm
memory, the browser's memory (PSS of its whole process tree), decode speed and the page's worker
threads, which must all stay flat. One process, one page, one load: nothing is reopened.

    .venv/bin/python -m e2e.soak --turns 200 --stops 50 [--engine chromium] [--json out.json]

The short form runs in CI (e2e/tests/test_soak.py); figures of a long run are in docs/soak.md.
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path

from wasmlm.defaults import DEFAULT_MODEL_ID
from wasmlm.localserve import LocalServer

from .chatpage import model_open, settings_set, view_wait
from .drivers import launch
from .procmem import process_tree, pss_bytes
from .server import chunks_ensure

TOPICS = ["the sea", "bread", "a violin", "the moon", "rain", "chess", "a lighthouse", "bees", "glass",
          "trains", "salt", "maps", "owls", "copper", "tea", "volcanoes", "paper", "wind", "clocks", "ice"]
CONTEXT_DROPPED = "The context was full"
WORKER_THREAD = "DedicatedWorker"  # Chromium's thread name for a Web Worker (and for each pthread)


def worker_threads(root_pid: int) -> int:
    """Threads named like a dedicated worker in the browser's process tree."""
    n = 0
    for pid in process_tree(root_pid):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                n += (task / "comm").read_text().startswith(WORKER_THREAD)
            except OSError:
                pass
    return n


def turn_run(driver, text: str, stop_after_s: float | None, timeout_s: float = 120) -> dict:
    """One turn; with stop_after_s, Stop is pressed that long after sending. Returns {last, drops,
    restarted}: the page's stats of the turn, how many times it dropped old turns, whether it restarted
    the worker (a Stop not honoured within the page's grace time: the model is loaded again, the turn is
    gone and the page's notices start afresh)."""
    replies, notices = driver.evaluate("(() => { window.soakLoad = JSON.stringify(wasmlm.load);"
                                       " return [wasmlm.replies, wasmlm.notices.length]; })()")
    driver.evaluate(f"(() => {{ document.querySelector('#input').value = {json.dumps(text)};"
                    " document.querySelector('#composer').requestSubmit(); })()")
    if stop_after_s is not None:
        time.sleep(stop_after_s)
        driver.evaluate("document.querySelector('#stop').click()")
    # a stopped turn counts as a reply too (its text so far is kept)
    view_wait(driver, f"view.state === 'ready' && (view.replies > {replies} || JSON.stringify(wasmlm.load) !== window.soakLoad)",
              timeout_s, "a soak turn")
    return driver.evaluate(f"(() => {{ const restarted = JSON.stringify(wasmlm.load) !== window.soakLoad;"
                           f" const fresh = restarted ? wasmlm.notices : wasmlm.notices.slice({notices});"
                           " return {last: wasmlm.last, restarted, drops: fresh.filter((n) =>"
                           f" n.startsWith({json.dumps(CONTEXT_DROPPED)})).length}}; }})()")


def sample(driver, t0: float) -> dict:
    stats = driver.evaluate("wasmlm.stats")
    root = driver.browser_pid()
    return {"wasm_mib": stats["memory"]["heap"] / 2**20, "browser_mib": pss_bytes(process_tree(root)) / 2**20,
            "workers": worker_threads(root), "elapsed_s": time.monotonic() - t0}


def soak_run(driver, base_url: str, turns: int, stops: int, new_chat_every: int = 50, block: int = 20,
             seed: int = 1, out=sys.stderr) -> list[dict]:
    """Runs the soak on an open driver; returns one row per block of turns."""
    rng = random.Random(seed)
    model_open(driver, base_url, DEFAULT_MODEL_ID)
    settings_set(driver, n_ctx=512)
    view_wait(driver, "view.state === 'ready'", 180, "reloading at 512 tokens of context")
    settings_set(driver, max_tokens=24, temperature=0.7, seed=seed)
    stop_turns = set(rng.sample(range(turns), min(stops, turns)))
    rows, speeds, n_stops, drops, restarts, t0 = [], [], 0, 0, 0, time.monotonic()
    print(f"{'turns':>5} {'drops':>5} {'stops':>5} {'restarts':>8} {'gen tok/s':>9} {'wasm MiB':>8} {'browser MiB':>11} "
          f"{'workers':>7} {'s':>6}", file=out)
    for i in range(turns):
        if i and i % new_chat_every == 0:
            driver.evaluate("document.querySelector('#new-chat').click()")
        stop_after = rng.uniform(0.05, 1.5) if i in stop_turns else None
        n_stops += stop_after is not None
        turn = turn_run(driver, f"Tell me one fact about {rng.choice(TOPICS)}.", stop_after)
        drops += turn["drops"]
        restarts += turn["restarted"]
        last = turn["last"]
        if stop_after is None and last and last.get("gen_tps"):
            speeds.append(last["gen_tps"])
        if (i + 1) % block == 0 or i + 1 == turns:
            row = {"turns": i + 1, "stops": n_stops, "drops": drops, "restarts": restarts, **sample(driver, t0),
                   "gen_tps": sum(speeds) / len(speeds) if speeds else None}
            rows.append(row)
            speeds = []
            print(f"{row['turns']:>5} {row['drops']:>5} {row['stops']:>5} {row['restarts']:>8} "
                  f"{row['gen_tps'] or 0:>9.1f} {row['wasm_mib']:>8.1f} {row['browser_mib']:>11.0f} "
                  f"{row['workers']:>7} {row['elapsed_s']:>6.0f}", file=out, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m e2e.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--turns", type=int, default=200)
    p.add_argument("--stops", type=int, default=50)
    p.add_argument("--block", type=int, default=20, help="turns per reported row")
    p.add_argument("--engine", default="chromium")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args(argv)
    with LocalServer() as server:
        chunks_ensure(DEFAULT_MODEL_ID, server.chunks_dir)
        driver = launch(args.engine)
        try:
            rows = soak_run(driver, server.url, args.turns, args.stops, block=args.block)
        finally:
            driver.close()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
