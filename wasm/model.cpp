// model: the forward pass of llama, qwen2, qwen3, gemma3 and phi3 over a batch of tokens (model.h).
//
// One batch of up to max_batch tokens goes through every layer at once: each weight matrix is
// read once per batch (activations are prepared once, then matmul_rows runs over blocks of rows
// spread over the thread pool), and attention is causal inside the batch. A one-token decode is
// the same code with n = 1.
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>

#include "kv_cache.h"
#include "ops.h"
#include "quants.h"
#include "status.h"
#include "threads.h"

#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
double time_ms(void) { return emscripten_get_now(); }
#else
#include <chrono>
double time_ms(void) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
#endif

// ---------------------------------------------------------------------------------------------
// matmul: y[t, r] = W[r] . x[t] for a batch, rows split over the pool

struct matmul_job {
    weight w;
    int64_t cols;
    const void* act;
    int n;
    float* y;
    int64_t y_stride;
};

static void matmul_job_run(void* ctx, int64_t begin, int64_t end) {
    const matmul_job* j = (const matmul_job*)ctx;
    matmul_rows(j->w.type, j->w.data, j->cols, j->act, j->n, j->y, j->y_stride, begin, end);
}

static void act_ready(model* m, int wtype, const float* x, int n, int64_t cols) {
    double t0 = time_ms();
    act_prepare(wtype, x, n, cols, m->act);
    m->stats.ms_matmul += time_ms() - t0;
}

// Multiplies with the activations already prepared in m->act for w's type.
static void matmul_prepared(model* m, weight w, int64_t cols, int64_t rows, int n, float* y, int64_t y_stride,
                            double* ms) {
    double t0 = time_ms();
    matmul_job job = {w, cols, m->act, n, y, y_stride};
    // a few blocks per thread balance uneven cores; blocks of >= 16 rows keep calls cheap
    int64_t grain = std::max<int64_t>(16, rows / (4 * pool_threads()));
    pool_run(rows, grain, matmul_job_run, &job);
    *ms += time_ms() - t0;
}

static void matmul(model* m, weight w, int64_t cols, int64_t rows, const float* x, int n, float* y) {
    act_ready(m, w.type, x, n, cols);
    matmul_prepared(m, w, cols, rows, n, y, rows, &m->stats.ms_matmul);
}

static void bias_add(float* y, const weight& b, int n, int64_t dim) {
    if (!b.data) return;
    const float* bias = (const float*)b.data;
    for (int t = 0; t < n; t++)
        for (int64_t i = 0; i < dim; i++) y[t * dim + i] += bias[i];
}

// ---------------------------------------------------------------------------------------------
// positions: rotary tables for the batch, then rotation of q and k

static bool layer_slides(const hparams* hp, int il) { return hp->n_swa > 0 && (il + 1) % hp->swa_pattern != 0; }

static float* rope_row(model* m, int table, int t) { return m->rope_cs + ((size_t)table * m->max_batch + t) * m->hp.n_rot; }

// cos/sin of every position of the batch: the global table with the model's rope scaling (Llama 3's
// and phi3's frequency factors, linear scaling, attention factor), the sliding-window one (gemma3's
// local layers, their own base) without.
static void rope_tables(model* m, int n) {
    const hparams* hp = &m->hp;
    for (int t = 0; t < n; t++) {
        rope_table_scaled(rope_row(m, 0, t), m->n_past + t, hp->n_rot, hp->rope_base, m->rope_factors,
                          hp->rope_freq_scale, hp->rope_mscale);
        rope_table(rope_row(m, 1, t), m->n_past + t, hp->n_rot, hp->rope_base_swa);
    }
}

static void rope_rows(model* m, float* x, int n, int n_heads, int table) {
    const hparams* hp = &m->hp;
    for (int t = 0; t < n; t++)
        rope_apply(x + (size_t)t * n_heads * hp->head_dim, n_heads, hp->head_dim, hp->n_rot, rope_row(m, table, t),
                   hp->rope_neox);
}

// ---------------------------------------------------------------------------------------------
// attention over the KV cache, softmax computed online
//
// The cache holds K and V as f16 (or q8_0), so each cached row of a head must be widened to float
// before use. One item of the pool is a KV head with a block of the batch's tokens and some of
// the query heads that read it (GQA): the item widens each K/V row once and every (token, head)
// row of the item uses it, each row keeping its own running max, sum and output. A row sees
// exactly the operations, in the same order, that it would see alone, so the split changes the
// speed and never the floats.

struct attn_job {
    const model* m;
    const uint8_t* k_layer;  // (n_ctx) rows of m->kv_row bytes, this layer's
    const uint8_t* v_layer;
    int window;              // keys further back than this are masked (0: none)
    int n;                   // tokens in the batch
    int tokens_per_item, heads_per_item;  // attn_split's choice
    int token_blocks, head_parts;
};

static const int HEAD_DIM_MAX = 4096;  // model_load's bound on attention.key_length
static const int ATTN_ROWS_MAX = 32;   // (token, head) rows of one item: their outputs stay in L1

static int attn_first(const attn_job* j, int pos) { return j->window ? std::max(0, pos - j->window + 1) : 0; }

// Rows [t0, t1) x heads [h0, h1) of KV head kh.
static void attn_item(const attn_job* j, int kh, int t0, int t1, int h0, int h1) {
    const model* m = j->m;
    const hparams* hp = &m->hp;
    const int hd = hp->head_dim, q_dim = hp->n_head * hd, nh = h1 - h0;
    float max[ATTN_ROWS_MAX], sum[ATTN_ROWS_MAX];
    for (int t = t0; t < t1; t++)
        for (int h = h0; h < h1; h++) {
            max[(t - t0) * nh + h - h0] = -INFINITY;
            sum[(t - t0) * nh + h - h0] = 0.0f;
            memset(m->att + (size_t)t * q_dim + (size_t)h * hd, 0, (size_t)hd * sizeof(float));
        }
    float k[HEAD_DIM_MAX], v[HEAD_DIM_MAX];  // this head's key and value at p, widened to float
    const int p_end = m->n_past + t1;        // one past the last token's position
    for (int p = attn_first(j, m->n_past + t0); p < p_end; p++) {
        kv_head_load(m->kv_type, j->k_layer + (size_t)p * m->kv_row, (int64_t)kh * hd, k, hd);
        kv_head_load(m->kv_type, j->v_layer + (size_t)p * m->kv_row, (int64_t)kh * hd, v, hd);
        for (int t = t0; t < t1; t++) {
            const int pos = m->n_past + t;
            if (p > pos || p < attn_first(j, pos)) continue;  // causal mask, sliding window
            for (int h = h0; h < h1; h++) {
                const int r = (t - t0) * nh + h - h0;
                const float* q = m->q + (size_t)t * q_dim + (size_t)h * hd;
                float* out = m->att + (size_t)t * q_dim + (size_t)h * hd;
                float score = vec_dot(q, k, hd);
                if (score > max[r]) {  // a new maximum rescales what was summed so far
                    float c = exp_f32(max[r] - score);
                    sum[r] *= c;
                    vec_scale(out, c, hd);
                    max[r] = score;
                }
                float w = exp_f32(score - max[r]);
                sum[r] += w;
                vec_axpy(out, w, v, hd);
            }
        }
    }
    for (int t = t0; t < t1; t++)
        for (int h = h0; h < h1; h++)
            vec_scale(m->att + (size_t)t * q_dim + (size_t)h * hd, 1.0f / sum[(t - t0) * nh + h - h0], hd);
}

// Items in token-block-major order (later blocks have more keys; the pool hands them out as
// threads come free).
static void attn_job_run(void* ctx, int64_t begin, int64_t end) {
    const attn_job* j = (const attn_job*)ctx;
    const hparams* hp = &j->m->hp;
    const int group = hp->n_head / hp->n_head_kv;
    for (int64_t item = begin; item < end; item++) {
        const int part = (int)(item % j->head_parts);
        const int kh = (int)(item / j->head_parts % hp->n_head_kv);
        const int tb = (int)(item / j->head_parts / hp->n_head_kv);
        const int t0 = tb * j->tokens_per_item, t1 = std::min(j->n, t0 + j->tokens_per_item);
        const int h0 = kh * group + part * j->heads_per_item;
        attn_item(j, kh, t0, t1, h0, h0 + j->heads_per_item);
    }
}

// The largest divisor of n below d (1 at least).
static int divisor_below(int n, int d) {
    for (int k = d - 1; k > 1; k--)
        if (n % k == 0) return k;
    return 1;
}

// How many tokens and query heads one item takes: as many as fit ATTN_ROWS_MAX (each K/V row is
// widened once for all of them), but with threads at least 4 items per thread, splitting the
// token blocks first and then the GQA group (a one-token decode of Gemma 3 270M has one KV head
// for 4 query heads: 4 items of one head each, as before the f16 cache, so both threads work).
static void attn_split(attn_job* j) {
    const hparams* hp = &j->m->hp;
    const int group = hp->n_head / hp->n_head_kv;
    int heads = group;
    while (heads > ATTN_ROWS_MAX) heads = divisor_below(group, heads);
    int tokens = std::max(1, std::min(j->n, ATTN_ROWS_MAX / heads));
    const int64_t want = pool_threads() > 1 ? 4 * pool_threads() : 1;
    auto items = [&] { return (int64_t)hp->n_head_kv * ((j->n + tokens - 1) / tokens) * (group / heads); };
    while (items() < want && (tokens > 1 || heads > 1)) {
        if (tokens > 1) tokens = (tokens + 1) / 2;
        else heads = divisor_below(group, heads);
    }
    j->tokens_per_item = tokens;
    j->heads_per_item = heads;
    j->token_blocks = (j->n + tokens - 1) / tokens;
    j->head_parts = group / heads;
}

// ---------------------------------------------------------------------------------------------
// one layer

static void norm_rows(model* m, float* out, const float* x, const weight& w, int n, int dim) {
    double t0 = time_ms();
    for (int t = 0; t < n; t++) rmsnorm(out + (size_t)t * dim, x + (size_t)t * dim, (const float*)w.data, dim, m->hp.norm_eps);
    m->stats.ms_norm += time_ms() - t0;
}

static void qkv_project(model* m, const layer_weights* w, int n) {
    const hparams* hp = &m->hp;
    int64_t E = hp->n_embd, q_dim = (int64_t)hp->n_head * hp->head_dim, kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    if (w->wqkv.data) {  // phi3: one fused matrix, q then k then v rows
        int64_t rows = q_dim + 2 * kv_dim;
        float* qkv = m->hb;  // free until the FFN, sized for this too
        matmul(m, w->wqkv, E, rows, m->xb, n, qkv);
        for (int t = 0; t < n; t++) {
            memcpy(m->q + t * q_dim, qkv + t * rows, (size_t)q_dim * sizeof(float));
            memcpy(m->k + t * kv_dim, qkv + t * rows + q_dim, (size_t)kv_dim * sizeof(float));
            memcpy(m->v + t * kv_dim, qkv + t * rows + q_dim + kv_dim, (size_t)kv_dim * sizeof(float));
        }
        return;
    }
    // the three projections share one prepared input when their types agree
    act_ready(m, w->wq.type, m->xb, n, E);
    matmul_prepared(m, w->wq, E, q_dim, n, m->q, q_dim, &m->stats.ms_matmul);
    if (w->wk.type != w->wq.type) act_ready(m, w->wk.type, m->xb, n, E);
    matmul_prepared(m, w->wk, E, kv_dim, n, m->k, kv_dim, &m->stats.ms_matmul);
    if (w->wv.type != w->wk.type) act_ready(m, w->wv.type, m->xb, n, E);
    matmul_prepared(m, w->wv, E, kv_dim, n, m->v, kv_dim, &m->stats.ms_matmul);
    bias_add(m->q, w->bq, n, q_dim);
    bias_add(m->k, w->bk, n, kv_dim);
    bias_add(m->v, w->bv, n, kv_dim);
}

// The batch's n rows of K or V into the cache of one layer, at positions n_past..
static void kv_rows_store(model* m, uint8_t* layer, const float* x, int n) {
    int64_t kv_dim = (int64_t)m->hp.n_head_kv * m->hp.head_dim;
    for (int t = 0; t < n; t++)
        kv_row_store(m->kv_type, x + t * kv_dim, layer + (size_t)(m->n_past + t) * m->kv_row, kv_dim);
}

static void attention_block(model* m, int il, int n) {
    const hparams* hp = &m->hp;
    const layer_weights* w = &m->layers[il];
    int hd = hp->head_dim, q_dim = hp->n_head * hd, kv_dim = hp->n_head_kv * hd;
    bool slides = layer_slides(hp, il);

    norm_rows(m, m->xb, m->x, w->attn_norm, n, hp->n_embd);
    qkv_project(m, w, n);
    if (w->q_norm.data) {  // gemma3, qwen3: RMSNorm of each head of q and k
        norm_rows(m, m->q, m->q, w->q_norm, n * hp->n_head, hd);
        norm_rows(m, m->k, m->k, w->k_norm, n * hp->n_head_kv, hd);
    }

    double t0 = time_ms();
    rope_rows(m, m->q, n, hp->n_head, slides ? 1 : 0);
    rope_rows(m, m->k, n, hp->n_head_kv, slides ? 1 : 0);
    vec_scale(m->q, hp->attn_scale, n * q_dim);
    // As llama.cpp: K and V are kept in fp16 (or q8_0, from the fp16-rounded values) and q is
    // converted to fp16 for q.k; f32 everywhere else.
    vec_round_f16(m->q, n * q_dim);
    vec_round_f16(m->k, n * kv_dim);
    vec_round_f16(m->v, n * kv_dim);
    m->stats.ms_rope += time_ms() - t0;

    t0 = time_ms();
    size_t layer_off = (size_t)il * m->n_ctx * m->kv_row;
    kv_rows_store(m, m->k_cache + layer_off, m->k, n);
    kv_rows_store(m, m->v_cache + layer_off, m->v, n);
    attn_job job = {m, m->k_cache + layer_off, m->v_cache + layer_off, slides ? hp->n_swa : 0, n, 0, 0, 0, 0};
    attn_split(&job);
    pool_run((int64_t)job.token_blocks * hp->n_head_kv * job.head_parts, 1, attn_job_run, &job);
    m->stats.ms_attention += time_ms() - t0;

    matmul(m, w->wo, q_dim, hp->n_embd, m->att, n, m->xb2);
    if (w->post_attn_norm.data) norm_rows(m, m->xb2, m->xb2, w->post_attn_norm, n, hp->n_embd);
    if (il == m->perturb_layer) vec_scale(m->xb2, 1.0f + m->perturb_amount, n * hp->n_embd);
    vec_add(m->x, m->xb2, n * hp->n_embd);
}

static void ffn_block(model* m, int il, int n) {
    const hparams* hp = &m->hp;
    const layer_weights* w = &m->layers[il];
    int64_t E = hp->n_embd, F = hp->n_ff;

    norm_rows(m, m->xb, m->x, w->ffn_norm, n, hp->n_embd);
    // gate in hb, up in hb2 (phi3's fused up matrix gives both in one row of hb)
    if (w->w_gate.data) {
        act_ready(m, w->w_gate.type, m->xb, n, E);
        matmul_prepared(m, w->w_gate, E, F, n, m->hb, F, &m->stats.ms_matmul);
        if (w->w_up.type != w->w_gate.type) act_ready(m, w->w_up.type, m->xb, n, E);
        matmul_prepared(m, w->w_up, E, F, n, m->hb2, F, &m->stats.ms_matmul);
    } else {
        matmul(m, w->w_up, E, 2 * F, m->xb, n, m->hb);
        for (int t = 0; t < n; t++) memcpy(m->hb2 + t * F, m->hb + t * 2 * F + F, (size_t)F * sizeof(float));
        for (int t = 1; t < n; t++) memmove(m->hb + t * F, m->hb + t * 2 * F, (size_t)F * sizeof(float));
    }

    double t0 = time_ms();
    if (m->arch == ARCH_GEMMA3) gelu_tanh_mul(m->hb, m->hb2, n * F);
    else silu_mul(m->hb, m->hb2, n * F);
    m->stats.ms_ffn_act += time_ms() - t0;

    matmul(m, w->w_down, F, E, m->hb, n, m->xb2);
    if (w->post_ffn_norm.data) norm_rows(m, m->xb2, m->xb2, w->post_ffn_norm, n, hp->n_embd);
    vec_add(m->x, m->xb2, n * hp->n_embd);
}

// ---------------------------------------------------------------------------------------------
// a batch, then the whole eval in batches

static void embed(model* m, const int32_t* ids, int n) {
    const hparams* hp = &m->hp;
    size_t rb = row_bytes(m->token_embd.type, hp->n_embd);
    for (int t = 0; t < n; t++) {
        float* x = m->x + (size_t)t * hp->n_embd;
        dequantize_row(m->token_embd.type, (const uint8_t*)m->token_embd.data + (size_t)ids[t] * rb, x, hp->n_embd);
        if (hp->embd_scale != 1.0f) vec_scale(x, hp->embd_scale, hp->n_embd);
    }
}

// Logits of rows [first, n) of the batch into out (n - first, n_vocab).
static void logits_compute(model* m, int first, int n, float* out) {
    const hparams* hp = &m->hp;
    int rows = n - first;
    norm_rows(m, m->xb, m->x + (size_t)first * hp->n_embd, m->output_norm, rows, hp->n_embd);
    act_ready(m, m->output.type, m->xb, rows, hp->n_embd);
    matmul_prepared(m, m->output, hp->n_embd, hp->n_vocab, rows, out, hp->n_vocab, &m->stats.ms_logits);
}

// Copies the residual rows of the captured positions that lie in this batch into slot `slot`.
static void capture_rows(model* m, int slot, int n) {
    const hparams* hp = &m->hp;
    for (int i = 0; i < m->n_capture; i++) {
        int t = m->capture_pos[i] - m->n_past;
        if (t < 0 || t >= n) continue;
        float* dst = m->capture + ((size_t)i * (hp->n_layer + 1) + slot) * hp->n_embd;
        memcpy(dst, m->x + (size_t)t * hp->n_embd, (size_t)hp->n_embd * sizeof(float));
    }
}

static void forward_batch(model* m, const int32_t* ids, int n, float* logits, bool all_logits) {
    embed(m, ids, n);
    rope_tables(m, n);
    if (m->n_capture) capture_rows(m, 0, n);
    for (int il = 0; il < m->hp.n_layer; il++) {
        attention_block(m, il, n);
        ffn_block(m, il, n);
        if (m->n_capture) capture_rows(m, il + 1, n);
    }
    if (logits) logits_compute(m, all_logits ? 0 : n - 1, n, logits);
    m->n_past += n;
}

static int logits_reserve(model* m, int rows) {
    if (rows <= m->logits_cap) return WL_OK;
    size_t bytes = (size_t)rows * (size_t)m->hp.n_vocab * sizeof(float);
    float* p = (float*)realloc(m->logits, bytes);
    if (!p) return status_fail(WL_ERR_NO_MEMORY, "out of memory for the logits of %d positions (%zu bytes)", rows, bytes);
    m->logits = p;
    m->logits_cap = rows;
    return WL_OK;
}

int model_eval(model* m, const int32_t* ids, int n, bool all_logits) {
    if (n <= 0 || !ids) return status_fail(WL_ERR_ARG, "eval needs at least one token");
    if (n > m->n_ctx - m->n_past)
        return status_fail(WL_ERR_CONTEXT_FULL, "context full: %d tokens at position %d exceed n_ctx %d", n, m->n_past,
                           m->n_ctx);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->hp.n_vocab)
            return status_fail(WL_ERR_ARG, "token id %d at index %d is outside the vocabulary (%d)", ids[i], i,
                               m->hp.n_vocab);
    int rc = logits_reserve(m, all_logits ? n : 1);
    if (rc) return rc;

    double t0 = time_ms();
    for (int done = 0; done < n; done += m->max_batch) {
        int b = std::min(m->max_batch, n - done);
        bool last = done + b == n;
        float* out = all_logits ? m->logits + (size_t)done * m->hp.n_vocab : (last ? m->logits : nullptr);
        forward_batch(m, ids + done, b, out, all_logits);
    }
    m->n_logits = all_logits ? n : 1;
    m->stats.ms_total += time_ms() - t0;
    m->stats.n_evals++;
    if (n == 1) m->stats.n_generated++;
    else m->stats.n_prompt += n;
    return WL_OK;
}

int model_capture_set(model* m, const int32_t* positions, int n) {
    if (n < 0 || (n && !positions)) return status_fail(WL_ERR_ARG, "capture: bad list of positions");
    for (int i = 0; i < n; i++)
        if (positions[i] < 0 || positions[i] >= m->n_ctx)
            return status_fail(WL_ERR_ARG, "capture: position %d is outside the context (%d)", positions[i], m->n_ctx);
    size_t rows = (size_t)n * (m->hp.n_layer + 1), bytes = rows * m->hp.n_embd * sizeof(float);
    float* states = n ? (float*)malloc(bytes) : nullptr;
    int32_t* pos = n ? (int32_t*)malloc((size_t)n * sizeof(int32_t)) : nullptr;
    if (n && (!states || !pos)) {
        free(states);
        free(pos);
        return status_fail(WL_ERR_NO_MEMORY, "out of memory for the states of %d positions (%zu bytes)", n, bytes);
    }
    for (size_t i = 0; i < rows * m->hp.n_embd; i++) states[i] = NAN;
    if (n) memcpy(pos, positions, (size_t)n * sizeof(int32_t));
    free(m->capture);
    free(m->capture_pos);
    m->capture = states;
    m->capture_pos = pos;
    m->n_capture = n;
    return n;
}

int model_kv_truncate(model* m, int n_keep) {
    if (n_keep < 0 || n_keep > m->n_past)
        return status_fail(WL_ERR_ARG, "cannot keep %d positions of %d", n_keep, m->n_past);
    m->n_past = n_keep;  // later evals overwrite the positions beyond
    return WL_OK;
}
