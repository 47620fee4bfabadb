// api: the exported C API of the engine, the only thing JavaScript (and the native CLI) sees.
//
// Every int-returning call returns >= 0 on success and a negative wl_status (status.h) on
// failure; wl_last_error() then returns a sentence (valid until the next failing call). Nothing
// aborts. The streaming Brotli decoder and SHA-256 are exported from their own headers.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "brotli_stream.h"
#include "sha256.h"
#include "status.h"

typedef struct wl_engine wl_engine;
typedef struct wl_sampler wl_sampler;

#ifdef __cplusplus
extern "C" {
#endif

const char* wl_last_error(void);

// Weights are used where they lie in [gguf, gguf + size): the caller keeps that memory alive
// until wl_engine_free. n_ctx <= 0 picks min(trained context, 4096); larger values are clamped
// to the trained context. n_threads <= 0: one per hardware thread. NULL on error.
wl_engine* wl_engine_init(const uint8_t* gguf, size_t size, int n_ctx, int n_threads);
// The same with the KV cache's type: 1 = f16 (wl_engine_init's), 8 = q8_0 (half the memory).
wl_engine* wl_engine_init_kv(const uint8_t* gguf, size_t size, int n_ctx, int n_threads, int kv_type);

// Memory for a GGUF file of `size` bytes, which may be more than 2 GiB (up to wasm32's 4 GiB,
// less what is used): malloc cannot give that much in one piece, as dlmalloc refuses any request
// of half the address space. Give it back with wl_gguf_free. NULL when there is not enough.
uint8_t* wl_gguf_alloc(size_t size);
void wl_gguf_free(uint8_t* p);
void wl_engine_free(wl_engine* e);

// JSON (see docs/contracts.md). Like snprintf: returns the full length, writes at most cap - 1
// bytes and a NUL; a return >= cap means the text was cut.
int wl_engine_info_json(wl_engine* e, char* out, int cap);

// Returns the count of ids; when it is > cap, only the first cap were written.
int wl_tokenize(wl_engine* e, const char* text, int text_len, int add_bos, int parse_special, int32_t* out,
                int cap);
// The raw bytes of a token (may be a partial UTF-8 sequence; control tokens give none). Returns
// the length; when it is > cap, only the first cap bytes were written.
int wl_token_piece(wl_engine* e, int32_t id, char* out, int cap);

// Appends n tokens at position n_past (WL_ERR_CONTEXT_FULL when they do not fit: nothing is done).
int wl_eval(wl_engine* e, const int32_t* ids, int n, int all_logits);
// (n_out, n_vocab): the last position, or every position of the last eval with all_logits.
float* wl_logits(wl_engine* e);
int wl_n_vocab(wl_engine* e);
int wl_n_past(wl_engine* e);
int wl_kv_truncate(wl_engine* e, int n_keep);  // forget positions >= n_keep
int wl_is_eog(wl_engine* e, int32_t id);       // 1 for end-of-generation tokens
int wl_stats_json(wl_engine* e, char* out, int cap);  // snprintf-like, as wl_engine_info_json

// Per-layer hidden states (docs/fidelity.md). From the next wl_eval on, the residual stream of
// each of the n absolute positions is kept after the embeddings and after every layer; n = 0
// stops (and costs nothing when never called). Returns n.
int wl_capture_positions(wl_engine* e, const int32_t* positions, int n);
// (n, n_layer + 1, n_embd): row 0 is the scaled embedding, row l + 1 the output of layer l. NaN
// where a position has not been evaluated; NULL when nothing is captured.
float* wl_captured_states(wl_engine* e);
// Test-only fault, so that tests can show the per-layer comparison finds a broken layer: scales
// the attention output of `layer` by (1 + amount) in later evals; layer -1 turns it off.
int wl_debug_perturb(wl_engine* e, int layer, float amount);
void wl_stats_reset(wl_engine* e);

// The engine's defaults, as JSON: the sampler's (wasm/sampler.h) and the context's when n_ctx <= 0
// (model.h), {"temperature": 0.8, ..., "repeat_last_n": 64, "seed": 0, "n_ctx": 4096}. The CLI and
// static/engine.js take theirs from here, the page from the same object in wl_engine_info_json
// (docs/contracts.md, "Defaults"). Written like wl_engine_info_json.
int wl_defaults_json(char* out, int cap);

// temperature <= 0: greedy. NULL on bad parameters.
wl_sampler* wl_sampler_init(float temperature, int top_k, float top_p, float min_p, float repeat_penalty,
                            int repeat_last_n, uint64_t seed);
void wl_sampler_free(wl_sampler* s);
int wl_sample(wl_sampler* s, wl_engine* e);     // from the last logits row; accepts the id it returns
void wl_sampler_accept(wl_sampler* s, int32_t id);  // prompt ids count for the repetition penalty too

#ifdef __cplusplus
}
#endif
