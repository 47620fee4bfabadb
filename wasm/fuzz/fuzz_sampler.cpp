// The sampler with extreme parameters and any logits (NaN, infinities, denormals, huge values):
// it either refuses the parameters or returns an id inside the vocabulary, every time.
//
// Input: temperature, top_p, min_p, repeat_penalty (raw float bits), top_k, repeat_last_n, the seed,
// the vocabulary size, recent ids to accept, then the logits as raw float bits (cycled to n_vocab).
#include <string.h>

#include "fuzz.h"
#include "sampler.h"
#include "status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_input in = {data, size};
    sampler_params p;
    p.temperature = in.f32();
    p.top_p = in.f32();
    p.min_p = in.f32();
    p.repeat_penalty = in.f32();
    p.top_k = (int32_t)in.u32();
    p.repeat_last_n = (int32_t)(in.u32() % 4096) - 8;  // a few negatives (refused) too
    p.seed = in.u32();
    uint32_t v = in.u32();  // one in 64 vocabularies large (up to 300000, like the real ones), most small and fast
    int n_vocab = 1 + (int)(v % 64 == 0 ? v / 64 % 300000 : v / 64 % 512);
    int n_accept = in.u8();

    sampler* s = sampler_init(p);
    if (!s) {
        FUZZ_CHECK(status_code() == WL_ERR_ARG);
        return 0;
    }
    for (int i = 0; i < n_accept; i++) sampler_accept(s, (int32_t)(in.u32() % (uint32_t)(n_vocab + 4)) - 2);

    std::vector<float> logits(n_vocab);
    size_t n_given = in.n / 4;
    for (int i = 0; i < n_vocab; i++) {
        if (n_given) {
            memcpy(&logits[i], in.p + 4 * (i % n_given), 4);
        } else {
            logits[i] = (float)(i % 7);
        }
    }
    for (int round = 0; round < 3; round++) {
        int32_t id = sampler_sample(s, logits.data(), n_vocab);
        FUZZ_CHECK(id >= 0 && id < n_vocab);
        sampler_accept(s, id);
    }
    sampler_free(s);
    return 0;
}
