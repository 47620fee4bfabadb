"""Native llama.cpp in the benchmark's sitting, through the `llama-cpp-python` package.

An optional extra (`pip install -e '.[llamacpp]'`: pip builds llama.cpp from source for this CPU,
about 15 minutes on 2 cores); `serve` and the tests do not need it. `wasmlm bench --compare
llama.cpp` runs it on the same GGUF, prompt text and thread count as the other rows, in a child
process of its own (`python -m e2e.llamacpp JOB`), so a crash or a missing package fails one run,
and no llama.cpp thread pool lingers in the bench's process.

Speeds come from llama.cpp's own counters (llama_perf_context), as llama-bench and llama-cli report
them: prompt tokens over prompt-eval time, generated tokens over their eval time. Generation is
greedy and ignores end-of-generation tokens, so every run generates the tokens asked for.
"""
import json
import subprocess
import sys
import time
from pathlib import Path


def installed() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import llama_cpp"], capture_output=True)
    return probe.returncode == 0


def run(gguf: Path, prompt: str, gen_tokens: int, threads: int, n_ctx: int = 2048, timeout_s: float = 900,
        depth: int = 0) -> dict:
    """One cold run in a child process: the row of the bench report, or {"error": ...}. `depth` tokens
    fill the cache first, untimed (llama-bench's -d)."""
    job = json.dumps({"gguf": str(gguf), "prompt": prompt, "gen_tokens": gen_tokens, "threads": threads,
                      "n_ctx": max(n_ctx, depth + 2 * len(prompt) + gen_tokens), "depth": depth})
    row = {"system": "llama.cpp", "engine": "native", "via": "llama-cpp-python", "threads": threads}
    try:
        done = subprocess.run([sys.executable, "-m", "e2e.llamacpp", job], capture_output=True, text=True,
                              timeout=timeout_s, cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        return {**row, "error": f"no result within {timeout_s:.0f} s"}
    if done.returncode != 0:
        return {**row, "error": f"exit code {done.returncode}: {done.stderr.strip()[-2000:]}"}
    return {**row, **json.loads(done.stdout.strip().splitlines()[-1])}


def _measure(job: dict) -> dict:
    import llama_cpp
    import numpy as np

    t0 = time.perf_counter()
    llm = llama_cpp.Llama(model_path=job["gguf"], n_ctx=job["n_ctx"], n_batch=512, n_threads=job["threads"],
                          n_threads_batch=job["threads"], verbose=False)
    load_ms = (time.perf_counter() - t0) * 1e3
    ids = llm.tokenize(job["prompt"].encode(), add_bos=True, special=False)
    ctx = llm.ctx
    depth = job.get("depth", 0)
    if depth:  # the prompt's own tokens over and over, as the engine's CLI fills its cache
        filler = (ids * (depth // len(ids) + 1))[:depth]
        llm.eval(filler)
        ids = ids[1:] if ids[0] == llm.token_bos() else ids
    llama_cpp.llama_perf_context_reset(ctx)
    t0 = time.perf_counter()
    llm.eval(ids)
    ttft_ms = (time.perf_counter() - t0) * 1e3
    n_vocab = llm.n_vocab()
    for _ in range(job["gen_tokens"]):  # greedy on the last position's logits (llm.scores stays empty)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
        llm.eval([int(np.argmax(logits))])
    perf = llama_cpp.llama_perf_context(ctx)
    return {"load_ms": load_ms, "ttft_ms": ttft_ms, "prompt_tokens": perf.n_p_eval, "generated_tokens": perf.n_eval,
            "prefill_tps": perf.n_p_eval * 1e3 / perf.t_p_eval_ms if perf.t_p_eval_ms > 0 else None,
            "decode_tps": perf.n_eval * 1e3 / perf.t_eval_ms if perf.t_eval_ms > 0 else None,
            "depth": depth, "llama_cpp_python": llama_cpp.__version__}


if __name__ == "__main__":
    print(json.dumps(_measure(json.loads(sys.argv[1]))))
