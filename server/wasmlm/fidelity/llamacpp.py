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


# wasmlm.llamacpp_quant in `python` (any interpreter with llama-cpp-python: only that module is imported).
QUANTIZE_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[4])
from wasmlm.llamacpp_quant import PURE_FTYPES, llamacpp_quantize
src, dst, fmt = sys.argv[1:4]
llamacpp_quantize(src, dst, PURE_FTYPES[fmt], pure=True)
"""


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
    package_root = str(Path(__file__).resolve().parents[2])
    result = subprocess.run([python, "-c", QUANTIZE_SCRIPT, str(src), str(dst), fmt, package_root],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"llama.cpp could not quantize {src.name} to {fmt}: {result.stderr.strip()[-500:]}")
    return dst
