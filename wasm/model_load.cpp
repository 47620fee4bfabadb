// model_load: hyperparameters and weights from a validated GGUF view, checked against each
// other, then the KV cache and scratch allocations (model.h).
//
// Everything a malformed or unexpected file could get wrong is caught here with a message that
// names the key or tensor, so the forward pass can trust every shape and type.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>

#include "kv_cache.h"
#include "model.h"
#include "quants.h"
#include "status.h"

// Sizes beyond these are not a small model for a browser: reject them before any arithmetic.
static const uint32_t MAX_DIM = 1 << 20;
static const uint32_t MAX_LAYERS = 1024;
static const uint32_t MAX_HEADS = 1024;
static const int MAX_BATCH = 64;      // tokens per forward batch; longer prompts go in chunks

struct loader {
    const gguf_file* f;
    const char* arch;   // key prefix: "llama", "qwen2", "qwen3", "gemma3", "phi3"
};

// ---------------------------------------------------------------------------------------------
// hyperparameters

static int key_u32(loader* l, const char* name, uint32_t lo, uint32_t hi, int* out) {
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", l->arch, name);
    uint32_t v;
    if (!gguf_find_kv(l->f, key)) return status_fail(WL_ERR_KEY, "missing key %s", key);
    if (!gguf_get_u32(l->f, key, &v)) return status_fail(WL_ERR_KEY, "key %s is not an unsigned integer", key);
    if (v < lo || v > hi) return status_fail(WL_ERR_KEY, "key %s = %u is out of range [%u, %u]", key, v, lo, hi);
    *out = (int)v;
    return WL_OK;
}

static int key_u32_or(loader* l, const char* name, uint32_t lo, uint32_t hi, int fallback, int* out) {
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", l->arch, name);
    if (!gguf_find_kv(l->f, key)) {
        *out = fallback;
        return WL_OK;
    }
    return key_u32(l, name, lo, hi, out);
}

static int key_f32_or(loader* l, const char* name, float fallback, float* out) {
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", l->arch, name);
    if (!gguf_find_kv(l->f, key)) {
        *out = fallback;
        return WL_OK;
    }
    if (!gguf_get_f32(l->f, key, out)) return status_fail(WL_ERR_KEY, "key %s is not a float", key);
    if (!(*out > 0.0f) || !isfinite(*out)) return status_fail(WL_ERR_KEY, "key %s = %g must be positive", key, *out);
    return WL_OK;
}

static int arch_read(loader* l, model* m) {
    gguf_str s;
    if (!gguf_find_kv(l->f, "general.architecture")) return status_fail(WL_ERR_KEY, "missing key general.architecture");
    if (!gguf_get_str(l->f, "general.architecture", &s))
        return status_fail(WL_ERR_KEY, "key general.architecture is not a string");
    if (gguf_str_eq(s, "llama")) m->arch = ARCH_LLAMA, l->arch = "llama";
    else if (gguf_str_eq(s, "gemma3")) m->arch = ARCH_GEMMA3, l->arch = "gemma3";
    else if (gguf_str_eq(s, "phi3")) m->arch = ARCH_PHI3, l->arch = "phi3";
    else if (gguf_str_eq(s, "qwen2")) m->arch = ARCH_QWEN2, l->arch = "qwen2";
    else if (gguf_str_eq(s, "qwen3")) m->arch = ARCH_QWEN3, l->arch = "qwen3";
    else
        return status_fail(WL_ERR_ARCH,
                           "architecture '%.*s' is not supported (llama, qwen2, qwen3, gemma3, phi3 are)",
                           (int)std::min<uint64_t>(s.len, 64), s.data);
    return WL_OK;
}

// Rope scaling keys, read as llama.cpp reads them: the type (linear unless said), its factor, the
// attention factor and the original context. YaRN (its angles blend two scalings) is refused by name.
static int rope_scaling_read(loader* l, model* m) {
    hparams* hp = &m->hp;
    char key[128];
    bool linear = true;
    snprintf(key, sizeof(key), "%s.rope.scaling.type", l->arch);
    if (gguf_find_kv(l->f, key)) {
        gguf_str s;
        if (!gguf_get_str(l->f, key, &s)) return status_fail(WL_ERR_KEY, "key %s is not a string", key);
        if (gguf_str_eq(s, "none")) linear = false;
        else if (!gguf_str_eq(s, "linear") && !gguf_str_eq(s, "longrope"))
            return status_fail(WL_ERR_KEY, "key %s = '%.*s' is not supported (none, linear, longrope are)", key,
                               (int)std::min<uint64_t>(s.len, 64), s.data);
    }
    float factor = 0.0f;  // 0: not scaled, as llama.cpp reads it
    const char* factor_keys[] = {"rope.scaling.factor", "rope.scale_linear"};  // the second is the old name
    for (const char* name : factor_keys) {
        snprintf(key, sizeof(key), "%s.%s", l->arch, name);
        if (!gguf_find_kv(l->f, key)) continue;
        if (!gguf_get_f32(l->f, key, &factor) || !isfinite(factor) || factor < 0.0f)
            return status_fail(WL_ERR_KEY, "key %s must be a float >= 0", key);
        break;
    }
    hp->rope_freq_scale = linear && factor != 0.0f ? 1.0f / factor : 1.0f;
    int rc;
    if ((rc = key_f32_or(l, "rope.scaling.attn_factor", 1.0f, &hp->rope_mscale)) ||
        (rc = key_u32_or(l, "rope.scaling.original_context_length", 1, MAX_DIM, hp->n_ctx_train, &hp->n_ctx_orig)))
        return rc;
    return WL_OK;
}

static int hparams_read(loader* l, model* m) {
    hparams* hp = &m->hp;
    int rc;
    if ((rc = key_u32(l, "block_count", 1, MAX_LAYERS, &hp->n_layer)) ||
        (rc = key_u32(l, "embedding_length", 1, MAX_DIM, &hp->n_embd)) ||
        (rc = key_u32(l, "feed_forward_length", 1, MAX_DIM, &hp->n_ff)) ||
        (rc = key_u32(l, "context_length", 1, MAX_DIM, &hp->n_ctx_train)) ||
        (rc = key_u32(l, "attention.head_count", 1, MAX_HEADS, &hp->n_head)) ||
        (rc = key_u32_or(l, "attention.head_count_kv", 1, MAX_HEADS, hp->n_head, &hp->n_head_kv)))
        return rc;
    if (hp->n_head % hp->n_head_kv != 0)
        return status_fail(WL_ERR_KEY, "%s.attention.head_count (%d) is not a multiple of head_count_kv (%d)",
                           l->arch, hp->n_head, hp->n_head_kv);
    if ((rc = key_u32_or(l, "attention.key_length", 2, 4096, hp->n_embd / hp->n_head, &hp->head_dim))) return rc;
    int value_length;
    if ((rc = key_u32_or(l, "attention.value_length", 2, 4096, hp->head_dim, &value_length))) return rc;
    if (value_length != hp->head_dim || hp->head_dim % 2 != 0)
        return status_fail(WL_ERR_KEY, "%s: key length %d and value length %d must be equal and even", l->arch,
                           hp->head_dim, value_length);
    if ((rc = key_u32_or(l, "rope.dimension_count", 2, (uint32_t)hp->head_dim, hp->head_dim, &hp->n_rot))) return rc;
    if (hp->n_rot % 2 != 0) return status_fail(WL_ERR_KEY, "%s.rope.dimension_count must be even", l->arch);
    if ((rc = key_f32_or(l, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->norm_eps)) ||
        (rc = key_f32_or(l, "rope.freq_base", 10000.0f, &hp->rope_base)))
        return rc;

    hp->rope_base_swa = hp->rope_base;
    hp->rope_neox = false;
    hp->n_swa = 0;
    hp->swa_pattern = 0;
    hp->embd_scale = 1.0f;
    hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
    if (m->arch == ARCH_GEMMA3) {
        // llama.cpp hard-codes these for Gemma 3: every 6th layer is global, the others slide
        // over 512 tokens with their own rope base.
        hp->rope_neox = true;
        hp->rope_base_swa = 10000.0f;
        hp->swa_pattern = 6;
        hp->embd_scale = sqrtf((float)hp->n_embd);
        if ((rc = key_u32(l, "attention.sliding_window", 1, MAX_DIM, &hp->n_swa))) return rc;
    }
    // phi3's sliding window is ignored, as llama.cpp does (its converters fill it wrongly)
    if (m->arch == ARCH_PHI3 || m->arch == ARCH_QWEN2 || m->arch == ARCH_QWEN3) hp->rope_neox = true;
    return rope_scaling_read(l, m);
}

// ---------------------------------------------------------------------------------------------
// tensors

static int tensor_get(loader* l, model* m, const char* name, int64_t cols, int64_t rows, bool matrix, bool required,
                      weight* out) {
    out->data = nullptr;
    out->type = GGML_TYPE_F32;
    const gguf_tensor* t = gguf_find_tensor(l->f, name);
    if (!t) return required ? status_fail(WL_ERR_SHAPE, "missing tensor %s", name) : WL_OK;
    bool shape_ok = t->ne[0] == cols && t->ne[1] == rows && t->ne[2] == 1 && t->ne[3] == 1;
    if (!shape_ok)
        return status_fail(WL_ERR_SHAPE, "tensor %s has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", name,
                           (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                           (long long)cols, (long long)rows);
    if (matrix ? !type_supported(t->type) : t->type != GGML_TYPE_F32)
        return status_fail(WL_ERR_TYPE, "tensor %s has type %s, which is not supported here%s", name,
                           type_name(t->type), matrix ? "" : " (vectors must be F32)");
    out->data = t->data;
    out->type = t->type;
    m->weights_bytes += t->nbytes;
    return WL_OK;
}

static int layer_read(loader* l, model* m, int il) {
    const hparams* hp = &m->hp;
    layer_weights* w = &m->layers[il];
    int64_t E = hp->n_embd, F = hp->n_ff;
    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    bool gemma = m->arch == ARCH_GEMMA3, phi3 = m->arch == ARCH_PHI3;
    bool qwen2 = m->arch == ARCH_QWEN2, qwen3 = m->arch == ARCH_QWEN3;
    char name[96];
    int rc;
#define TENSOR(field, suffix, cols, rows, matrix, required)                          \
    snprintf(name, sizeof(name), "blk.%d.%s.weight", il, suffix);                    \
    if ((rc = tensor_get(l, m, name, cols, rows, matrix, required, &w->field))) return rc;
#define BIAS(field, suffix, n, required)                                             \
    snprintf(name, sizeof(name), "blk.%d.%s.bias", il, suffix);                      \
    if ((rc = tensor_get(l, m, name, n, 1, false, required, &w->field))) return rc;

    TENSOR(attn_norm, "attn_norm", E, 1, false, true);
    if (phi3) {
        TENSOR(wqkv, "attn_qkv", E, q_dim + 2 * kv_dim, true, true);
    } else {
        TENSOR(wq, "attn_q", E, q_dim, true, true);
        TENSOR(wk, "attn_k", E, kv_dim, true, true);
        TENSOR(wv, "attn_v", E, kv_dim, true, true);
        BIAS(bq, "attn_q", q_dim, qwen2);
        BIAS(bk, "attn_k", kv_dim, qwen2);
        BIAS(bv, "attn_v", kv_dim, qwen2);
    }
    TENSOR(q_norm, "attn_q_norm", hp->head_dim, 1, false, gemma || qwen3);
    TENSOR(k_norm, "attn_k_norm", hp->head_dim, 1, false, gemma || qwen3);
    TENSOR(wo, "attn_output", q_dim, E, true, true);
    TENSOR(post_attn_norm, "post_attention_norm", E, 1, false, gemma);
    TENSOR(ffn_norm, "ffn_norm", E, 1, false, true);
    if (phi3) {
        TENSOR(w_up, "ffn_up", E, 2 * F, true, true);
    } else {
        TENSOR(w_gate, "ffn_gate", E, F, true, true);
        TENSOR(w_up, "ffn_up", E, F, true, true);
    }
    TENSOR(w_down, "ffn_down", F, E, true, true);
    TENSOR(post_ffn_norm, "post_ffw_norm", E, 1, false, gemma);
#undef TENSOR
#undef BIAS
    return WL_OK;
}

static int weights_read(loader* l, model* m) {
    hparams* hp = &m->hp;
    const gguf_tensor* embd = gguf_find_tensor(l->f, "token_embd.weight");
    if (!embd) return status_fail(WL_ERR_SHAPE, "missing tensor token_embd.weight");
    if (embd->ne[1] > MAX_DIM) return status_fail(WL_ERR_SHAPE, "token_embd.weight has %lld rows", (long long)embd->ne[1]);
    hp->n_vocab = (int)embd->ne[1];
    int rc;
    if ((rc = key_u32_or(l, "vocab_size", 1, MAX_DIM, hp->n_vocab, &hp->n_vocab))) return rc;
    if ((rc = tensor_get(l, m, "token_embd.weight", hp->n_embd, hp->n_vocab, true, true, &m->token_embd)) ||
        (rc = tensor_get(l, m, "output_norm.weight", hp->n_embd, 1, false, true, &m->output_norm)) ||
        (rc = tensor_get(l, m, "output.weight", hp->n_embd, hp->n_vocab, true, false, &m->output)))
        return rc;
    if (!m->output.data) m->output = m->token_embd;  // tied to the embedding
    m->layers = (layer_weights*)calloc((size_t)hp->n_layer, sizeof(layer_weights));
    if (!m->layers) return status_fail(WL_ERR_NO_MEMORY, "out of memory for %d layers", hp->n_layer);
    for (int il = 0; il < hp->n_layer; il++)
        if ((rc = layer_read(l, m, il))) return rc;
    return WL_OK;
}

// The rope frequency divisors, as llama.cpp's get_rope_factors picks them: Llama 3's rope_freqs,
// else phi3's long factors when the context exceeds the original one, else its short ones.
static int rope_factors_read(loader* l, model* m) {
    int64_t n = m->hp.n_rot / 2;
    weight freqs, lng, shrt;
    int rc;
    if ((rc = tensor_get(l, m, "rope_freqs.weight", n, 1, false, false, &freqs)) ||
        (rc = tensor_get(l, m, "rope_factors_long.weight", n, 1, false, false, &lng)) ||
        (rc = tensor_get(l, m, "rope_factors_short.weight", n, 1, false, false, &shrt)))
        return rc;
    const weight& chosen = freqs.data ? freqs : (m->n_ctx > m->hp.n_ctx_orig ? lng : shrt);
    const char* name = freqs.data ? "rope_freqs.weight" : chosen.data == lng.data ? "rope_factors_long.weight"
                                                                                   : "rope_factors_short.weight";
    m->rope_factors = (const float*)chosen.data;
    for (int64_t i = 0; m->rope_factors && i < n; i++)  // angles are divided by them
        if (!(m->rope_factors[i] > 0.0f) || !isfinite(m->rope_factors[i]))
            return status_fail(WL_ERR_SHAPE, "tensor %s holds %g at %lld: rope factors must be positive", name,
                               m->rope_factors[i], (long long)i);
    return WL_OK;
}

// ---------------------------------------------------------------------------------------------
// allocations

static size_t act_bytes_max(const model* m) {
    const hparams* hp = &m->hp;
    size_t n = act_bytes(m->output.type, m->max_batch, hp->n_embd);
    for (int il = 0; il < hp->n_layer; il++) {
        const layer_weights* w = &m->layers[il];
        const weight* in_embd[] = {&w->wq, &w->wk, &w->wv, &w->wqkv, &w->w_gate, &w->w_up};
        for (const weight* x : in_embd)
            if (x->data) n = std::max(n, act_bytes(x->type, m->max_batch, hp->n_embd));
        n = std::max(n, act_bytes(w->wo.type, m->max_batch, (int64_t)hp->n_head * hp->head_dim));
        n = std::max(n, act_bytes(w->w_down.type, m->max_batch, hp->n_ff));
    }
    return n;
}

static float* floats_alloc(model* m, size_t n) {
    m->scratch_bytes += n * sizeof(float);
    return (float*)calloc(n, sizeof(float));
}

// The cache as two allocations, K and V: each stays under 2 GiB, which wasm32's malloc needs.
static int kv_alloc(model* m, int kv_type) {
    const hparams* hp = &m->hp;
    if (!kv_type_ok(kv_type, hp->head_dim))
        return status_fail(WL_ERR_ARG, "KV cache type %s is not possible with head size %d (q8_0 needs a multiple of 32)",
                           kv_type_name(kv_type), hp->head_dim);
    m->kv_type = kv_type;
    m->kv_row = kv_row_bytes(kv_type, (int64_t)hp->n_head_kv * hp->head_dim);
    size_t rows = (size_t)hp->n_layer * (size_t)m->n_ctx;
    // K and V together must be countable in size_t (wasm32: 4 GiB); beyond that calloc fails cleanly
    if (rows > SIZE_MAX / 2 / m->kv_row) return status_fail(WL_ERR_NO_MEMORY, "KV cache for %d tokens is too large", m->n_ctx);
    m->k_cache = (uint8_t*)calloc(rows, m->kv_row);
    m->v_cache = (uint8_t*)calloc(rows, m->kv_row);
    if (!m->k_cache || !m->v_cache)
        return status_fail(WL_ERR_NO_MEMORY, "out of memory for the KV cache (%zu bytes for %d tokens in %s)",
                           2 * rows * m->kv_row, m->n_ctx, kv_type_name(kv_type));
    return WL_OK;
}

static int buffers_alloc(model* m, int n_ctx, int kv_type) {
    const hparams* hp = &m->hp;
    m->n_ctx = n_ctx <= 0 ? std::min(hp->n_ctx_train, MODEL_CTX_DEFAULT) : std::min(n_ctx, hp->n_ctx_train);
    int rc = kv_alloc(m, kv_type);
    if (rc) return rc;
    size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim;

    size_t B = (size_t)(m->max_batch = MAX_BATCH);
    size_t E = (size_t)hp->n_embd, Q = (size_t)hp->n_head * hp->head_dim, F = (size_t)hp->n_ff;
    m->scratch_bytes = 0;
    m->x = floats_alloc(m, B * E);
    m->xb = floats_alloc(m, B * E);
    m->xb2 = floats_alloc(m, B * E);
    m->q = floats_alloc(m, B * Q);
    m->k = floats_alloc(m, B * kv_dim);
    m->v = floats_alloc(m, B * kv_dim);
    m->att = floats_alloc(m, B * Q);
    m->hb = floats_alloc(m, B * std::max(2 * F, Q + 2 * kv_dim));
    m->hb2 = floats_alloc(m, B * F);
    m->rope_cs = floats_alloc(m, 2 * B * (size_t)hp->n_rot);
    size_t act = act_bytes_max(m);
    m->act = malloc(act);
    m->scratch_bytes += act;
    m->logits_cap = 1;
    m->logits = (float*)malloc((size_t)hp->n_vocab * sizeof(float));
    bool ok = m->x && m->xb && m->xb2 && m->q && m->k && m->v && m->att && m->hb && m->hb2 && m->rope_cs && m->act && m->logits;
    if (!ok) return status_fail(WL_ERR_NO_MEMORY, "out of memory for scratch buffers (%zu bytes)", m->scratch_bytes);
    return WL_OK;
}

// ---------------------------------------------------------------------------------------------

int model_init(model* m, const gguf_file* f, int n_ctx, int kv_type) {
    memset(m, 0, sizeof(*m));
    m->perturb_layer = -1;
    loader l = {f, nullptr};
    int rc;
    if ((rc = arch_read(&l, m)) || (rc = hparams_read(&l, m)) || (rc = weights_read(&l, m)) ||
        (rc = buffers_alloc(m, n_ctx, kv_type)) || (rc = rope_factors_read(&l, m))) {
        model_free(m);
        return rc;
    }
    return WL_OK;
}

void model_free(model* m) {
    free(m->layers);
    free(m->k_cache);
    free(m->v_cache);
    float* bufs[] = {m->x, m->xb, m->xb2, m->q, m->k, m->v, m->att, m->hb, m->hb2, m->rope_cs, m->logits};
    for (float* b : bufs) free(b);
    free(m->act);
    free(m->capture);
    free(m->capture_pos);
    memset(m, 0, sizeof(*m));
}

size_t model_kv_bytes(const model* m) {
    return 2 * (size_t)m->hp.n_layer * (size_t)m->n_ctx * m->kv_row;
}
