"""llama.cpp's quantizer and logits for the formats test_formats.py checks: a tiny random llama model
(synthetic_gguf, F32, widths of 256 so that every matrix fits the 256-value blocks) quantized by
llama.cpp itself (`llama_model_quantize`, --pure: every matrix in the one format), then llama.cpp's
teacher-forced logits on it.

    .venv/bin/python tests/engine/formats_reference.py     # rewrites tests/data/formats/llamacpp_logits.json

Needs llama-cpp-python (pyproject's optional extra `llamacpp`); CI has only the JSON. The quantized
files are written to a temporary folder and never kept: llama.cpp quantizes deterministically, so the
JSON records each file's SHA-256 and the test checks that it quantized the same file.
"""

import ctypes
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic_gguf  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
JSON_PATH = ROOT / "tests" / "data" / "formats" / "llamacpp_logits.json"
WIDTH = 256
N_LAYER = 2
SEED = 3
# Format -> llama.cpp's ftype; with --pure the _M mixes are the plain format.
FTYPES = {"Q5_1": "LLAMA_FTYPE_MOSTLY_Q5_1", "IQ4_NL": "LLAMA_FTYPE_MOSTLY_IQ4_NL", "Q2_K": "LLAMA_FTYPE_MOSTLY_Q2_K",
          "Q3_K": "LLAMA_FTYPE_MOSTLY_Q3_K_M", "Q5_K": "LLAMA_FTYPE_MOSTLY_Q5_K_M", "IQ4_XS": "LLAMA_FTYPE_MOSTLY_IQ4_XS"}
IDS = [1] + [int(i) for i in np.random.default_rng(SEED).integers(3, synthetic_gguf.N_VOCAB, 31)]
TOP = 5


def write_f32(path: Path) -> Path:
    return synthetic_gguf.write_model(path, "llama", seed=SEED, n_layer=N_LAYER, n_embd=WIDTH, n_ff=WIDTH)


def quantize(src: Path, dst: Path, fmt: str) -> Path:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, FTYPES[fmt])
    params.pure = True
    params.nthread = 2
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize {fmt} failed ({rc})")
    return dst


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def llama_cpp_logits(path: Path, ids: list[int]) -> np.ndarray:
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=64, logits_all=True, verbose=False, n_threads=2, n_batch=64)
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def quantize_all(folder: Path) -> dict[str, Path]:
    src = write_f32(folder / "f32.gguf")
    return {fmt: quantize(src, folder / f"{fmt}.gguf", fmt) for fmt in FTYPES}


def main() -> None:
    import llama_cpp

    out = {"llama_cpp_python": llama_cpp.__version__, "ids": IDS, "formats": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, path in quantize_all(Path(tmp)).items():
            logits = llama_cpp_logits(path, IDS)
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
