"""llama.cpp as the oracle: for each architecture x format, a tiny synthetic model (`wasmlm synth`, fixed
seed) quantized by llama.cpp itself, and llama.cpp's teacher-forced logits on it (llama-cpp-python),
written as small JSON under tests/data/oracle/ for tests/engine/test_oracle.py. Docs: docs/models.md.

    .venv/bin/pip install 'wasmlm[llamacpp]'        # or the cached wheel (PREAMBLE / docs/models.md)
    .venv/bin/python scripts/oracle_references.py    # every pair; --only qwen3 / --only Q4_K_M to filter

Adding a format or an architecture is one line in FORMATS or ARCHS, then this command. The F32, F16 and
BF16 files are written again by the test itself (same seed, same bytes: their sha256 is checked); the
quantized ones, a few hundred KB at most, are committed beside their JSON because CI has no llama.cpp.
"""

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from wasmlm.fidelity.llamacpp import llamacpp_logits  # noqa: E402
from wasmlm.llamacpp_quant import llamacpp_quantize  # noqa: E402
from wasmlm.synth import synth_run  # noqa: E402

OUT = ROOT / "tests" / "data" / "oracle"
SEED = 0
N_CTX = 256     # llama.cpp pads its context to 256: the engine gets the same, so both pick the same rope factors
N_IDS = 80      # two batches of the engine (64 + 16), past gemma3's tiny 16-token sliding window
TOP = 8         # ids kept per position

# architecture -> (family, synth arguments beyond the format's size class, formats: None = all)
ARCHS = {
    "llama": ("smollm2-135m", {}, None),
    "llama3": ("llama3.2-1b", {"context": 1024}, None),  # rope_freqs over an original context of 64
    "qwen2": ("qwen2.5-0.5b", {}, None),                # q/k/v biases
    "qwen3": ("qwen3-0.6b", {}, None),                  # per-head q/k RMSNorm, q wider than the embedding
    "gemma3": ("gemma3-270m", {}, None),
    "phi3.5": ("phi3.5-mini", {"context": 1024}, None),  # long rope factors (256 > original context 32), attn_factor
    # variants of the same code with other metadata: the formats the test writes itself
    "phi3": ("phi3-mini", {}, ("F32", "F16", "BF16")),                        # no rope factors
    "phi3.5-short": ("phi3.5-mini", {"context": 32768}, ("F32", "F16", "BF16")),  # 256 <= original context 1024
}

# Size classes. Written by the test (not committed): 2 layers. Committed files are kept to 60-300 KB:
# rows of 32 values suit every legacy format; K-quants need rows of 256, so one layer, one key/value
# head of 64 and a feed-forward of 128 (ffn_down then falls back to Q8_0 in llama.cpp's mix; Q6_K
# still holds token_embd/output and attn_v or phi3's attn_qkv).
WRITTEN = {"layers": 2, "width": 64, "ff": 128, "vocab_size": 300}
SMALL = {"layers": 1, "width": 64, "ff": 64, "vocab_size": 260}
WIDE = {"layers": 1, "width": 256, "ff": 128, "vocab_size": 260, "head_dim": 64, "kv_heads": 1}

# format -> (how the file is made: "synth" = written by `wasmlm synth --type`, else llama.cpp's quantize; size class)
FORMATS = {
    "F32": ("synth", WRITTEN),
    "F16": ("synth", WRITTEN),
    "BF16": ("synth", WRITTEN),
    "Q8_0": ("llama.cpp", SMALL),
    "Q5_0": ("llama.cpp", SMALL),
    "Q4_1": ("llama.cpp", SMALL),
    "Q4_0": ("llama.cpp", SMALL),
    "Q4_K_M": ("llama.cpp", WIDE),   # Q4_K, with Q6_K for token_embd/output and attn_v (phi3: attn_qkv)
    "Q5_1": ("llama.cpp", SMALL),
    "IQ4_NL": ("llama.cpp", SMALL),
    "Q2_K": ("llama.cpp", WIDE),     # Q2_K, with Q3_K/Q4_K where llama.cpp's mix wants more bits
    "Q3_K_M": ("llama.cpp", WIDE),   # Q3_K, with Q4_K/Q5_K/Q6_K in llama.cpp's mix
    "Q5_K_M": ("llama.cpp", WIDE),   # Q5_K, with Q6_K
    "IQ4_XS": ("llama.cpp", WIDE),   # IQ4_XS; rows that do not fill 256 fall back to IQ4_NL
}


def synth_file(args: dict, path: Path) -> Path:
    """The model of a reference's "synth" arguments (tests/engine/test_oracle.py does the same)."""
    a = dict(args)
    return synth_run(a.pop("family"), path, **a)[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def case_ids(n_vocab: int) -> list[int]:
    rng = np.random.default_rng(SEED + 1)
    return [1] + [int(i) for i in rng.integers(3, n_vocab, N_IDS - 1)]


def synth_args(arch: str, fmt: str) -> dict:
    family, extra, _ = ARCHS[arch]
    how, size = FORMATS[fmt]
    args = {"family": family, "seed": SEED, **size, **extra}
    args["dtype"] = fmt.lower() if how == "synth" else "f32"
    return args


def reference_make(arch: str, fmt: str, work: Path) -> dict:
    args = synth_args(arch, fmt)
    base = work / f"{arch}.{fmt}.base.gguf"
    synth_file(args, base)
    if FORMATS[fmt][0] == "synth":
        model, committed = base, None
    else:
        model = OUT / f"{arch}.{fmt}.gguf"
        llamacpp_quantize(base, model, fmt)
        committed = model.name
    ids = case_ids(args["vocab_size"])
    logits = llamacpp_logits(sys.executable, model, ids, n_ctx=N_CTX)
    top = np.argsort(-logits, axis=1, kind="stable")[:, :TOP]
    import llama_cpp
    return {
        "arch": arch, "format": fmt, "synth": args, "file": committed, "sha256": sha256(model),
        "bytes": model.stat().st_size, "n_ctx": N_CTX, "ids": ids,
        "llama_cpp": llama_cpp.__version__,
        "top": [[[int(i), round(float(row[i]), 5)] for i in order] for row, order in zip(logits, top)],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", action="append", default=[], help="an architecture or format (repeatable)")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wasmlm-oracle-") as tmp:
        for arch, (_, _, formats) in ARCHS.items():
            for fmt in formats or FORMATS:
                if args.only and arch not in args.only and fmt not in args.only:
                    continue
                ref = reference_make(arch, fmt, Path(tmp))
                out = OUT / f"{arch}.{fmt}.json"
                out.write_text(json.dumps(ref, separators=(",", ":")) + "\n")
                print(f"{out.relative_to(ROOT)}  model {ref['bytes']} bytes ({ref['file'] or 'written by the test'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
