// api: the exported C functions (api.h) over the GGUF view, the model, the tokenizer and the
// sampler. Arguments from JavaScript are checked here; deeper checks live in each part.
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>
#include <string>
#include <vector>

#include "gguf.h"
#include "kv_cache.h"
#include "model.h"
#include "quants.h"
#include "sampler.h"
#include "threads.h"
#include "tokenizer.h"

#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
#include <emscripten/heap.h>
#define API EMSCRIPTEN_KEEPALIVE
#else
#define API
#endif

struct wl_engine {
    gguf_file file;
    model m;  // all zero when vocab_only
    tokenizer* tok;
    bool vocab_only;  // a GGUF with tokenizer metadata and no tensors: tokenize and pieces only
};

struct wl_sampler {
    sampler* s;
};


// ---------------------------------------------------------------------------------------------
// small helpers

// Appends printf-style text to a growing string (JSON building).
static void str_printf(std::string* s, const char* fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    *s += buf;
}

static void json_str(std::string* s, const char* p, size_t n) {
    *s += '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') *s += '\\', *s += (char)c;
        else if (c < 0x20) str_printf(s, "\\u%04x", c);
        else *s += (char)c;
    }
    *s += '"';
}

// snprintf semantics for the JSON calls: full length back, at most cap - 1 bytes and a NUL out.
static int text_out(const std::string& s, char* out, int cap) {
    if (out && cap > 0) {
        size_t n = s.size() < (size_t)cap - 1 ? s.size() : (size_t)cap - 1;
        memcpy(out, s.data(), n);
        out[n] = 0;
    }
    return (int)s.size();
}

// Bytes this process holds: the whole wasm memory, or the resident set natively.
static size_t heap_bytes(void) {
#if defined(__EMSCRIPTEN__)
    return emscripten_get_heap_size();
#else
    long pages_total = 0, pages_resident = 0;
    FILE* f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    fclose(f);
    return (size_t)pages_resident * 4096;
#endif
}

#define CHECK_ENGINE(e)                                                               \
    if (!(e)) return status_fail(WL_ERR_ARG, "%s: engine is NULL", __func__);

// ---------------------------------------------------------------------------------------------
// engine

extern "C" {

API const char* wl_last_error(void) { return status_message(); }

API wl_engine* wl_engine_init(const uint8_t* gguf, size_t size, int n_ctx, int n_threads) {
    return wl_engine_init_kv(gguf, size, n_ctx, n_threads, GGML_TYPE_F16);
}

API wl_engine* wl_engine_init_kv(const uint8_t* gguf, size_t size, int n_ctx, int n_threads, int kv_type) {
    if (kv_type != GGML_TYPE_F16 && kv_type != GGML_TYPE_Q8_0) {
        status_fail(WL_ERR_ARG, "KV cache type %d is not one of f16 (%d) and q8_0 (%d)", kv_type, GGML_TYPE_F16,
                    GGML_TYPE_Q8_0);
        return nullptr;
    }
    if (!gguf || size == 0) {
        status_fail(WL_ERR_ARG, "wl_engine_init: no GGUF bytes given");
        return nullptr;
    }
    wl_engine* e = new (std::nothrow) wl_engine();
    if (!e) {
        status_fail(WL_ERR_NO_MEMORY, "out of memory for the engine");
        return nullptr;
    }
    int rc = gguf_open(&e->file, gguf, size);
    e->vocab_only = rc == WL_OK && e->file.tensors.empty();
    if (e->vocab_only) {
        // Whatever general.architecture says: the file is read for its tokenizer alone.
        if ((rc = tokenizer_init(&e->tok, &e->file)) < 0) {
            std::string why = status_message();
            status_fail(rc, "the GGUF holds no tensors and no tokenizer this engine can use: %s", why.c_str());
        }
    }
    if (rc == WL_OK && !e->vocab_only) rc = model_init(&e->m, &e->file, n_ctx, kv_type);
    if (rc == WL_OK && !e->vocab_only) rc = tokenizer_init(&e->tok, &e->file);
    if (rc == WL_OK && !e->vocab_only && tokenizer_n_vocab(e->tok) != e->m.hp.n_vocab)
        rc = status_fail(WL_ERR_SHAPE, "the tokenizer has %d tokens but token_embd.weight has %d rows",
                         tokenizer_n_vocab(e->tok), e->m.hp.n_vocab);
    if (rc != WL_OK) {
        wl_engine_free(e);
        return nullptr;
    }
    pool_init(n_threads);
    return e;
}

API void wl_engine_free(wl_engine* e) {
    if (!e) return;
    model_free(&e->m);
    if (e->tok) tokenizer_free(e->tok);
    delete e;
}

// A vocabulary-only file: its architecture string, the tokenizer's facts, no model.
static std::string vocab_info_json(wl_engine* e) {
    gguf_str arch = {"", 0}, name = {"", 0};
    gguf_get_str(&e->file, "general.architecture", &arch);
    gguf_get_str(&e->file, "general.name", &name);
    std::string s = "{\"arch\": ";
    json_str(&s, arch.data, (size_t)arch.len);
    s += ", \"name\": ";
    json_str(&s, name.data, (size_t)name.len);
    str_printf(&s, ", \"vocab_only\": true, \"n_vocab\": %d, \"bos\": %d, \"eos\": %d, \"add_bos\": %s, \"simd\": \"%s\"}",
               tokenizer_n_vocab(e->tok), tokenizer_bos(e->tok), tokenizer_eos(e->tok),
               tokenizer_add_bos(e->tok) ? "true" : "false", kernels_simd());
    return s;
}

#define CHECK_MODEL(e)                                                                                    \
    CHECK_ENGINE(e);                                                                                      \
    if ((e)->vocab_only)                                                                                  \
        return status_fail(WL_ERR_ARG, "%s: the GGUF holds only a vocabulary (no tensors): it can tokenize, " \
                           "not run the model", __func__);

// The engine's defaults: the sampler's (sampler.h) and the context's (model.h), their one home.
static std::string defaults_json(void) {
    const sampler_params p;
    std::string s;
    str_printf(&s,
               "{\"temperature\": %g, \"top_k\": %d, \"top_p\": %g, \"min_p\": %g, \"repeat_penalty\": %g, "
               "\"repeat_last_n\": %d, \"seed\": %llu, \"n_ctx\": %d}",
               (double)p.temperature, p.top_k, (double)p.top_p, (double)p.min_p, (double)p.repeat_penalty, p.repeat_last_n,
               (unsigned long long)p.seed, MODEL_CTX_DEFAULT);
    return s;
}

API int wl_engine_info_json(wl_engine* e, char* out, int cap) {
    CHECK_ENGINE(e);
    if (e->vocab_only) return text_out(vocab_info_json(e), out, cap);
    const model* m = &e->m;
    const hparams* hp = &m->hp;
    static const char* ARCH_NAMES[] = {"llama", "gemma3", "phi3", "qwen2", "qwen3"};  // model_arch order
    static_assert(sizeof(ARCH_NAMES) / sizeof(ARCH_NAMES[0]) == ARCH_COUNT, "a name for every architecture");
    gguf_str name = {"", 0};
    gguf_get_str(&e->file, "general.name", &name);
    std::string s = "{\"arch\": ";
    json_str(&s, ARCH_NAMES[m->arch], strlen(ARCH_NAMES[m->arch]));
    s += ", \"name\": ";
    json_str(&s, name.data, (size_t)name.len);
    str_printf(&s,
               ", \"n_vocab\": %d, \"n_ctx\": %d, \"n_ctx_train\": %d, \"n_layer\": %d, \"n_embd\": %d, "
               "\"n_head\": %d, \"n_head_kv\": %d, \"head_dim\": %d, \"bos\": %d, \"eos\": %d, \"add_bos\": %s, ",
               hp->n_vocab, m->n_ctx, hp->n_ctx_train, hp->n_layer, hp->n_embd, hp->n_head, hp->n_head_kv,
               hp->head_dim, tokenizer_bos(e->tok), tokenizer_eos(e->tok), tokenizer_add_bos(e->tok) ? "true" : "false");
    str_printf(&s, "\"weights_bytes\": %zu, \"kv_bytes\": %zu, \"kv_type\": \"%s\", \"scratch_bytes\": %zu, \"threads\": %d, \"simd\": \"%s\", ",
               m->weights_bytes, model_kv_bytes(m), kv_type_name(m->kv_type), m->scratch_bytes, pool_threads(), kernels_simd());
    s += "\"defaults\": " + defaults_json() + "}";
    return text_out(s, out, cap);
}

API int wl_tokenize(wl_engine* e, const char* text, int text_len, int add_bos, int parse_special, int32_t* out,
                    int cap) {
    CHECK_ENGINE(e);
    if ((!text && text_len) || text_len < 0 || cap < 0 || (!out && cap))
        return status_fail(WL_ERR_ARG, "wl_tokenize: bad text or output buffer");
    std::vector<int32_t> ids;
    int rc = tokenizer_encode(e->tok, text, text_len, add_bos != 0, parse_special != 0, &ids);
    if (rc < 0) return rc;
    size_t n = ids.size() < (size_t)cap ? ids.size() : (size_t)cap;
    if (n) memcpy(out, ids.data(), n * sizeof(int32_t));
    return (int)ids.size();
}

API int wl_token_piece(wl_engine* e, int32_t id, char* out, int cap) {
    CHECK_ENGINE(e);
    if (cap < 0 || (!out && cap)) return status_fail(WL_ERR_ARG, "wl_token_piece: bad output buffer");
    std::string piece;
    int rc = tokenizer_piece(e->tok, id, false, &piece);
    if (rc < 0) return rc;
    size_t n = piece.size() < (size_t)cap ? piece.size() : (size_t)cap;
    if (n) memcpy(out, piece.data(), n);
    return (int)piece.size();
}

API int wl_eval(wl_engine* e, const int32_t* ids, int n, int all_logits) {
    CHECK_MODEL(e);
    return model_eval(&e->m, ids, n, all_logits != 0);
}

API float* wl_logits(wl_engine* e) { return e && e->m.n_logits ? e->m.logits : nullptr; }

API int wl_n_vocab(wl_engine* e) {
    CHECK_ENGINE(e);
    return e->vocab_only ? tokenizer_n_vocab(e->tok) : e->m.hp.n_vocab;
}

API int wl_n_past(wl_engine* e) {
    CHECK_ENGINE(e);
    return e->m.n_past;
}

API int wl_kv_truncate(wl_engine* e, int n_keep) {
    CHECK_MODEL(e);
    return model_kv_truncate(&e->m, n_keep);
}

API int wl_is_eog(wl_engine* e, int32_t id) {
    CHECK_ENGINE(e);
    return tokenizer_is_eog(e->tok, id) ? 1 : 0;
}

API int wl_stats_json(wl_engine* e, char* out, int cap) {
    CHECK_ENGINE(e);
    const model* m = &e->m;
    const model_stats* st = &m->stats;
    std::string s;
    str_printf(&s, "{\"memory\": {\"weights\": %zu, \"kv\": %zu, \"scratch\": %zu, \"heap\": %zu}, ", m->weights_bytes,
               model_kv_bytes(m), m->scratch_bytes + (size_t)m->logits_cap * m->hp.n_vocab * sizeof(float),
               heap_bytes());
    str_printf(&s, "\"tokens\": {\"prompt\": %lld, \"generated\": %lld, \"evals\": %lld}, ", (long long)st->n_prompt,
               (long long)st->n_generated, (long long)st->n_evals);
    str_printf(&s,
               "\"ms\": {\"matmul\": %.3f, \"attention\": %.3f, \"norm\": %.3f, \"rope\": %.3f, \"ffn_act\": %.3f, "
               "\"logits\": %.3f, \"sample\": %.3f, \"total\": %.3f}}",
               st->ms_matmul, st->ms_attention, st->ms_norm, st->ms_rope, st->ms_ffn_act, st->ms_logits, st->ms_sample,
               st->ms_total);
    return text_out(s, out, cap);
}

API int wl_capture_positions(wl_engine* e, const int32_t* positions, int n) {
    CHECK_MODEL(e);
    return model_capture_set(&e->m, positions, n);
}

API float* wl_captured_states(wl_engine* e) { return e && e->m.n_capture ? e->m.capture : nullptr; }

API int wl_debug_perturb(wl_engine* e, int layer, float amount) {
    CHECK_MODEL(e);
    if (layer < -1 || layer >= e->m.hp.n_layer)
        return status_fail(WL_ERR_ARG, "perturb: layer %d is outside [-1, %d)", layer, e->m.hp.n_layer);
    e->m.perturb_layer = layer;
    e->m.perturb_amount = amount;
    return WL_OK;
}

API void wl_stats_reset(wl_engine* e) {
    if (e) memset(&e->m.stats, 0, sizeof(e->m.stats));
}

// ---------------------------------------------------------------------------------------------
// sampler

API int wl_defaults_json(char* out, int cap) { return text_out(defaults_json(), out, cap); }

API wl_sampler* wl_sampler_init(float temperature, int top_k, float top_p, float min_p, float repeat_penalty,
                                int repeat_last_n, uint64_t seed) {
    sampler_params p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.repeat_penalty = repeat_penalty;
    p.repeat_last_n = repeat_last_n;
    p.seed = seed;
    sampler* s = sampler_init(p);
    if (!s) return nullptr;
    wl_sampler* w = new (std::nothrow) wl_sampler{s};
    if (!w) {
        sampler_free(s);
        status_fail(WL_ERR_NO_MEMORY, "out of memory for the sampler");
    }
    return w;
}

API void wl_sampler_free(wl_sampler* s) {
    if (!s) return;
    sampler_free(s->s);
    delete s;
}

API int wl_sample(wl_sampler* s, wl_engine* e) {
    CHECK_ENGINE(e);
    if (!s) return status_fail(WL_ERR_ARG, "wl_sample: sampler is NULL");
    const model* m = &e->m;
    if (!m->n_logits) return status_fail(WL_ERR_ARG, "wl_sample: no logits yet (call wl_eval first)");
    double t0 = time_ms();
    const float* row = m->logits + (size_t)(m->n_logits - 1) * m->hp.n_vocab;
    int32_t id = sampler_sample(s->s, row, m->hp.n_vocab);
    if (id >= 0) sampler_accept(s->s, id);
    e->m.stats.ms_sample += time_ms() - t0;
    return id;
}

API void wl_sampler_accept(wl_sampler* s, int32_t id) {
    if (s) sampler_accept(s->s, id);
}

}  // extern "C"
