"""`wasmlm synth`: a GGUF with a model family's real hyperparameters (synth_families.py) and random weights
from a seed, at any layer count and width, in F32, F16 or BF16; copies quantized by llama.cpp itself
(`llama_model_quantize`, the optional extra `llamacpp`). Docs: docs/models.md.

The weights are drawn tensor by tensor in file order and written a slab of rows at a time, so a 3.8B
model never sits in memory; the same seed and shape give the same bytes. A matrix is N(0, 1/cols) (unit
variance through every projection), a norm 1 + 0.1 N(0, 1), a bias 0.5 N(0, 1)."""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, TokenType
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import quantize

from .llamacpp_quant import QuantizeError, llamacpp_quantize
from .synth_families import FAMILIES, Shape, shape_scaled

SLAB = 1 << 22  # values drawn and written at a time (32 MB of float64)
TYPES = {"f32": GGMLQuantizationType.F32, "f16": GGMLQuantizationType.F16, "bf16": GGMLQuantizationType.BF16}


class SynthError(ValueError):
    pass


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]     # (rows, cols) or (cols,)
    kind: str                  # "matrix" (quantized to the file's type), "norm", "bias", "const"
    const: np.ndarray | None = None

    @property
    def count(self) -> int:
        return math.prod(self.shape)


# ---------------------------------------------------------------------------------------------
# tokenizer


def _piece(k: int) -> str:
    """The k-th made-up piece: a word start ("\u2581") on every other one, then letters, all distinct."""
    letters, n = "", k // 2 + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(97 + r) + letters
    return ("\u2581" if k % 2 == 0 else "") + letters


def tokenizer_spm(w: GGUFWriter, n_vocab: int) -> None:
    """SentencePiece-style: unk, bos, eos, the 256 byte tokens, made-up pieces, and last <|endoftext|>
    (llama.cpp looks that one up in any model whose name says Phi-3)."""
    if n_vocab < 260:
        raise SynthError(f"a vocabulary of {n_vocab} tokens cannot hold the 4 special and 256 byte tokens")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    tokens += [_piece(k) for k in range(n_vocab - len(tokens) - 1)] + ["<|endoftext|>"]
    types += [TokenType.NORMAL] * (n_vocab - len(types) - 1) + [TokenType.CONTROL]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_scores([-float(i) for i in range(n_vocab)])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)


def tokenizer_copy(w: GGUFWriter, vocab: Path, n_vocab: int) -> None:
    """The tokenizer keys of a (vocabulary-only) GGUF, its token list padded to n_vocab with unused
    [PADi] tokens as llama.cpp's converter pads Qwen's."""
    reader = GGUFReader(str(vocab))
    fields = {k: f for k, f in reader.fields.items() if k.startswith("tokenizer.")}
    if "tokenizer.ggml.tokens" not in fields:
        raise SynthError(f"{vocab} has no tokenizer.ggml.tokens")
    n_real = len(fields["tokenizer.ggml.tokens"].data)
    if n_real > n_vocab:
        raise SynthError(f"{vocab} has {n_real} tokens, more than the model's {n_vocab} (--vocab-size)")
    pad = n_vocab - n_real
    for key, f in fields.items():
        values = f.contents()
        if f.types[0] == GGUFValueType.ARRAY:
            if key == "tokenizer.ggml.tokens":
                values = values + [f"[PAD{i}]" for i in range(n_real, n_vocab)]
            elif key == "tokenizer.ggml.token_type":
                values = values + [int(TokenType.UNUSED)] * pad
            elif key == "tokenizer.ggml.scores":
                values = values + [0.0] * pad
            w.add_key_value(key, values, GGUFValueType.ARRAY, sub_type=f.types[-1])
        else:
            w.add_key_value(key, values, f.types[0])


# ---------------------------------------------------------------------------------------------
# hyperparameters and tensors


def llama3_rope_freqs(s: Shape) -> np.ndarray:
    """Llama 3's per-dimension divisors of the rope frequency, as llama.cpp's converter computes them
    from rope_scaling (factor, low/high_freq_factor, original_max_position_embeddings)."""
    r = s.rope
    freqs = 1.0 / (s.rope_base ** (np.arange(0, s.head_dim, 2, dtype=np.float32) / s.head_dim))
    low_wavelen, high_wavelen = r["orig"] / r["low"], r["orig"] / r["high"]
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(r["factor"])
        else:
            smooth = (r["orig"] / wavelen - r["low"]) / (r["high"] - r["low"])
            out.append(1 / ((1 - smooth) / r["factor"] + smooth))
    return np.asarray(out, dtype=np.float32)


def longrope_factors(s: Shape) -> tuple[np.ndarray, np.ndarray, float]:
    """Phi-3's long and short frequency divisors (their shape: 1 on the fast dimensions rising to
    about the context ratio on the slow ones; Phi-3.5's own lists are of this kind) and the attention
    factor its converter writes, sqrt(1 + ln(scale) / ln(original context))."""
    n = s.head_dim // 2
    scale = s.n_ctx / s.rope["orig"]
    x = np.arange(n, dtype=np.float64) / max(1, n - 1)
    long = 1.0 + (scale - 1.0) * x ** 2
    short = 1.0 + 0.1 * x
    attn = math.sqrt(1 + math.log(scale) / math.log(s.rope["orig"])) if scale > 1 else 1.0
    return long.astype(np.float32), short.astype(np.float32), attn


def hparams_write(w: GGUFWriter, s: Shape) -> None:
    w.add_block_count(s.n_layer)
    w.add_context_length(s.n_ctx)
    w.add_embedding_length(s.n_embd)
    w.add_feed_forward_length(s.n_ff)
    w.add_head_count(s.n_head)
    w.add_head_count_kv(s.n_head_kv)
    w.add_rope_dimension_count(s.head_dim)
    w.add_rope_freq_base(s.rope_base)
    w.add_layer_norm_rms_eps(s.norm_eps)
    if s.head_dim * s.n_head != s.n_embd:
        w.add_key_length(s.head_dim)
        w.add_value_length(s.head_dim)
    if s.sliding_window:
        w.add_sliding_window(s.sliding_window)
    if s.rope.get("type") == "longrope":
        w.add_rope_scaling_attn_factors(longrope_factors(s)[2])
        w.add_rope_scaling_orig_ctx_len(s.rope["orig"])


def tensors_list(s: Shape) -> list[Tensor]:
    """Every tensor in file order (which is also the order of the random draws)."""
    E, F, q_dim, kv_dim = s.n_embd, s.n_ff, s.n_head * s.head_dim, s.n_head_kv * s.head_dim
    phi3, gemma, qwen2, qwen3 = (s.arch == a for a in ("phi3", "gemma3", "qwen2", "qwen3"))
    out = [Tensor("token_embd.weight", (s.n_vocab, E), "matrix"),
           Tensor("output_norm.weight", (E,), "norm")]
    if not s.tied:
        out.append(Tensor("output.weight", (s.n_vocab, E), "matrix"))
    if s.rope.get("type") == "llama3":
        freqs = llama3_rope_freqs(s)
        out.append(Tensor("rope_freqs.weight", freqs.shape, "const", freqs))
    if s.rope.get("type") == "longrope":
        long, short, _ = longrope_factors(s)
        out.append(Tensor("rope_factors_long.weight", long.shape, "const", long))
        out.append(Tensor("rope_factors_short.weight", short.shape, "const", short))
    for il in range(s.n_layer):
        p = f"blk.{il}."
        out.append(Tensor(p + "attn_norm.weight", (E,), "norm"))
        if phi3:
            out.append(Tensor(p + "attn_qkv.weight", (q_dim + 2 * kv_dim, E), "matrix"))
            out.append(Tensor(p + "ffn_up.weight", (2 * F, E), "matrix"))
        else:
            out += [Tensor(p + "attn_q.weight", (q_dim, E), "matrix"),
                    Tensor(p + "attn_k.weight", (kv_dim, E), "matrix"),
                    Tensor(p + "attn_v.weight", (kv_dim, E), "matrix"),
                    Tensor(p + "ffn_gate.weight", (F, E), "matrix"),
                    Tensor(p + "ffn_up.weight", (F, E), "matrix")]
        if qwen2:
            out += [Tensor(p + "attn_q.bias", (q_dim,), "bias"),
                    Tensor(p + "attn_k.bias", (kv_dim,), "bias"),
                    Tensor(p + "attn_v.bias", (kv_dim,), "bias")]
        if gemma or qwen3:
            out += [Tensor(p + "attn_q_norm.weight", (s.head_dim,), "norm"),
                    Tensor(p + "attn_k_norm.weight", (s.head_dim,), "norm")]
        if gemma:
            out += [Tensor(p + "post_attention_norm.weight", (E,), "norm"),
                    Tensor(p + "post_ffw_norm.weight", (E,), "norm")]
        out += [Tensor(p + "attn_output.weight", (E, q_dim), "matrix"),
                Tensor(p + "ffn_norm.weight", (E,), "norm"),
                Tensor(p + "ffn_down.weight", (E, F), "matrix")]
    return out


def _stored_type(t: Tensor, qtype: GGMLQuantizationType) -> GGMLQuantizationType:
    return qtype if t.kind == "matrix" else GGMLQuantizationType.F32


def _nbytes(t: Tensor, qtype: GGMLQuantizationType) -> int:
    block, size = GGML_QUANT_SIZES[_stored_type(t, qtype)]
    if t.shape[-1] % block:
        raise SynthError(f"{t.name}: rows of {t.shape[-1]} values do not divide into {qtype.name} blocks of {block}")
    return t.count // block * size


def tensor_slabs(t: Tensor, rng: np.random.Generator, qtype: GGMLQuantizationType) -> Iterator[bytes]:
    """The stored bytes of a tensor, a slab of whole rows at a time. Drawing a normal sample in slabs
    gives the same numbers as drawing it at once, so the file does not depend on SLAB."""
    if t.kind == "const":
        yield t.const.astype(np.float32).tobytes()
        return
    cols = t.shape[-1]
    rows = t.count // cols
    step = max(1, SLAB // cols)
    for r0 in range(0, rows, step):
        n = min(step, rows - r0)
        z = rng.standard_normal((n, cols))
        if t.kind == "matrix":
            data = (z / np.sqrt(cols)).astype(np.float32)
            yield quantize(data, qtype).tobytes() if qtype != GGMLQuantizationType.F32 else data.tobytes()
        elif t.kind == "norm":
            yield (1.0 + 0.1 * z).astype(np.float32).tobytes()
        else:
            yield (0.5 * z).astype(np.float32).tobytes()


def model_write(path: Path, shape: Shape, seed: int = 0, qtype: GGMLQuantizationType = GGMLQuantizationType.F32,
                name: str | None = None, vocab: Path | None = None) -> Path:
    """Writes a random model of `shape`: matrices in `qtype` (F32, F16, BF16 or a type the gguf
    package quantizes), norms, biases and rope factors in F32."""
    if shape.arch not in ("llama", "qwen2", "qwen3", "phi3", "gemma3"):
        raise SynthError(f"no tensor layout for architecture {shape.arch!r}")
    if shape.head_dim % 2 or shape.n_head % shape.n_head_kv:
        raise SynthError(f"head_dim {shape.head_dim} must be even and n_head {shape.n_head} "
                         f"a multiple of n_head_kv {shape.n_head_kv}")
    tensors = tensors_list(shape)
    sizes = [_nbytes(t, qtype) for t in tensors]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w = GGUFWriter(str(path), shape.arch)
    w.add_name(name or f"synthetic {shape.arch}")
    if qtype in (GGMLQuantizationType.F16, GGMLQuantizationType.BF16, GGMLQuantizationType.F32):
        w.add_file_type({GGMLQuantizationType.F32: 0, GGMLQuantizationType.F16: 1,
                         GGMLQuantizationType.BF16: 32}[qtype])
    hparams_write(w, shape)
    if vocab:
        tokenizer_copy(w, Path(vocab), shape.n_vocab)
    else:
        tokenizer_spm(w, shape.n_vocab)
    for t, size in zip(tensors, sizes):
        # shapes in values, not bytes: a float32 dtype with raw_dtype keeps them as given
        w.add_tensor_info(t.name, t.shape, np.dtype(np.float32), size, raw_dtype=_stored_type(t, qtype))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    fout = w.fout[0]
    w.write_padding(fout, fout.tell())
    rng = np.random.default_rng(seed)
    for t, size in zip(tensors, sizes):
        written = 0
        for chunk in tensor_slabs(t, rng, qtype):
            fout.write(chunk)
            written += len(chunk)
        assert written == size, (t.name, written, size)
        w.write_padding(fout, size)
    w.close()
    return path


def quantized_path(out: Path, fmt: str) -> Path:
    """Where `--quantize FMT` puts its copy: model.gguf -> model.FMT.gguf."""
    return out.with_name(f"{out.stem}.{fmt.upper()}{out.suffix or '.gguf'}")


def synth_run(family: str, out: Path, layers=None, width=None, ff=None, vocab_size=None, context=None, seed=0,
              dtype="f32", quantize_to=(), vocab=None, threads=1, head_dim=None, kv_heads=None) -> list[Path]:
    if family not in FAMILIES:
        raise SynthError(f"unknown family {family!r} (known: {', '.join(FAMILIES)})")
    if dtype not in TYPES:
        raise SynthError(f"--type must be one of {', '.join(TYPES)}")
    shape = shape_scaled(FAMILIES[family], layers=layers, width=width, ff=ff, vocab=vocab_size, context=context,
                         head_dim=head_dim, kv_heads=kv_heads)
    written = [model_write(out, shape, seed, TYPES[dtype], name=f"synthetic {family}", vocab=vocab)]
    for fmt in quantize_to:
        written.append(llamacpp_quantize(out, quantized_path(out, fmt), fmt, threads))
    return written


def main(argv: list[str]) -> int:
    import argparse
    import sys
    p = argparse.ArgumentParser(prog="wasmlm synth", description=__doc__.split("\n\n")[0])
    p.add_argument("family", help=f"one of: {', '.join(FAMILIES)}")
    p.add_argument("--out", required=True, help="the GGUF to write")
    p.add_argument("--layers", type=int, help="layer count (default: the family's)")
    p.add_argument("--width", type=int, help="n_embd, on 4 heads (default: the family's shape)")
    p.add_argument("--ff", type=int, help="feed-forward width (default: the family's, or 2 x --width)")
    p.add_argument("--head-dim", type=int, help="size of a head (default: the family's, or from --width)")
    p.add_argument("--kv-heads", type=int, help="key/value heads (default: the family's, or from --width)")
    p.add_argument("--vocab-size", type=int, help="token count (default: the family's)")
    p.add_argument("--context", type=int, help="trained context length (default: the family's)")
    p.add_argument("--vocab", help="copy the tokenizer of this GGUF (e.g. llama.cpp's ggml-vocab-*.gguf) "
                                   "instead of made-up SentencePiece pieces")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--type", default="f32", choices=sorted(TYPES), help="matrices' type (default: %(default)s)")
    p.add_argument("--quantize", default="", help="comma-separated llama.cpp formats written beside --out "
                                                  "as NAME.FORMAT.gguf, e.g. Q4_K_M,Q8_0 (needs wasmlm[llamacpp])")
    p.add_argument("--threads", type=int, default=1, help="llama.cpp's quantization threads")
    args = p.parse_args(argv)
    for name, v in (("--layers", args.layers), ("--width", args.width), ("--ff", args.ff),
                    ("--head-dim", args.head_dim), ("--kv-heads", args.kv_heads)):
        if v is not None and v < 1:
            print(f"wasmlm synth: {name} must be positive", file=sys.stderr)
            return 2
    if args.width is not None and args.width % 8:
        print("wasmlm synth: --width must be a multiple of 8 (4 heads of an even size)", file=sys.stderr)
        return 2
    try:
        for path in synth_run(args.family, Path(args.out), args.layers, args.width, args.ff, args.vocab_size,
                              args.context, args.seed, args.type,
                              [f.strip() for f in args.quantize.split(",") if f.strip()], args.vocab, args.threads,
                              args.head_dim, args.kv_heads):
            print(f"{path} {path.stat().st_size} bytes")
    except (SynthError, QuantizeError, OSError) as e:
        print(f"wasmlm synth: {e}", file=sys.stderr)
        return 1
    return 0
