"""A random model with Phi-3-mini's real shape (3.8B parameters), for the 4 GB benchmark.

Writes an F16 GGUF tensor by tensor (never more than one tensor in memory: the file is ~7.6 GB),
with the phi-3 tokenizer from llama.cpp's vocabulary file (wasm/third_party/llama-vocab, fetched by
`make -C wasm`), then quantizes it with llama.cpp (`llama-cpp-python`, optional extra `llamacpp`):

    .venv/bin/python scripts/phi3_mini_synth.py build/phi3-mini --qtype Q4_K_M

gives build/phi3-mini/phi3-mini-f16.gguf and build/phi3-mini/phi3-mini-Q4_K_M.gguf (~2.4 GB).
`--layers N` makes a shorter model of the same width. The weights are random: the text is
gibberish, but memory, loading and speed are those of the real model. Never commit the output.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGUFWriter

ROOT = Path(__file__).resolve().parent.parent
VOCAB = ROOT / "wasm/third_party/llama-vocab/ggml-vocab-phi-3.gguf"

# microsoft/Phi-3-mini-4k-instruct's config.json
N_EMBD, N_HEAD, N_FF, N_LAYER, N_CTX = 3072, 32, 8192, 32, 4096
HEAD_DIM = N_EMBD // N_HEAD


def tokenizer_copy(w: GGUFWriter) -> int:
    """Every tokenizer.* key of llama.cpp's phi-3 vocabulary file; returns the vocabulary size."""
    r = GGUFReader(VOCAB)
    n_vocab = 0
    for name, field in r.fields.items():
        if not name.startswith("tokenizer."):
            continue
        value = field.contents()
        vtype = field.types[0]
        sub = field.types[-1] if len(field.types) > 1 else None
        w.add_key_value(name, value, vtype, sub_type=sub)
        if name == "tokenizer.ggml.tokens":
            n_vocab = len(value)
    return n_vocab


def tensor_plan(n_vocab: int, n_layer: int) -> list[tuple[str, tuple[int, int] | tuple[int]]]:
    """(name, numpy shape) of every tensor of llama.cpp's phi3 layout, in file order."""
    plan = [("token_embd.weight", (n_vocab, N_EMBD)), ("output_norm.weight", (N_EMBD,)),
            ("output.weight", (n_vocab, N_EMBD))]
    for il in range(n_layer):
        p = f"blk.{il}."
        plan += [(p + "attn_norm.weight", (N_EMBD,)),
                 (p + "attn_qkv.weight", (3 * N_EMBD, N_EMBD)),
                 (p + "attn_output.weight", (N_EMBD, N_EMBD)),
                 (p + "ffn_norm.weight", (N_EMBD,)),
                 (p + "ffn_up.weight", (2 * N_FF, N_EMBD)),
                 (p + "ffn_down.weight", (N_EMBD, N_FF))]
    return plan


def tensor_random(rng: np.random.Generator, shape) -> np.ndarray:
    """Norms near 1 in F32 (llama.cpp keeps them F32); matrices ~N(0, 1/cols) in F16 so that
    activations stay of order 1 through 32 layers."""
    if len(shape) == 1:
        return (1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    out = np.empty(shape, np.float16)
    scale = np.float32(1.0 / np.sqrt(shape[1]))
    for r0 in range(0, shape[0], 1024):  # bounded float32 temporaries
        rows = rng.standard_normal((min(1024, shape[0] - r0), shape[1]), dtype=np.float32)
        out[r0:r0 + len(rows)] = rows * scale
    return out


def f16_write(path: Path, n_layer: int, seed: int) -> None:
    w = GGUFWriter(str(path), "phi3")
    w.add_name("synthetic phi3 mini (random weights)")
    w.add_block_count(n_layer)
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    n_vocab = tokenizer_copy(w)
    plan = tensor_plan(n_vocab, n_layer)
    for name, shape in plan:
        dtype = np.float32 if len(shape) == 1 else np.float16
        w.add_tensor_info(name, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for i, (name, shape) in enumerate(plan):
        w.write_tensor_data(tensor_random(rng, shape))
        if i % 30 == 0:
            print(f"  {i + 1}/{len(plan)} {name}", flush=True)
    w.close()


def quantize(src: Path, dst: Path, qtype: str, threads: int) -> None:
    import llama_cpp  # optional extra `llamacpp`

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{qtype}")
    params.nthread = threads
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), params)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize failed ({rc})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--layers", type=int, default=N_LAYER)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--qtype", default="Q4_K_M", help="llama.cpp ftype name, or '' for F16 only")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    a.outdir.mkdir(parents=True, exist_ok=True)
    stem = "phi3-mini" if a.layers == N_LAYER else f"phi3-mini-{a.layers}l"
    f16 = a.outdir / f"{stem}-f16.gguf"
    if not f16.exists():
        t0 = time.time()
        tmp = f16.with_suffix(".tmp")
        f16_write(tmp, a.layers, a.seed)
        tmp.rename(f16)
        print(f"wrote {f16} ({f16.stat().st_size:,} bytes) in {time.time() - t0:.0f} s")
    if a.qtype:
        dst = a.outdir / f"{stem}-{a.qtype}.gguf"
        t0 = time.time()
        quantize(f16, dst, a.qtype, a.threads)
        print(f"wrote {dst} ({dst.stat().st_size:,} bytes) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
