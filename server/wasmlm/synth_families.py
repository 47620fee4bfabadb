"""The real hyperparameters of the small models people run in a browser, from each model's config.json
(Hugging Face) as llama.cpp's converter writes them into a GGUF. `wasmlm synth` writes random weights of
these shapes (synth.py); a family here is one line, its name the model's usual short name."""

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Shape:
    arch: str                   # general.architecture: llama, qwen2, qwen3, phi3, gemma3
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    n_ctx: int                  # context_length (trained)
    rope_base: float
    norm_eps: float
    tied: bool = True           # no output.weight: the logits reuse token_embd
    rope: dict = field(default_factory=dict)   # llama3: factor/low/high/orig; longrope: orig
    sliding_window: int = 0     # gemma3


FAMILIES: dict[str, Shape] = {
    "smollm2-135m": Shape("llama", 49152, 576, 30, 9, 3, 64, 1536, 8192, 100000.0, 1e-5),
    "smollm2-360m": Shape("llama", 49152, 960, 32, 15, 5, 64, 2560, 8192, 100000.0, 1e-5),
    "smollm2-1.7b": Shape("llama", 49152, 2048, 24, 32, 32, 64, 8192, 8192, 130000.0, 1e-5),
    "qwen2.5-0.5b": Shape("qwen2", 151936, 896, 24, 14, 2, 64, 4864, 32768, 1000000.0, 1e-6),
    "qwen2.5-1.5b": Shape("qwen2", 151936, 1536, 28, 12, 2, 128, 8960, 32768, 1000000.0, 1e-6),
    "qwen3-0.6b": Shape("qwen3", 151936, 1024, 28, 16, 8, 128, 3072, 40960, 1000000.0, 1e-6),
    "qwen3-1.7b": Shape("qwen3", 151936, 2048, 28, 16, 8, 128, 6144, 40960, 1000000.0, 1e-6),
    "llama3.2-1b": Shape("llama", 128256, 2048, 16, 32, 8, 64, 8192, 131072, 500000.0, 1e-5,
                         rope={"type": "llama3", "factor": 32.0, "low": 1.0, "high": 4.0, "orig": 8192}),
    "llama3.2-3b": Shape("llama", 128256, 3072, 28, 24, 8, 128, 8192, 131072, 500000.0, 1e-5,
                         rope={"type": "llama3", "factor": 32.0, "low": 1.0, "high": 4.0, "orig": 8192}),
    "gemma3-270m": Shape("gemma3", 262144, 640, 18, 4, 1, 256, 2048, 32768, 1000000.0, 1e-6,
                         sliding_window=512),
    "gemma3-1b": Shape("gemma3", 262144, 1152, 26, 4, 1, 256, 6912, 32768, 1000000.0, 1e-6,
                       sliding_window=512),
    "phi3-mini": Shape("phi3", 32064, 3072, 32, 32, 32, 96, 8192, 4096, 10000.0, 1e-5, tied=False),
    # the 128k-context variants (Phi-3-mini-128k, Phi-3.5-mini): "longrope" factor tensors and an
    # attention factor, over an original context of 4096
    "phi3.5-mini": Shape("phi3", 32064, 3072, 32, 32, 32, 96, 8192, 131072, 10000.0, 1e-5, tied=False,
                         rope={"type": "longrope", "orig": 4096}),
}

TINY_SWA = 16   # a tiny gemma3 slides over 16 tokens, so that a test of a few dozen tokens crosses it


def shape_scaled(base: Shape, layers: int | None = None, width: int | None = None, ff: int | None = None,
                 vocab: int | None = None, context: int | None = None, head_dim: int | None = None,
                 kv_heads: int | None = None) -> Shape:
    """The family's shape with some dimensions replaced. A new width keeps the kind of attention
    (grouped or not, q wider than the embedding or not) on 4 heads: n_embd = width, head_dim =
    width / 4 (x2 where the family's q is twice its embedding, as Qwen3 and Gemma 3 270M),
    n_ff = 2 x width, unless given; a rope-scaled model keeps the ratio of its context to the original
    one (Phi-3.5 32:1, Llama 3.2 16:1), so that a tiny context still scales most frequencies."""
    s = base
    if layers is not None:
        s = replace(s, n_layer=layers)
    if width is not None:
        ratio = max(1, round(base.n_head * base.head_dim / base.n_embd))
        s = replace(s, n_embd=width, n_head=4, n_head_kv=4 if base.n_head_kv == base.n_head else 2,
                    head_dim=width // 4 * ratio, n_ff=2 * width,
                    sliding_window=TINY_SWA if base.sliding_window else 0)
    if ff is not None:
        s = replace(s, n_ff=ff)
    if head_dim is not None:
        s = replace(s, head_dim=head_dim)
    if kv_heads is not None:
        s = replace(s, n_head_kv=kv_heads)
    if vocab is not None:
        s = replace(s, n_vocab=vocab)
    if context is not None:
        rope = dict(s.rope)
        if rope.get("type") in ("longrope", "llama3"):
            rope["orig"] = max(1, context * rope["orig"] // s.n_ctx)
        s = replace(s, n_ctx=context, rope=rope)
    return s
