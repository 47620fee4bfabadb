// GGUF open + model load: any bytes either fail with a status (and a message) or give an engine
// whose vocabulary, tokenizer and forward pass work: tokenize, eval two tokens, sample.
#include <string.h>

#include "api.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A copy of exactly `size` bytes, so that reading one byte past the region is an ASan error.
    uint8_t* copy = (uint8_t*)malloc(size ? size : 1);
    memcpy(copy, data, size);
    wl_engine* e = wl_engine_init(copy, size, 8, 1);
    if (!e) {
        FUZZ_CHECK(wl_last_error()[0] != 0);
        free(copy);
        return 0;
    }
    char info[4096];
    FUZZ_CHECK(wl_engine_info_json(e, info, sizeof info) > 0);
    int n_vocab = wl_n_vocab(e);
    FUZZ_CHECK(n_vocab > 0);
    int32_t ids[16];
    int n = wl_tokenize(e, "Hi there", 8, 1, 1, ids, 16);
    FUZZ_CHECK(n >= 0);
    if (n > 16) n = 16;
    for (int i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < n_vocab);
    char piece[64];
    for (int i = 0; i < n; i++) FUZZ_CHECK(wl_token_piece(e, ids[i], piece, sizeof piece) >= 0);
    if (n == 0) ids[n++] = 0;
    if (n > 2) n = 2;
    if (wl_eval(e, ids, n, 0) >= 0) {
        wl_sampler* s = wl_sampler_init(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, 1);
        int id = wl_sample(s, e);
        FUZZ_CHECK(id >= 0 && id < n_vocab);
        wl_sampler_free(s);
    }
    wl_engine_free(e);
    free(copy);
    return 0;
}
