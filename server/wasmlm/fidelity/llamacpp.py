"""llama.cpp's logits on the same files, through `llama-cpp-python` where some Python has it (optional:
it is not a dependency of wasmlm; --llama-python names an interpreter that has it). It runs in a
subprocess so that a missing or crashing llama.cpp costs only its own figures."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SCRIPT = """
import json, sys
import numpy as np
from llama_cpp import Llama
model, ids_path, out, n_ctx = sys.argv[1:5]
ids = json.load(open(ids_path))
llm = Llama(model_path=model, n_ctx=int(n_ctx) or len(ids), n_batch=len(ids), n_threads=1, logits_all=True, verbose=False)
llm.eval(ids)
np.asarray(llm.scores[:len(ids)], dtype=np.float32).tofile(out)
import llama_cpp
print(json.dumps({"version": getattr(llama_cpp, "__version__", "?")}))
"""


# llama.cpp's quantizer with `pure`: every matrix in the one format (as the gguf package's rungs), except
# rows that do not fill a block, which llama.cpp gives its usual fallback type.
QUANTIZE_SCRIPT = """
import ctypes, sys
import llama_cpp
src, dst, ftype = sys.argv[1:4]
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = getattr(llama_cpp, "LLAMA_FTYPE_MOSTLY_" + ftype)
params.pure = True
sys.exit(llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params)))
"""

# A tensor type -> the llama-quantize file type whose base type it is.
LLAMACPP_FTYPES = {"Q2_K": "Q2_K", "Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "Q6_K": "Q6_K",
                   "IQ4_NL": "IQ4_NL", "IQ4_XS": "IQ4_XS", "Q5_1": "Q5_1"}


def llamacpp_available(python: str = sys.executable) -> str | None:
    """The llama-cpp-python version importable by `python`, or None."""
    result = subprocess.run([python, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def llamacpp_logits(python: str, model: Path, ids: list[int], n_ctx: int = 0) -> np.ndarray:
    """(len(ids), n_vocab) logits of every position, one sequence from position 0, in a context of
    n_ctx tokens (0: len(ids); llama.cpp rounds it up to a multiple of 256)."""
    with tempfile.TemporaryDirectory() as tmp:
        ids_path, out = Path(tmp) / "ids.json", Path(tmp) / "logits.f32"
        ids_path.write_text(json.dumps(ids))
        result = subprocess.run([python, "-c", SCRIPT, str(model), str(ids_path), str(out), str(n_ctx)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"llama-cpp-python failed on {model.name}: {result.stderr.strip()[-500:]}")
        return np.fromfile(out, dtype=np.float32).reshape(len(ids), -1)


def llamacpp_quantize(python: str, src: Path, dst: Path, fmt: str) -> Path:
    """src (an F32 GGUF) quantized by llama.cpp into `fmt`, every matrix in it (`pure`)."""
    result = subprocess.run([python, "-c", QUANTIZE_SCRIPT, str(src), str(dst), LLAMACPP_FTYPES[fmt]],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"llama.cpp could not quantize {src.name} to {fmt}: {result.stderr.strip()[-500:]}")
    return dst
