"""An independent float32 forward pass in numpy for the engine's architectures (llama, qwen2, qwen3,
gemma3, phi3).

Weights are dequantized whole with the `gguf` package; everything else is written from the model
definitions (Llama: pre-norm RMSNorm, SwiGLU, rotary embeddings on adjacent pairs; Phi-3: the same
with fused qkv and gate/up matrices and rotation of halves; Gemma 3: sqrt(d)-scaled embeddings,
q/k RMSNorm, post-attention and post-FFN norms, GELU(tanh), five sliding-window layers with rope
base 10000 for each global one; Qwen2: q/k/v biases, rotation of halves; Qwen3: q/k RMSNorm;
rope scaling as llama.cpp applies it: the angle of pair i divided by Llama 3's rope_freqs[i] or
Phi-3's long (context beyond the original) or short factors, times 1/rope.scaling.factor, cos and
sin times rope.scaling.attn_factor), not from the engine's C++, so that the two can check each other.
Slow is fine: a 128-token pass over a 135M model takes a few seconds.

`forward` returns the residual stream after the embeddings and after every layer, and the logits.
With kv_f16, q, K and V are rounded to fp16 as llama.cpp's (and the engine's) fp16 KV cache does;
without it everything stays float32.
"""

from dataclasses import dataclass

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


@dataclass
class Hparams:
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_rot: int
    eps: float
    rope_base: float
    n_swa: int = 0
    rope_factors: np.ndarray | None = None   # (n_rot/2) divisors of the frequencies
    rope_freq_scale: float = 1.0
    rope_attn_factor: float = 1.0


@dataclass
class Forward:
    states: np.ndarray  # (n, n_layer + 1, n_embd): the embeddings, then the output of each layer
    logits: np.ndarray  # (n, n_vocab)


def _field(reader: GGUFReader, key: str, default=None):
    field = reader.fields.get(key)
    return default if field is None else field.contents()


def load(path: str, n_ctx: int = 0) -> tuple[Hparams, dict[str, np.ndarray]]:
    """Hyperparameters and every tensor as float32, shaped (rows, cols) like the file's ne reversed.
    n_ctx is the context the model is set up for (0: the engine's default, min(trained, 4096)): Phi-3's
    long rope factors apply beyond the original context."""
    reader = GGUFReader(path)
    arch = _field(reader, "general.architecture")
    n_embd = _field(reader, f"{arch}.embedding_length")
    n_head = _field(reader, f"{arch}.attention.head_count")
    head_dim = _field(reader, f"{arch}.attention.key_length", n_embd // n_head)
    hp = Hparams(
        arch=arch,
        n_layer=_field(reader, f"{arch}.block_count"),
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=_field(reader, f"{arch}.attention.head_count_kv", n_head),
        head_dim=head_dim,
        n_rot=_field(reader, f"{arch}.rope.dimension_count", head_dim),
        eps=_field(reader, f"{arch}.attention.layer_norm_rms_epsilon", 1e-5),
        rope_base=_field(reader, f"{arch}.rope.freq_base", 10000.0),
        n_swa=_field(reader, f"{arch}.attention.sliding_window", 0) if arch == "gemma3" else 0,
    )
    weights = tensors_dequantize(reader)
    n_ctx_train = _field(reader, f"{arch}.context_length")
    n_ctx = n_ctx or min(n_ctx_train, 4096)
    orig = _field(reader, f"{arch}.rope.scaling.original_context_length", n_ctx_train)
    factors = weights.get("rope_freqs.weight")
    if factors is None:
        factors = weights.get("rope_factors_long.weight" if n_ctx > orig else "rope_factors_short.weight")
    hp.rope_factors = None if factors is None else factors.reshape(-1)
    scaling = _field(reader, f"{arch}.rope.scaling.type", "linear")
    factor = _field(reader, f"{arch}.rope.scaling.factor", 0.0)
    hp.rope_freq_scale = 1.0 / factor if scaling != "none" and factor else 1.0
    hp.rope_attn_factor = _field(reader, f"{arch}.rope.scaling.attn_factor", 1.0)
    return hp, weights


def tensors_dequantize(reader: GGUFReader) -> dict[str, np.ndarray]:
    """Every tensor of the file as float32, shaped (rows, cols) like the file's ne reversed."""
    weights = {}
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        weights[t.name] = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
    return weights


def rmsnorm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x: np.ndarray, pos: np.ndarray, n_rot: int, base: float, neox: bool, factors=None,
         freq_scale: float = 1.0, mscale: float = 1.0) -> np.ndarray:
    """x: (n, heads, head_dim); rotates the first n_rot dims of each head, pair i by the angle
    pos * base^(-2i/n_rot) / factors[i] * freq_scale, with cos and sin times mscale."""
    half = n_rot // 2
    inv = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_rot)
    if factors is not None:
        inv = inv / factors.astype(np.float64)
    ang = pos[:, None].astype(np.float64) * inv[None, :] * freq_scale  # (n, half)
    cos = (np.cos(ang) * mscale).astype(np.float32)[:, None, :]
    sin = (np.sin(ang) * mscale).astype(np.float32)[:, None, :]
    out = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        out[..., :half] = a * cos - b * sin
        out[..., half:n_rot] = a * sin + b * cos
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = a * cos - b * sin
        out[..., 1:n_rot:2] = a * sin + b * cos
    return out


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def attention(q, k, v, window: int, kv_f16: bool):
    """q: (n, H, d), k/v: (n, Hkv, d), causal (and sliding when window > 0); q already scaled."""
    if kv_f16:  # llama.cpp keeps K and V in an fp16 cache and converts q to fp16 for q.k
        q, k, v = (a.astype(np.float16).astype(np.float32) for a in (q, k, v))
    n, n_head, _ = q.shape
    group = n_head // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("ihd,jhd->hij", q, k)
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    masked = (j > i) | ((window > 0) & (i - j >= window))
    scores = np.where(masked[None], -np.inf, scores)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    return np.einsum("hij,jhd->ihd", scores, v)


def forward(hp: Hparams, w: dict[str, np.ndarray], ids: list[int], kv_f16: bool = False) -> Forward:
    """Every position of one sequence starting at position 0."""
    n = len(ids)
    pos = np.arange(n)
    gemma = hp.arch == "gemma3"
    x = w["token_embd.weight"][ids].astype(np.float32)
    if gemma:
        x = x * np.float32(np.sqrt(hp.n_embd))
    states = [x]
    q_dim, kv_dim = hp.n_head * hp.head_dim, hp.n_head_kv * hp.head_dim
    for il in range(hp.n_layer):
        p = f"blk.{il}."
        h = rmsnorm(x, w[p + "attn_norm.weight"], hp.eps)
        if hp.arch == "phi3":
            qkv = h @ w[p + "attn_qkv.weight"].T
            q, k, v = qkv[:, :q_dim], qkv[:, q_dim : q_dim + kv_dim], qkv[:, q_dim + kv_dim :]
        else:
            q, k, v = (h @ w[p + f"attn_{s}.weight"].T + w.get(p + f"attn_{s}.bias", 0) for s in "qkv")
        q = q.reshape(n, hp.n_head, hp.head_dim)
        k = k.reshape(n, hp.n_head_kv, hp.head_dim)
        v = v.reshape(n, hp.n_head_kv, hp.head_dim)
        window, base, scaling = 0, hp.rope_base, (hp.rope_factors, hp.rope_freq_scale, hp.rope_attn_factor)
        if p + "attn_q_norm.weight" in w:  # gemma3, qwen3
            q = rmsnorm(q, w[p + "attn_q_norm.weight"], hp.eps)
            k = rmsnorm(k, w[p + "attn_k_norm.weight"], hp.eps)
        if gemma and (il + 1) % 6 != 0:  # five local layers for each global one, unscaled
            window, base, scaling = hp.n_swa, 10000.0, (None, 1.0, 1.0)
        q = rope(q, pos, hp.n_rot, base, hp.arch != "llama", *scaling)
        k = rope(k, pos, hp.n_rot, base, hp.arch != "llama", *scaling)
        att = attention(q / np.sqrt(hp.head_dim), k, v, window, kv_f16).reshape(n, q_dim)
        out = att @ w[p + "attn_output.weight"].T
        if gemma:
            out = rmsnorm(out, w[p + "post_attention_norm.weight"], hp.eps)
        x = x + out
        h = rmsnorm(x, w[p + "ffn_norm.weight"], hp.eps)
        if hp.arch == "phi3":
            gate, up = np.split(h @ w[p + "ffn_up.weight"].T, 2, axis=-1)
        else:
            gate, up = h @ w[p + "ffn_gate.weight"].T, h @ w[p + "ffn_up.weight"].T
        out = ((gelu_tanh(gate) if gemma else silu(gate)) * up) @ w[p + "ffn_down.weight"].T
        if gemma:
            out = rmsnorm(out, w[p + "post_ffw_norm.weight"], hp.eps)
        x = x + out
        states.append(x)
    x = rmsnorm(x, w["output_norm.weight"], hp.eps)
    logits = x @ w.get("output.weight", w["token_embd.weight"]).T
    return Forward(np.stack(states, axis=1), logits)
