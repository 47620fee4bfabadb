"""llama.cpp's own quantizer, `llama_model_quantize` through llama-cpp-python (the optional extra
`llamacpp`), for `wasmlm synth`, the fidelity ladder and the test references. It imports nothing but
the standard library and llama_cpp, so that any Python that has llama-cpp-python can run it (the
fidelity tool's --llama-python runs it in that interpreter)."""

import ctypes
from pathlib import Path

# A tensor type -> the llama-quantize file type whose base type it is: with `pure`, every matrix in it
# (rows that do not fill a block still get llama.cpp's fallback type).
PURE_FTYPES = {"Q2_K": "Q2_K", "Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "Q6_K": "Q6_K",
               "IQ4_NL": "IQ4_NL", "IQ4_XS": "IQ4_XS", "Q5_1": "Q5_1"}


class QuantizeError(ValueError):
    pass


def llamacpp_quantize(src: Path, dst: Path, fmt: str, threads: int = 1, pure: bool = False) -> Path:
    """`src` quantized by llama.cpp into `fmt` (a llama-quantize name: Q4_0, Q8_0, Q4_K_M, IQ4_XS, F16, ...),
    with its per-tensor choices (Q4_K_M's Q6_K tensors, the fallbacks for rows that do not fill a block),
    or with `pure` every matrix in the file type's base type."""
    try:
        import llama_cpp
    except ImportError:
        raise QuantizeError("quantizing needs llama.cpp's Python binding: pip install 'wasmlm[llamacpp]' "
                            "(llama-cpp-python builds llama.cpp from source)") from None
    name = fmt.upper()
    ftype = getattr(llama_cpp, "LLAMA_FTYPE_ALL_F32" if name == "F32" else f"LLAMA_FTYPE_MOSTLY_{name}", None)
    if ftype is None:
        known = sorted(k.removeprefix("LLAMA_FTYPE_MOSTLY_") for k in dir(llama_cpp) if k.startswith("LLAMA_FTYPE_MOSTLY_"))
        raise QuantizeError(f"llama.cpp has no format {fmt!r} (it has F32, {', '.join(known)})")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = threads
    params.pure = pure
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params))
    if rc != 0:
        raise QuantizeError(f"llama.cpp could not quantize {src} to {name} (llama_model_quantize returned {rc})")
    return dst
