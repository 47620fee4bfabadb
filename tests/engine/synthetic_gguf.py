"""Tiny random models written with the `gguf` package: a few kilobytes that the engine loads in
milliseconds, for the architecture checks (test_phi3.py, test_layers.py), the malformed-file
checks and the fidelity command's end-to-end test."""

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, TokenType
from gguf.quants import quantize

N_VOCAB = 300
N_EMBD = 64
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = N_EMBD // N_HEAD
N_FF = 128
N_LAYER = 2
N_SWA = 16  # gemma3's sliding window: short, so that 80 tokens slide past it


def _tokenizer(w: GGUFWriter) -> None:
    """SentencePiece-style: unk, bos, eos, the 256 byte tokens, then a few pieces."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    words = ["\u2581", "a", "b", "c", "\u2581a", "\u2581b", "ab", "ba", "abc", "\u2581ab"]
    while len(tokens) < N_VOCAB:
        tokens.append(words[len(tokens) % len(words)] * (1 + len(tokens) // len(words)))
        types.append(TokenType.NORMAL)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_scores([-float(i) for i in range(N_VOCAB)])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)


def write_model(path: Path, arch: str = "llama", seed: int = 0, n_layer: int = N_LAYER,
                qtype: GGMLQuantizationType = GGMLQuantizationType.F32) -> Path:
    """A random model of `arch` ("llama", "phi3" or "gemma3"). Its matrices are F32 (exact in
    numpy; the engine then keeps activations in float) or quantized to `qtype` (the engine then
    quantizes activations to 8 bits as for a real model); norms stay F32."""
    rng = np.random.default_rng(seed)

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    def add_matrix(name, data):
        if qtype == GGMLQuantizationType.F32:
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, quantize(data, qtype), raw_dtype=qtype)

    gemma = arch == "gemma3"
    q_dim, kv_dim = N_HEAD * HEAD_DIM, N_HEAD_KV * HEAD_DIM
    w = GGUFWriter(str(path), arch)
    w.add_name(f"synthetic {arch}")
    w.add_block_count(n_layer)
    w.add_context_length(256)
    w.add_embedding_length(N_EMBD)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(1e6 if gemma else 10000.0)
    w.add_layer_norm_rms_eps(1e-6 if gemma else 1e-5)
    if gemma:
        w.add_key_length(HEAD_DIM)
        w.add_value_length(HEAD_DIM)
        w.add_sliding_window(N_SWA)
    _tokenizer(w)

    add_matrix("token_embd.weight", mat(N_VOCAB, N_EMBD))
    w.add_tensor("output_norm.weight", norm(N_EMBD))
    if arch == "phi3":
        add_matrix("output.weight", mat(N_VOCAB, N_EMBD))
    for il in range(n_layer):
        p = f"blk.{il}."
        w.add_tensor(p + "attn_norm.weight", norm(N_EMBD))
        if arch == "phi3":
            add_matrix(p + "attn_qkv.weight", mat(q_dim + 2 * kv_dim, N_EMBD))
            add_matrix(p + "ffn_up.weight", mat(2 * N_FF, N_EMBD))
        else:
            add_matrix(p + "attn_q.weight", mat(q_dim, N_EMBD))
            add_matrix(p + "attn_k.weight", mat(kv_dim, N_EMBD))
            add_matrix(p + "attn_v.weight", mat(kv_dim, N_EMBD))
            add_matrix(p + "ffn_gate.weight", mat(N_FF, N_EMBD))
            add_matrix(p + "ffn_up.weight", mat(N_FF, N_EMBD))
        if gemma:
            w.add_tensor(p + "attn_q_norm.weight", norm(HEAD_DIM))
            w.add_tensor(p + "attn_k_norm.weight", norm(HEAD_DIM))
            w.add_tensor(p + "post_attention_norm.weight", norm(N_EMBD))
            w.add_tensor(p + "post_ffw_norm.weight", norm(N_EMBD))
        add_matrix(p + "attn_output.weight", mat(N_EMBD, q_dim))
        w.add_tensor(p + "ffn_norm.weight", norm(N_EMBD))
        add_matrix(p + "ffn_down.weight", mat(N_EMBD, N_FF))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
