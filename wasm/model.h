// model: the transformer architectures (llama, qwen2, qwen3, gemma3, phi3) over weights that stay where they lie
// in the GGUF region, a KV cache in f16 or q8_0 (kv_cache.h), and the forward pass.
//
// Shapes are written (rows, cols) with cols the fastest dimension, as in the GGUF file: a weight
// "(n_embd -> n_ff)" is n_ff rows of n_embd values, applied as y = W x.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

enum model_arch { ARCH_LLAMA, ARCH_GEMMA3, ARCH_PHI3, ARCH_QWEN2, ARCH_QWEN3, ARCH_COUNT };

// A tensor as stored: data inside the GGUF region, ggml type (quants.h). data is NULL when an
// optional tensor is absent.
struct weight {
    const void* data;
    int type;
};

struct hparams {
    int n_vocab;
    int n_ctx_train;
    int n_embd;
    int n_layer;
    int n_head;
    int n_head_kv;
    int head_dim;
    int n_ff;
    int n_rot;              // rotated dimensions of each head (== head_dim for these models)
    float norm_eps;
    float rope_base;        // global layers
    float rope_base_swa;    // sliding-window layers (gemma3)
    bool rope_neox;         // rotate halves (gemma3, phi3) instead of adjacent pairs (llama)
    int n_swa;              // sliding window in tokens, 0 = none
    int swa_pattern;        // layer il is global when (il + 1) % swa_pattern == 0 (gemma3: 6)
    float embd_scale;       // token embeddings are multiplied by this (gemma3: sqrt(n_embd))
    float attn_scale;       // queries are multiplied by this before q.k
    // rope scaling, as llama.cpp applies it (global layers): angles times rope_freq_scale (1 /
    // rope.scaling.factor) divided by per-pair factors (model.rope_factors), cos and sin times
    // rope_mscale (rope.scaling.attn_factor)
    float rope_freq_scale;
    float rope_mscale;
    int n_ctx_orig;         // rope.scaling.original_context_length: beyond it, phi3's long factors
};

struct layer_weights {
    weight attn_norm;       // (n_embd) F32
    weight wq;              // (n_embd -> n_head*head_dim)
    weight wk;              // (n_embd -> n_head_kv*head_dim)
    weight wv;              // (n_embd -> n_head_kv*head_dim)
    weight wqkv;            // phi3: (n_embd -> (n_head + 2*n_head_kv)*head_dim), q then k then v
    weight bq, bk, bv;      // F32 biases: qwen2 (optional elsewhere)
    weight q_norm, k_norm;  // gemma3, qwen3: (head_dim) F32, per-head RMSNorm
    weight wo;              // (n_head*head_dim -> n_embd)
    weight post_attn_norm;  // gemma3: (n_embd) F32, on the attention output
    weight ffn_norm;        // (n_embd) F32
    weight w_gate;          // (n_embd -> n_ff)
    weight w_up;            // (n_embd -> n_ff); phi3: (n_embd -> 2*n_ff), gate then up
    weight w_down;          // (n_ff -> n_embd)
    weight post_ffn_norm;   // gemma3: (n_embd) F32, on the FFN output
};

// Milliseconds spent per kind of work, plus token counts (wl_stats_json): an eval of one token
// counts as generated, longer ones as prompt.
struct model_stats {
    double ms_matmul, ms_attention, ms_norm, ms_rope, ms_ffn_act, ms_logits, ms_sample, ms_total;
    int64_t n_prompt, n_generated, n_evals;
};

struct model {
    model_arch arch;
    hparams hp;
    weight token_embd;      // (n_vocab rows of n_embd)
    weight output_norm;     // (n_embd) F32
    weight output;          // (n_embd -> n_vocab); token_embd when tied
    layer_weights* layers;  // (n_layer)
    // (n_rot/2) F32 divisors of the rope frequencies, or null: Llama 3's rope_freqs, or phi3's
    // rope_factors_long when the context exceeds n_ctx_orig, else rope_factors_short
    const float* rope_factors;
    size_t weights_bytes;

    // KV cache: (n_layer, n_ctx) rows of n_head_kv*head_dim values for K and for V, each row
    // kv_row bytes of kv_type (GGML_TYPE_F16 or GGML_TYPE_Q8_0)
    int n_ctx;
    int n_past;
    int kv_type;
    size_t kv_row;
    uint8_t* k_cache;
    uint8_t* v_cache;

    // scratch for one batch of up to max_batch tokens, allocated once
    int max_batch;
    float* x;               // (max_batch, n_embd) residual stream
    float* xb;              // (max_batch, n_embd) normed input of a sublayer
    float* xb2;             // (max_batch, n_embd) output of a sublayer
    float* q;               // (max_batch, n_head*head_dim)
    float* k;               // (max_batch, n_head_kv*head_dim)
    float* v;               // (max_batch, n_head_kv*head_dim)
    float* att;             // (max_batch, n_head*head_dim) attention output
    float* hb;              // (max_batch, max(2*n_ff, qkv rows)) gate (phi3: fused up, fused qkv)
    float* hb2;             // (max_batch, n_ff) up
    float* rope_cs;         // (2, max_batch, n_rot) cos/sin pairs: global, then sliding-window base
    void* act;              // activations prepared for a matmul (act_bytes of the largest)
    size_t scratch_bytes;

    // logits of the last eval: (n_logits, n_vocab)
    float* logits;
    int n_logits;
    int logits_cap;         // rows allocated

    model_stats stats;

    // per-layer hidden states (model_capture_set): the residual stream of n_capture absolute
    // positions after the embeddings and after every layer, (n_capture, n_layer + 1, n_embd)
    int n_capture;
    int32_t* capture_pos;
    float* capture;

    // test-only fault (wl_debug_perturb): layer perturb_layer's attention output is scaled by
    // (1 + perturb_amount) before it joins the residual stream; -1 = none
    int perturb_layer;
    float perturb_amount;
};

// Validates the hyperparameters and every tensor against them, and allocates the KV cache
// (n_ctx <= 0 or above the trained context: the trained context) and scratch. Returns WL_OK or a
// negative wl_status with a message naming the offending key or tensor.
// kv_type: GGML_TYPE_F16 or GGML_TYPE_Q8_0.
// The context when the caller does not choose one (n_ctx <= 0): min(trained context, this).
const int MODEL_CTX_DEFAULT = 4096;
int model_init(model* m, const gguf_file* f, int n_ctx, int kv_type = 1 /* GGML_TYPE_F16 */);
void model_free(model* m);

// Evaluates `n` tokens at positions n_past.., appending them to the KV cache. Logits are kept for
// the last position, or for every position when all_logits.
int model_eval(model* m, const int32_t* ids, int n, bool all_logits);

// Keeps the hidden states of these absolute positions in later evals (n = 0: none). Rows of
// positions not evaluated yet are NaN.
int model_capture_set(model* m, const int32_t* positions, int n);

int model_kv_truncate(model* m, int n_keep);
size_t model_kv_bytes(const model* m);

// Monotonic milliseconds (emscripten_get_now in wasm), for the timing counters.
double time_ms(void);
