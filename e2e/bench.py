"""`wasmlm bench`: the same model and prompt in each browser engine, under Node.js and natively, and
optionally on wllama and on native llama.cpp; several runs each, then statistics (e2e/report.py).

A browser run opens the real chat page in a fresh profile (cold load: empty cache), sends one prompt,
reloads the page (warm load: shards from the browser's cache) and reads the page's own figures through
its test hook, while a thread samples the PSS of the browser's whole process tree.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from wasmlm.defaults import DEFAULT_MODEL_ID, DEFAULT_MODELS, ModelMissing, gguf_path
from wasmlm.engine_cli import engine_command, model_resolve
from wasmlm.localserve import LocalServer
from wasmlm.settings import NATIVE_CLI, ROOT

from . import llamacpp
from .chatpage import message_send, model_open, settings_set
from .drivers import ENGINES, DriverError, launch
from .pageserver import PageServer
from .procmem import PssSampler
from .server import chunks_ensure

RUNTIMES = ("node", "native")
# Plain prose, cut to the wanted number of tokens: the prompt is the same for every engine and system.
PROSE = ("The river ran slowly past the old mill, where children had once played among the stones and the "
         "miller had told them stories of floods, of dry summers, of the winter the water froze so hard that "
         "carts crossed it. ")


def token_count(gguf: Path, text: str) -> int:
    runtime = "native" if NATIVE_CLI.exists() else "node"
    out = subprocess.run([*engine_command(runtime), "tokenize", str(gguf), text],
                         check=True, capture_output=True, text=True).stdout
    return len(json.loads(out))


def prompt_text(gguf: Path, n_tokens: int) -> str:
    """The longest run of whole words of PROSE (repeated) that tokenizes to at most n_tokens."""
    words = (PROSE * (n_tokens // 20 + 2)).split()
    lo, hi = 1, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if token_count(gguf, " ".join(words[:mid])) <= n_tokens:
            lo = mid
        else:
            hi = mid - 1
    return " ".join(words[:lo])


def browser_run(engine: str, server_url: str, model_id: str, prompt: str, gen_tokens: int,
                threads: int | None, timeout_s: float = 180) -> dict:
    driver = launch(engine, on_disk=True)   # as a user's profile: an off-the-record one caches at most ~1.35 GiB
    try:
        with PssSampler(driver.browser_pid()) as pss:
            cold = model_open(driver, server_url, model_id, timeout_s, threads=threads)
            notices = driver.evaluate("wasmlm.notices")   # a cache that filled up says so here
            settings_set(driver, temperature=0, max_tokens=gen_tokens, system="")
            answer = message_send(driver, prompt, timeout_s)
            warm = model_open(driver, server_url, model_id, timeout_s, threads=threads)
            notices += driver.evaluate("wasmlm.notices")   # each load starts its own list
    except DriverError as e:
        return run_failed("wasmlm", driver, e)
    finally:
        driver.close()
    last = answer["last"]
    return {"system": "wasmlm", "engine": engine, "via": driver.via,
            "cold_load_ms": cold["load"]["total_ms"], "warm_load_ms": warm["load"]["total_ms"],
            "warm_from_cache": warm["load"].get("from_cache"), "notices": notices,
            "ttft_ms": last["ttft_ms"], "prefill_tps": last["prompt_tps"], "decode_tps": last["gen_tps"],
            "prompt_tokens": last["prompt_tokens"], "generated_tokens": last["generated_tokens"],
            "build": cold["info"].get("build"), "threads": cold["info"].get("threads"),
            "plan_bytes": (cold["load"].get("plan") or {}).get("total"), "n_ctx": cold["info"].get("n_ctx"),
            "wasm_bytes": cold["stats"]["memory"].get("heap"), "pss_peak_bytes": pss.peak}


def run_failed(system: str, driver, error: DriverError) -> dict:
    """A run that failed is kept in the report (counted, with its error and console) instead of ending the bench."""
    return {"system": system, "engine": driver.engine, "via": driver.via, "error": str(error),
            "console": driver.console_lines()[-40:]}


def wllama_run(engine: str, pages_url: str, gguf: Path, prompt: str, gen_tokens: int, threads: int) -> dict:
    driver = launch(engine)
    options = {"modelUrl": f"{pages_url}/models/{gguf.name}", "prompt": prompt, "maxTokens": gen_tokens,
               "threads": threads, "nCtx": 2048}
    try:
        with PssSampler(driver.browser_pid()) as pss:
            driver.open(f"{pages_url}/pages/wllama.html")
            cold = driver.evaluate(f"window.wllamaBench.run({json.dumps(options)})", 600)
            warm = driver.evaluate(f"window.wllamaBench.run({json.dumps(options)})", 600)
    except DriverError as e:
        return run_failed("wllama", driver, e)
    finally:
        driver.close()
    t = cold["timings"]
    return {"system": "wllama", "engine": engine, "via": driver.via, "cache": cold["cache"],
            "cold_load_ms": cold["load_ms"], "warm_load_ms": warm["load_ms"], "ttft_ms": cold["ttft_ms"],
            "prefill_tps": t["prompt_per_second"], "decode_tps": t["predicted_per_second"],
            "prompt_tokens": t["prompt_n"], "generated_tokens": t["predicted_n"], "pss_peak_bytes": pss.peak}


def cli_run(runtime: str, gguf: Path, prompt_tokens: int, gen_tokens: int, depth: int = 0) -> dict:
    done = subprocess.run([*engine_command(runtime), "bench", str(gguf), "--prompt", str(prompt_tokens),
                           "--gen", str(gen_tokens), "--depth", str(depth)], capture_output=True, text=True)
    row = {"system": "wasmlm", "engine": runtime, "via": Path(engine_command(runtime)[-1]).name}
    if done.returncode != 0:
        return {**row, "error": f"exit code {done.returncode}: {done.stderr.strip()[-2000:]}"}
    figures = json.loads(done.stdout)
    return {**row, "ttft_ms": figures.get("ttft_ms"), "prefill_tps": figures.get("prefill_tps"),
            "decode_tps": figures.get("decode_tps"), "wasm_bytes": figures.get("memory_bytes"), "raw": figures}


COMPARE = ("wllama", "llama.cpp")


def packed_ids(chunks_dir: Path = ROOT / "chunks") -> list[str]:
    return sorted(p.parent.name for p in chunks_dir.glob("*/manifest.json"))


def gguf_resolve(model_id: str, chunks_dir: Path = ROOT / "chunks") -> Path:
    """The GGUF of a model for the runtimes, wllama and llama.cpp, which read a whole file: the default
    models' files, else what `wasmlm logits ID` runs on (models/, or the shards reassembled once)."""
    if model_id in {m.id for m in DEFAULT_MODELS}:
        return gguf_path(model_id)
    return model_resolve(model_id, chunks_dir)


def machine_describe() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def args_parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="wasmlm bench", description=__doc__.splitlines()[0])
    p.add_argument("--browsers", "--runtime", dest="browsers", default=",".join((*ENGINES, *RUNTIMES)),
                   help="comma-separated: chromium, firefox, webkit, node, native")
    p.add_argument("--model", default=DEFAULT_MODEL_ID, help="a packed model id (chunks/ID), default %(default)s")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--gen-tokens", type=int, default=64)
    p.add_argument("--depth", type=int, default=0,
                   help="tokens already in the KV cache before the timed prompt, untimed (llama-bench's -d): "
                   "node, native and llama.cpp rows only")
    p.add_argument("--threads", type=int, help="for wllama and llama.cpp (default: --page-threads, else 1)")
    p.add_argument("--page-threads", type=int, help="the chat page's ?threads=N (default: the page picks)")
    p.add_argument("--compare", default="", help="comma-separated: wllama (in the same browsers), llama.cpp "
                   "(native, through the optional llama-cpp-python extra): same model, prompt and settings")
    p.add_argument("--out", type=Path, default=ROOT / "e2e" / "reports" / "raw")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    args = p.parse_args(argv)
    args.targets = [t.strip() for t in args.browsers.split(",") if t.strip()]
    unknown = [t for t in args.targets if t not in (*ENGINES, *RUNTIMES)]
    if unknown:
        p.error(f"unknown --browsers entries {', '.join(unknown)}; choose from {', '.join((*ENGINES, *RUNTIMES))}")
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.depth < 0:
        p.error("--depth must not be negative")
    if args.depth and any(t in ENGINES for t in args.targets):
        p.error("--depth applies to node, native and llama.cpp only (the chat page starts with an empty cache)")
    args.compare = [c.strip() for c in args.compare.split(",") if c.strip()]
    if any(c not in COMPARE for c in args.compare):
        p.error(f"--compare takes {', '.join(COMPARE)}, got {','.join(args.compare)}")
    models = sorted({*(m.id for m in DEFAULT_MODELS), *packed_ids()})
    if args.model not in models:
        p.error(f"unknown --model {args.model!r}; packed models: {', '.join(models)}")
    args.threads = args.threads or args.page_threads or 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = args_parse(sys.argv[1:] if argv is None else argv)
    from . import report
    try:
        gguf = gguf_resolve(args.model)
    except ModelMissing as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if "llama.cpp" in args.compare and not llamacpp.installed():
        print("error: llama-cpp-python is missing; `.venv/bin/pip install -e '.[llamacpp]'` builds it (docs/bench)",
              file=sys.stderr)
        return 1
    if "wllama" in args.compare and not (ROOT / "node_modules/@wllama/wllama/esm/wasm/wllama.wasm").exists():
        print("error: node_modules/@wllama/wllama is missing; run `npm ci` in the repository root", file=sys.stderr)
        return 1
    prompt = prompt_text(gguf, args.prompt_tokens)
    browsers = [t for t in args.targets if t in ENGINES]
    runs: list[dict] = []
    started, load_before = time.time(), os.getloadavg()[0]
    if browsers:
        with LocalServer() as server:
            chunks_ensure(args.model, server.chunks_dir)
            for engine in browsers:
                for i in range(args.runs):
                    runs.append(browser_run(engine, server.url, args.model, prompt, args.gen_tokens, args.page_threads,
                                            timeout_s=max(180, gguf.stat().st_size / 5e6)))  # GB models: minutes
                    print(f"wasmlm/{engine} run {i + 1}: {_brief(runs[-1])}", file=sys.stderr)
    if "wllama" in args.compare and browsers:
        mounts = {"/wllama": ROOT / "node_modules/@wllama/wllama", "/wllama-compat": ROOT / "node_modules/@wllama/wllama-compat",
                  "/models": gguf.parent, "/pages": ROOT / "e2e/pages"}
        with PageServer(mounts) as pages:
            for engine in browsers:
                for i in range(args.runs):
                    runs.append(wllama_run(engine, pages.url, gguf, prompt, args.gen_tokens, args.threads))
                    print(f"wllama/{engine} run {i + 1}: {_brief(runs[-1])}", file=sys.stderr)
    for runtime in (t for t in args.targets if t in RUNTIMES):
        for i in range(args.runs):
            runs.append(cli_run(runtime, gguf, args.prompt_tokens, args.gen_tokens, args.depth))
            print(f"wasmlm/{runtime} run {i + 1}: {_brief(runs[-1])}", file=sys.stderr)
    if "llama.cpp" in args.compare:
        for i in range(args.runs):
            runs.append(llamacpp.run(gguf, prompt, args.gen_tokens, args.threads, depth=args.depth))
            print(f"llama.cpp/native run {i + 1}: {_brief(runs[-1])}", file=sys.stderr)
    setup = {"model": args.model, "runs": args.runs, "prompt tokens": args.prompt_tokens, "depth": args.depth,
             "tokens generated": args.gen_tokens, "wllama and llama.cpp threads": args.threads,
             "page threads": args.page_threads or "the page's choice",
             "machine": machine_describe(), "date": time.strftime("%Y-%m-%d %H:%M"),
             "duration_s": round(time.time() - started),
             # other work on the machine skews every figure: say how busy it was
             "load average (1 min) at start, end": f"{load_before:.2f}, {os.getloadavg()[0]:.2f}"}
    result = report.write(runs, setup, args.out)
    print(json.dumps(result["rows"], indent=1) if args.json else report.markdown(result["rows"], setup))
    return 0


def _brief(run: dict) -> str:
    if "error" in run:
        return f"FAILED: {run['error']}"
    return ", ".join(f"{k} {run[k]:.1f}" for k in ("prefill_tps", "decode_tps", "ttft_ms") if run.get(k) is not None)


if __name__ == "__main__":
    sys.exit(main())
