// sampler: picks the next token from a row of logits.
//
// Greedy when temperature <= 0. Otherwise llama.cpp's chain: repetition penalty over the last
// repeat_last_n accepted ids -> top-k -> top-p -> min-p -> temperature -> a seeded random draw.
// The random generator is our own (splitmix64), so a seed gives the same tokens natively and in wasm.
#pragma once
#include <stdint.h>

struct sampler_params {
    float temperature = 0.8f;
    int top_k = 40;              // <= 0: keep all
    float top_p = 0.95f;         // >= 1: off
    float min_p = 0.05f;         // <= 0: off
    float repeat_penalty = 1.0f; // 1: off
    int repeat_last_n = 64;      // 0: off
    uint64_t seed = 0;
};

struct sampler;

sampler* sampler_init(const sampler_params& params);  // NULL on bad params (message in status_message())
void sampler_free(sampler* s);

// Returns the chosen id, or a negative wl_status for bad arguments. Does not modify `logits`.
// The chosen id is not remembered: call sampler_accept with it (and with prompt ids).
int32_t sampler_sample(sampler* s, const float* logits, int n_vocab);
void sampler_accept(sampler* s, int32_t id);
