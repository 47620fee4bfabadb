// KV cache truncation on SmolLM2, through the C API as the worker uses it: after a turn is cut back
// to a kept prefix and new tokens are evaluated, the logits must be those of a fresh engine that
// saw only the prefix and the new tokens, to the last bit. The worker reuses its cache this way on
// every chat turn, and its own counters cannot tell a wrong position from a right one.
// Run from the repository root (models/ is found from there).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "api.h"
#include "check.h"

static const char* MODEL = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
static const int N_CTX = 64;

// "The capital of France is Paris." and a different continuation
static const std::vector<int32_t> TURN = {1, 504, 3458, 314, 253, 2476, 28, 1041, 5489, 30};
static const std::vector<int32_t> NEXT = {504, 2476, 30, 28, 1041};

// Evaluates ids (every position's logits) and returns them.
static std::vector<float> eval_rows(wl_engine* e, const std::vector<int32_t>& ids) {
    int rc = wl_eval(e, ids.data(), (int)ids.size(), 1);
    CHECK(rc == WL_OK);
    if (rc != WL_OK) return {};
    const float* logits = wl_logits(e);
    return std::vector<float>(logits, logits + ids.size() * (size_t)wl_n_vocab(e));
}

// What a fresh engine gives for NEXT after the first n_keep ids of TURN.
static std::vector<float> fresh_rows(const std::vector<uint8_t>& gguf, int n_keep) {
    wl_engine* e = wl_engine_init(gguf.data(), gguf.size(), N_CTX, 1);
    CHECK(e != nullptr);
    if (!e) return {};
    if (n_keep > 0) CHECK(wl_eval(e, TURN.data(), n_keep, 0) == WL_OK);
    std::vector<float> rows = eval_rows(e, NEXT);
    wl_engine_free(e);
    return rows;
}

static void test_truncate_then_eval(const std::vector<uint8_t>& gguf) {
    wl_engine* e = wl_engine_init(gguf.data(), gguf.size(), N_CTX, 1);
    CHECK(e != nullptr);
    if (!e) return;
    for (int n_keep : {6, 1, 0, (int)TURN.size()}) {
        CHECK(wl_kv_truncate(e, 0) == WL_OK);
        CHECK(wl_eval(e, TURN.data(), (int)TURN.size(), 0) == WL_OK);
        CHECK(wl_kv_truncate(e, n_keep) == WL_OK);
        CHECK(wl_n_past(e) == n_keep);
        std::vector<float> got = eval_rows(e, NEXT);
        CHECK(wl_n_past(e) == n_keep + (int)NEXT.size());
        std::vector<float> want = fresh_rows(gguf, n_keep);
        bool same = !got.empty() && got.size() == want.size() &&
                    memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0;
        if (!same) {
            float worst = 0;
            for (size_t i = 0; i < got.size() && i < want.size(); i++) worst = fmaxf(worst, fabsf(got[i] - want[i]));
            fprintf(stderr, "FAIL kept %d of %zu: logits differ from a fresh engine's by up to %.4f\n", n_keep,
                    TURN.size(), worst);
        }
        CHECK(same);
    }
    // nothing beyond what was evaluated can be kept, and nothing negative
    CHECK(wl_kv_truncate(e, wl_n_past(e) + 1) == WL_ERR_ARG);
    CHECK(wl_kv_truncate(e, -1) == WL_ERR_ARG);
    wl_engine_free(e);
}

int main() {
    std::vector<uint8_t> gguf;
    if (!check_file_read(MODEL, &gguf)) {
        fprintf(stderr, "FAIL cannot read %s (run: bash scripts/dev.sh setup)\n", MODEL);
        g_failed++;
        return check_report();
    }
    test_truncate_then_eval(gguf);
    return check_report();
}
