"""What the q8_0 KV cache does to the logits, against the f16 cache, on the real models.

Teacher-forced on the first N tokens of the GPL-3 text (as the perplexity protocol of docs/fidelity.md):
for every position, the KL divergence of the q8_0 cache's next-token distribution from the f16 cache's,
whether the top token is the same, and the largest logit difference. Runs the native CLI (every build gives
the same logits: tests/engine/test_builds.py). Prints a markdown table (docs/kv-cache.md).

    .venv/bin/python scripts/kv_cache_compare.py [--tokens 512]
"""
import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "native" / "wasmlm-cli"
MODELS = {"SmolLM2-135M Q4_1": ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf",
          "Gemma 3 270M Q4_K_M": ROOT / "models/gemma-3-270m-q4_k_m.gguf"}
TEXT = Path("/usr/share/common-licenses/GPL-3")


def cli(*args) -> str:
    return subprocess.run([str(CLI), *map(str, args)], check=True, capture_output=True, text=True).stdout


def logits_of(gguf: Path, ids: list[int], cache_type: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "logits.f32"
        cli("layers", gguf, "--ids", json.dumps(ids), "--positions", json.dumps(list(range(len(ids)))),
            "--logits", out, "--cache-type", cache_type)
        return np.fromfile(out, np.float32).reshape(len(ids), -1)


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def compare(gguf: Path, n_tokens: int) -> dict:
    ids = json.loads(cli("tokenize", gguf, TEXT.read_text()[: n_tokens * 8]))[:n_tokens]
    a, b = logits_of(gguf, ids, "f16"), logits_of(gguf, ids, "q8_0")
    la, lb = log_softmax(a), log_softmax(b)
    kl = (np.exp(la) * (la - lb)).sum(axis=1)
    # the ppl of the text's next tokens under each cache, on the same positions
    nxt = np.array(ids[1:])
    nll = lambda lp: -lp[np.arange(len(nxt)), nxt].mean()  # noqa: E731
    return {"positions": len(ids), "top1_same": float((a.argmax(1) == b.argmax(1)).mean()),
            "kl_mean": float(kl.mean()), "kl_p99": float(np.quantile(kl, 0.99)), "kl_max": float(kl.max()),
            "logit_diff_max": float(np.abs(a - b).max()),
            "ppl_f16": float(np.exp(nll(la[:-1]))), "ppl_q8_0": float(np.exp(nll(lb[:-1])))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, default=512)
    n = ap.parse_args().tokens
    print("| model | positions | top-1 same | KL mean | KL p99 | KL max | max logit diff | ppl f16 | ppl q8_0 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, gguf in MODELS.items():
        r = compare(gguf, n)
        print(f"| {name} | {r['positions']} | {100 * r['top1_same']:.1f}% | {r['kl_mean']:.5f} | {r['kl_p99']:.5f} | "
              f"{r['kl_max']:.4f} | {r['logit_diff_max']:.3f} | {r['ppl_f16']:.3f} | {r['ppl_q8_0']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
