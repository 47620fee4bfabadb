"""Tiny random models for the architecture checks (test_phi3.py, test_layers.py), the malformed-file
checks and the fidelity command's end-to-end test: a few kilobytes that the engine loads in
milliseconds, written by the package's generator (wasmlm.synth, `wasmlm synth`) at a fixed tiny shape."""

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

from wasmlm.fidelity.requantize import _fields_copy
from wasmlm.synth import model_write
from wasmlm.synth_families import Shape

N_VOCAB = 300
N_EMBD = 64
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = N_EMBD // N_HEAD
N_FF = 128
N_LAYER = 2
N_SWA = 16  # gemma3's sliding window: short, so that 80 tokens slide past it


# rope scaling variants: "llama3" is llama with Llama 3's rope_freqs (an original context of 16, so
# that most frequencies are scaled at these positions), "phi3.5" phi3 with long rope factors (its
# 256-token context is beyond the original 32) and an attention factor
ROPE = {"llama3": ("llama", {"type": "llama3", "factor": 32.0, "low": 1.0, "high": 4.0, "orig": 16}),
        "phi3.5": ("phi3", {"type": "longrope", "orig": 32})}


def tiny_shape(arch: str, n_layer: int = N_LAYER, n_embd: int = N_EMBD, n_ff: int = N_FF) -> Shape:
    arch, rope = ROPE.get(arch, (arch, {}))
    gemma = arch == "gemma3"
    return Shape(arch, N_VOCAB, n_embd, n_layer, N_HEAD, N_HEAD_KV, n_embd // N_HEAD, n_ff, 256,
                 1e6 if gemma else 10000.0, 1e-6 if gemma else 1e-5, tied=arch != "phi3",
                 rope=rope, sliding_window=N_SWA if gemma else 0)


# The formats the gguf package cannot quantize (llama.cpp's k-quants and IQ4; test_formats.py has
# llama.cpp quantize them where it is installed): random blocks instead, every bit pattern being a
# valid block, with fp16 scales (byte offset in the block, size x 1/sqrt(cols)) that give values of
# about the F32 matrices' spread, centred on 0 (the mins: Q2_K's 1.5 and Q5_K's 15.5 times d).
RANDOM_BLOCK_SCALES = {
    GGMLQuantizationType.IQ4_NL: ((0, 0.014),),
    GGMLQuantizationType.Q2_K: ((80, 0.083), (82, 0.125)),
    GGMLQuantizationType.Q3_K: ((108, 0.023),),
    GGMLQuantizationType.Q5_K: ((0, 0.0023), (2, 0.035)),
    GGMLQuantizationType.IQ4_XS: ((0, 0.00077),),
}


def random_blocks(rng: np.random.Generator, qtype: GGMLQuantizationType, rows: int, cols: int) -> np.ndarray:
    block_size, block_bytes = GGML_QUANT_SIZES[qtype]
    n = rows * cols // block_size
    blocks = rng.integers(0, 256, (n, block_bytes), dtype=np.uint8)
    for offset, size in RANDOM_BLOCK_SCALES[qtype]:
        scale = (size / np.sqrt(cols) * rng.uniform(0.5, 1.5, n)).astype(np.float16)
        blocks[:, offset:offset + 2] = scale.view(np.uint8).reshape(n, 2)
    return blocks.reshape(rows, -1)


def matrices_randomize(path: Path, qtype: GGMLQuantizationType, seed: int) -> Path:
    """path's F32 matrices replaced by random blocks of qtype (vectors stay F32), every key kept."""
    rng = np.random.default_rng(seed)
    reader = GGUFReader(path)
    out = path.with_suffix(".blocks.gguf")
    writer = GGUFWriter(str(out), str(reader.fields["general.architecture"].contents()))
    _fields_copy(reader, writer)
    for t in reader.tensors:
        data = np.asarray(t.data)
        if data.ndim == 2 and data.shape[0] > 1:
            writer.add_tensor(t.name, random_blocks(rng, qtype, *data.shape), raw_dtype=qtype)
        else:
            writer.add_tensor(t.name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out.replace(path)


def write_model(path: Path, arch: str = "llama", seed: int = 0, n_layer: int = N_LAYER,
                qtype: GGMLQuantizationType = GGMLQuantizationType.F32, n_embd: int = N_EMBD,
                n_ff: int = N_FF) -> Path:
    """A random model of `arch` ("llama", "phi3", "gemma3", "qwen2", "qwen3", or "llama3" / "phi3.5":
    tiny_shape's rope-scaled variants). Its matrices are F32
    (exact in numpy; the engine then keeps activations in float) or quantized to `qtype` (the engine
    then quantizes activations to 8 bits as for a real model; RANDOM_BLOCK_SCALES: random blocks);
    norms stay F32. Widths of 256 (n_embd, n_ff) let llama.cpp quantize every matrix into its
    256-value formats (test_formats.py)."""
    shape = tiny_shape(arch, n_layer, n_embd, n_ff)
    if qtype not in RANDOM_BLOCK_SCALES:
        return model_write(path, shape, seed, qtype, name=f"synthetic {arch}")
    model_write(path, shape, seed, GGMLQuantizationType.F32, name=f"synthetic {arch}")
    return matrices_randomize(path, qtype, seed)
