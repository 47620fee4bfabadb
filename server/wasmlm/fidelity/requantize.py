"""The quantization ladder: a model's float32-dequantized weights written again as F16, Q8_0, ... with the
`gguf` package's own quantizers. Every matrix whose rows fit the format's blocks is requantized (llama.cpp's
`--pure`: embeddings and output too); vectors (norms, biases) stay F32."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

# The formats the engine runs; of these, gguf 0.19 quantizes F32, F16, BF16, Q8_0, Q5_1, Q5_0, Q4_1 and Q4_0
# (its K-quants and IQ4 only dequantize): format_quantizable() checks at run time; the others are rungs
# only where llama.cpp quantizes them (llamacpp_requantize).
ENGINE_FORMATS = ("F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K", "Q5_1", "Q5_0", "Q4_K", "Q4_1", "Q4_0",
                  "IQ4_XS", "IQ4_NL", "Q3_K", "Q2_K")
DEFAULT_FORMATS = ("F32", "F16", "Q8_0", "Q5_0", "Q4_1", "Q4_0")


# Weight groups for the ablation: which part of the model a format's error comes from.
GROUPS = {
    "embeddings": ("token_embd.", "output.weight"),
    "attention": ("attn_q.", "attn_k.", "attn_v.", "attn_qkv.", "attn_output."),
    "ffn": ("ffn_gate.", "ffn_up.", "ffn_down."),
}


@dataclass
class Requantized:
    path: Path
    size: int                     # bytes of the file
    weights: dict[str, np.ndarray]  # its tensors dequantized again, for the numpy pass


def format_quantizable(name: str) -> bool:
    """Whether the installed gguf package can write this format."""
    qtype = GGMLQuantizationType[name]
    block = GGML_QUANT_SIZES[qtype][0]
    try:
        quantize(np.zeros((1, max(block, 256)), dtype=np.float32), qtype)
    except NotImplementedError:
        return False
    return True


def _fields_copy(reader: GGUFReader, writer: GGUFWriter) -> None:
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), vtype, sub_type=sub_type)


def _requantizable(w: np.ndarray, qtype: GGMLQuantizationType) -> bool:
    block = GGML_QUANT_SIZES[qtype][0]
    return w.ndim == 2 and w.shape[0] > 1 and w.shape[1] % block == 0 and qtype != GGMLQuantizationType.F32


def weights_requantize(base: dict[str, np.ndarray], fmt: str, group: str) -> dict[str, np.ndarray]:
    """`base` with only the matrices of one group (GROUPS) quantized to fmt and back, in memory."""
    qtype = GGMLQuantizationType[fmt]
    out = dict(base)
    for name, w in base.items():
        if _requantizable(w, qtype) and any(part in name for part in GROUPS[group]):
            out[name] = dequantize(quantize(w, qtype), qtype).astype(np.float32).reshape(w.shape)
    return out


def llamacpp_requantize(reader: GGUFReader, base: dict[str, np.ndarray], fmt: str, path: Path,
                        python: str) -> Requantized:
    """`base` written as F32, then quantized by llama.cpp (`python` has llama-cpp-python) into fmt."""
    from .llamacpp import llamacpp_quantize
    from .reference import tensors_dequantize
    f32 = path.with_suffix(".f32.gguf")
    gguf_requantize(reader, base, "F32", f32)
    try:
        llamacpp_quantize(python, f32, path, fmt)
    finally:
        f32.unlink()
    return Requantized(path, path.stat().st_size, tensors_dequantize(GGUFReader(str(path))))


def gguf_requantize(reader: GGUFReader, base: dict[str, np.ndarray], fmt: str, path: Path) -> Requantized:
    """Writes `base` (float32 tensors of `reader`'s model) in format `fmt` to path, keeping every key."""
    qtype = GGMLQuantizationType[fmt]
    writer = GGUFWriter(str(path), str(reader.fields["general.architecture"].contents()))
    _fields_copy(reader, writer)
    weights = {}
    for t in reader.tensors:
        w = base[t.name]
        if _requantizable(w, qtype):
            data = quantize(w, qtype)
            writer.add_tensor(t.name, data, raw_dtype=qtype if data.dtype == np.uint8 else None)
            weights[t.name] = dequantize(data, qtype).astype(np.float32).reshape(w.shape)
        else:
            writer.add_tensor(t.name, w)
            weights[t.name] = w
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Requantized(path, path.stat().st_size, weights)
