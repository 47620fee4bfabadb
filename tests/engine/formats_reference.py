"""llama.cpp's quantizer and logits for the formats test_formats.py checks: a tiny random llama model
(synthetic_gguf, F32, widths of 256 so that every matrix fits the 256-value blocks) quantized by
llama.cpp itself (`llama_model_quantize`, --pure: every matrix in the one format), then llama.cpp's
teacher-forced logits on it.

    .venv/bin/python tests/engine/formats_reference.py     # rewrites tests/data/formats/llamacpp_logits.json

Needs llama-cpp-python (pyproject's optional extra `llamacpp`); CI has only the JSON. The quantized
files are written to a temporary folder and never kept: llama.cpp quantizes deterministically, so the
JSON records each file's SHA-256 and the test checks that it quantized the same file.
"""

import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic_gguf  # noqa: E402
from wasmlm.fidelity.llamacpp import llamacpp_logits  # noqa: E402
from wasmlm.llamacpp_quant import PURE_FTYPES, llamacpp_quantize  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
JSON_PATH = ROOT / "tests" / "data" / "formats" / "llamacpp_logits.json"
WIDTH = 256
N_LAYER = 2
SEED = 3
FORMATS = ("Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q5_K", "IQ4_XS")
IDS = [1] + [int(i) for i in np.random.default_rng(SEED).integers(3, synthetic_gguf.N_VOCAB, 31)]
TOP = 5


def write_f32(path: Path) -> Path:
    return synthetic_gguf.write_model(path, "llama", seed=SEED, n_layer=N_LAYER, n_embd=WIDTH, n_ff=WIDTH)


def quantize(src: Path, dst: Path, fmt: str) -> Path:
    return llamacpp_quantize(src, dst, PURE_FTYPES[fmt], threads=2, pure=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quantize_all(folder: Path) -> dict[str, Path]:
    src = write_f32(folder / "f32.gguf")
    return {fmt: quantize(src, folder / f"{fmt}.gguf", fmt) for fmt in FORMATS}


def main() -> None:
    import llama_cpp

    out = {"llama_cpp_python": llama_cpp.__version__, "ids": IDS, "formats": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, path in quantize_all(Path(tmp)).items():
            logits = llamacpp_logits(sys.executable, path, IDS, n_ctx=64)
            steps = []
            for row in logits:
                top = np.argsort(-row, kind="stable")[:TOP]
                steps.append([[int(i), round(float(row[i]), 5)] for i in top])
            out["formats"][fmt] = {"sha256": sha256(path), "top5": steps}
            print(fmt, path.stat().st_size, "bytes")
    # one line per step's top five
    text = re.sub(r"\[\s+(-?\d+),\s+(-?[\d.e-]+)\s+\]", r"[\1, \2]", json.dumps(out, indent=1))
    JSON_PATH.write_text(re.sub(r"\[\s+(\[[^\n]*\]),\n\s+(\[.*\]),\n\s+(\[.*\]),\n\s+(\[.*\]),\n\s+(\[.*\])\s+\]",
                                r"[\1, \2, \3, \4, \5]", text) + "\n")
    print("wrote", JSON_PATH)


if __name__ == "__main__":
    main()
