#!/usr/bin/env python3
"""Tokenizer speed in MB/s per vocabulary: the engine natively (C API), the engine in wasm under
Node.js (simd build) and, where `llama_cpp` is importable, llama.cpp. Each tokenizes the GPL-3
licence text (repeated --repeat times) in one call, without BOS, best of --runs, in CPU time (all
three tokenize on one thread, and CPU time holds on a shared machine where wall time does not).

    python3 scripts/tokenizer_bench.py [--repeat 8] [--runs 3] [--vocab NAME ...]

Prints a Markdown table (docs/bench/tokenizers.md holds one).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tokenizer_compare import ROOT, VOCAB_DIR, VOCABS, Engine, LlamaCpp  # noqa: E402

GPL3 = Path("/usr/share/common-licenses/GPL-3")


def best_ms(tokenize, text: bytes, runs: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(runs):
        t0 = time.process_time()
        n = len(tokenize(text))
        best = min(best, (time.process_time() - t0) * 1000)
    return best, n


def wasm_ms(paths: list[Path], text_path: Path, runs: int) -> dict[str, float]:
    out = subprocess.run(["node", str(ROOT / "scripts" / "tokenizer_bench.mjs"), str(text_path), str(runs),
                          *map(str, paths)], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return {Path(r["path"]).name: r["ms"] for r in map(json.loads, out.splitlines())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=8)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--vocab", nargs="*", default=VOCABS)
    args = p.parse_args(argv)
    text = GPL3.read_text() * args.repeat
    data = text.encode()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    paths = [VOCAB_DIR / f"ggml-vocab-{name}.gguf" for name in args.vocab]
    wasm = wasm_ms(paths, Path(f.name), args.runs)
    try:
        import llama_cpp  # noqa: F401
        have_llama = True
    except ImportError:
        have_llama = False
    mb = len(data) / 1e6
    print(f"GPL-3 x{args.repeat}: {len(data)} bytes, best of {args.runs}, CPU time, one thread\n")
    print("| vocabulary | tokens | native MB/s | wasm MB/s | llama.cpp MB/s |\n|---|---|---|---|---|")
    for name, path in zip(args.vocab, paths):
        engine = Engine(path)
        ms, n = best_ms(engine.tokenize, data, args.runs)
        engine.close()
        ref = "n/a"
        if have_llama:
            llama = LlamaCpp(path)
            ref_ms, _ = best_ms(llama.tokenize, data, args.runs)
            llama.close()
            ref = f"{mb / ref_ms * 1000:.1f}"
        print(f"| {name} | {n} | {mb / ms * 1000:.1f} | {mb / wasm[path.name] * 1000:.1f} | {ref} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
