"""Our dequantization (wasm/quants*.cpp, compiled natively) against gguf-py's numpy reference.

For every tensor type in the two real models, a few rows of several real tensors must come out
bit-identical: both sides do the same float32 operations in the same order (the library is
compiled with -ffp-contract=off so that no multiply-add gets fused). The formats neither model uses
(Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K, IQ4_XS) on random blocks, and Q5_1 on gguf-py's own quantizer's.
"""

import ctypes
import functools
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf.quants import dequantize, quantize
from wasmlm.defaults import DEFAULT_MODELS, ModelMissing, gguf_path

ROOT = Path(__file__).resolve().parents[2]
WASM = ROOT / "wasm"
TENSORS_PER_TYPE = 3
ROWS_PER_TENSOR = 8

# ctypes cannot call C++ names: a one-function C shim over dequantize_row.
SHIM = """
#include "quants.h"
extern "C" void test_dequantize_row(int type, const void* src, float* dst, long long n) {
    dequantize_row(type, src, dst, n);
}
"""


@pytest.fixture(scope="module")
def quants_lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("quants")
    shim = out / "shim.cpp"
    shim.write_text(SHIM)
    sources = sorted(str(p) for p in WASM.glob("quants*.cpp")) + [str(WASM / "ops.cpp")]
    lib = out / "libquants_test.so"
    subprocess.run(
        ["g++", "-std=c++17", "-O2", "-ffp-contract=off", "-shared", "-fPIC", f"-I{WASM}",
         str(shim), *sources, "-o", str(lib)],
        check=True,
    )
    dll = ctypes.CDLL(str(lib))
    dll.test_dequantize_row.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_longlong]
    dll.test_dequantize_row.restype = None
    return dll


@functools.cache
def reader(path):
    return GGUFReader(path)  # parsing Gemma's 262k-token vocabulary takes seconds: once per file


def model_cases():
    """(model, tensor name) pairs: up to TENSORS_PER_TYPE tensors of every type, spread over the file."""
    cases = []
    for model in DEFAULT_MODELS:
        try:
            path = gguf_path(model.id)
        except ModelMissing as e:  # one failing case per missing model, never a silent skip
            cases.append(pytest.param(e, None, id=f"{model.short}-missing"))
            continue
        by_type = defaultdict(list)
        for t in reader(path).tensors:
            by_type[t.tensor_type].append(t.name)
        for qtype, names in sorted(by_type.items()):
            picks = sorted({names[0], names[len(names) // 2], names[-1]})[:TENSORS_PER_TYPE]
            cases += [pytest.param(path, name, id=f"{path.stem}-{qtype.name}-{name}") for name in picks]
    return cases


def rows_of(tensor):
    """Raw rows as a 2-D array: (rows, bytes per row) for block types, (rows, values) for floats."""
    data = tensor.data
    return data.reshape(-1, data.shape[-1]) if data.ndim > 1 else data.reshape(1, -1)


@pytest.mark.parametrize("path,name", model_cases())
def test_dequantize_matches_gguf_py(quants_lib, path, name):
    if name is None:
        raise path      # the ModelMissing of model_cases(), saying how to get the model
    tensor = next(t for t in reader(path).tensors if t.name == name)
    qtype = GGMLQuantizationType(tensor.tensor_type)
    rows = rows_of(tensor)
    n_rows = rows.shape[0]
    picks = sorted({*range(min(3, n_rows)), *np.random.default_rng(0).integers(0, n_rows, ROWS_PER_TENSOR - 4),
                    n_rows - 1})
    block_size, block_bytes = GGML_QUANT_SIZES[qtype]
    for r in picks:
        raw = np.ascontiguousarray(rows[r])
        n_values = raw.nbytes // block_bytes * block_size
        expected = dequantize(raw.view(np.uint8), qtype).reshape(-1).astype(np.float32)
        got = np.empty(n_values, dtype=np.float32)
        quants_lib.test_dequantize_row(int(qtype), raw.ctypes.data, got.ctypes.data, n_values)
        np.testing.assert_array_equal(got, expected, err_msg=f"{name} row {r} ({qtype.name})")


# Byte offsets of the fp16 scales in one block of each format beyond the real models' (the other
# bytes are any bits: every pattern is a valid block). Random bytes there would give NaNs and
# infinities, which compare unequal to themselves; finite scales of every magnitude (subnormals too).
SCALE_OFFSETS = {
    GGMLQuantizationType.Q5_1: (0, 2),
    GGMLQuantizationType.IQ4_NL: (0,),
    GGMLQuantizationType.Q2_K: (80, 82),
    GGMLQuantizationType.Q3_K: (108,),
    GGMLQuantizationType.Q5_K: (0, 2),
    GGMLQuantizationType.IQ4_XS: (0,),
}


def random_blocks(qtype, n_blocks, seed):
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (n_blocks, GGML_QUANT_SIZES[qtype][1]), dtype=np.uint8)
    scales = (rng.standard_normal((n_blocks, len(SCALE_OFFSETS[qtype]))) * 10.0 ** rng.integers(-7, 2, (n_blocks, 1)))
    for k, off in enumerate(SCALE_OFFSETS[qtype]):
        blocks[:, off:off + 2] = scales[:, k].astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
    return blocks


def dequantize_ours(quants_lib, qtype, raw):
    raw = np.ascontiguousarray(raw)
    block_size, block_bytes = GGML_QUANT_SIZES[qtype]
    got = np.empty(raw.size // block_bytes * block_size, dtype=np.float32)
    quants_lib.test_dequantize_row(int(qtype), raw.ctypes.data, got.ctypes.data, got.size)
    return got


@pytest.mark.parametrize("qtype", list(SCALE_OFFSETS), ids=lambda q: q.name)
def test_dequantize_random_blocks_match_gguf_py(quants_lib, qtype):
    blocks = random_blocks(qtype, 512, seed=int(qtype))
    expected = dequantize(blocks, qtype).reshape(-1).astype(np.float32)
    np.testing.assert_array_equal(dequantize_ours(quants_lib, qtype, blocks), expected, err_msg=qtype.name)


def test_dequantize_q5_1_of_gguf_quantizer(quants_lib):
    """Q5_1 blocks as gguf-py's own quantizer writes them (the k-quants and IQ4 formats are quantized
    by llama.cpp: tests/engine/test_formats.py runs the engine on such files)."""
    qtype = GGMLQuantizationType.Q5_1
    data = np.random.default_rng(5).standard_normal((16, 256)).astype(np.float32)
    raw = quantize(data, qtype)
    np.testing.assert_array_equal(dequantize_ours(quants_lib, qtype, raw), dequantize(raw, qtype).reshape(-1))
