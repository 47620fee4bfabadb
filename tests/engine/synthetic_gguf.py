"""Tiny random models for the architecture checks (test_phi3.py, test_layers.py), the malformed-file
checks and the fidelity command's end-to-end test: a few kilobytes that the engine loads in
milliseconds, written by the package's generator (wasmlm.synth, `wasmlm synth`) at a fixed tiny shape."""

from pathlib import Path

from gguf import GGMLQuantizationType

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


def tiny_shape(arch: str, n_layer: int = N_LAYER) -> Shape:
    arch, rope = ROPE.get(arch, (arch, {}))
    gemma = arch == "gemma3"
    return Shape(arch, N_VOCAB, N_EMBD, n_layer, N_HEAD, N_HEAD_KV, HEAD_DIM, N_FF, 256,
                 1e6 if gemma else 10000.0, 1e-6 if gemma else 1e-5, tied=arch != "phi3",
                 rope=rope, sliding_window=N_SWA if gemma else 0)


def write_model(path: Path, arch: str = "llama", seed: int = 0, n_layer: int = N_LAYER,
                qtype: GGMLQuantizationType = GGMLQuantizationType.F32) -> Path:
    """A random model of `arch` ("llama", "phi3", "gemma3", "qwen2", "qwen3", or "llama3" / "phi3.5":
    tiny_shape's rope-scaled variants). Its matrices are F32
    (exact in numpy; the engine then keeps activations in float) or quantized to `qtype` (the engine
    then quantizes activations to 8 bits as for a real model); norms stay F32."""
    return model_write(path, tiny_shape(arch, n_layer), seed, qtype, name=f"synthetic {arch}")
