// KV cache truncation on SmolLM2, through the C API as the worker uses it: after a turn is cut back
// to a kept prefix and new tokens are evaluated, the logits must be those of a fresh engine that
// saw only the prefix and the new tokens, to the last bit. The worker reuses its cache this way on
// every chat turn, and its own counters cannot tell a wrong position from a right one.
// The same holds for the q8_0 cache, whose logits stay close to the f16 cache's.
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
static const int KV_F16 = 1, KV_Q8_0 = 8;  // ggml type ids, as wl_engine_init_kv takes them

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
static std::vector<float> fresh_rows(const std::vector<uint8_t>& gguf, int n_keep, int kv_type) {
    wl_engine* e = wl_engine_init_kv(gguf.data(), gguf.size(), N_CTX, 1, kv_type);
    CHECK(e != nullptr);
    if (!e) return {};
    if (n_keep > 0) CHECK(wl_eval(e, TURN.data(), n_keep, 0) == WL_OK);
    std::vector<float> rows = eval_rows(e, NEXT);
    wl_engine_free(e);
    return rows;
}

static void test_truncate_then_eval(const std::vector<uint8_t>& gguf, int kv_type) {
    wl_engine* e = wl_engine_init_kv(gguf.data(), gguf.size(), N_CTX, 1, kv_type);
    CHECK(e != nullptr);
    if (!e) return;
    for (int n_keep : {6, 1, 0, (int)TURN.size()}) {
        CHECK(wl_kv_truncate(e, 0) == WL_OK);
        CHECK(wl_eval(e, TURN.data(), (int)TURN.size(), 0) == WL_OK);
        CHECK(wl_kv_truncate(e, n_keep) == WL_OK);
        CHECK(wl_n_past(e) == n_keep);
        std::vector<float> got = eval_rows(e, NEXT);
        CHECK(wl_n_past(e) == n_keep + (int)NEXT.size());
        std::vector<float> want = fresh_rows(gguf, n_keep, kv_type);
        bool same = !got.empty() && got.size() == want.size() &&
                    memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0;
        if (!same) {
            float worst = 0;
            for (size_t i = 0; i < got.size() && i < want.size(); i++) worst = fmaxf(worst, fabsf(got[i] - want[i]));
            fprintf(stderr, "FAIL kv type %d, kept %d of %zu: logits differ from a fresh engine's by up to %.4f\n",
                    kv_type, n_keep, TURN.size(), worst);
        }
        CHECK(same);
    }
    // nothing beyond what was evaluated can be kept, and nothing negative
    CHECK(wl_kv_truncate(e, wl_n_past(e) + 1) == WL_ERR_ARG);
    CHECK(wl_kv_truncate(e, -1) == WL_ERR_ARG);
    wl_engine_free(e);
}

static int argmax(const float* x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static std::string info_of(wl_engine* e) {
    std::string s(4096, '\0');
    s.resize((size_t)wl_engine_info_json(e, &s[0], (int)s.size()));
    return s;
}

// KL(p || q) of the softmaxes of two logit rows, in nats.
static double kl_of(const float* a, const float* b, int n) {
    double ma = a[argmax(a, n)], mb = b[argmax(b, n)], za = 0, zb = 0;
    for (int i = 0; i < n; i++) za += exp(a[i] - ma), zb += exp(b[i] - mb);
    double kl = 0;
    for (int i = 0; i < n; i++) {
        double p = exp(a[i] - ma) / za;
        if (p > 0) kl += p * ((a[i] - ma - log(za)) - (b[i] - mb - log(zb)));
    }
    return kl;
}

// q8_0 takes 34 bytes per 32 values instead of f16's 64, and moves the logits a little: the top
// token of every position of TURN stays and the KL divergence from the f16 cache's distribution
// stays under 0.1 nats (measured: 0.032 at worst, mean 0.008; docs/kv-cache.md). A wrong block layout or scale breaks both.
static void test_q8_0_close_to_f16(const std::vector<uint8_t>& gguf) {
    wl_engine* f16 = wl_engine_init_kv(gguf.data(), gguf.size(), N_CTX, 1, KV_F16);
    wl_engine* q8 = wl_engine_init_kv(gguf.data(), gguf.size(), N_CTX, 1, KV_Q8_0);
    CHECK(f16 && q8);
    if (!f16 || !q8) return;
    std::string i16 = info_of(f16), i8 = info_of(q8);
    CHECK(i16.find("\"kv_type\": \"f16\"") != std::string::npos);
    CHECK(i8.find("\"kv_type\": \"q8_0\"") != std::string::npos);
    // SmolLM2: 30 layers x 64 tokens x 192 values, K and V
    CHECK(i16.find("\"kv_bytes\": 1474560,") != std::string::npos);
    CHECK(i8.find("\"kv_bytes\": 783360,") != std::string::npos);
    std::vector<float> a = eval_rows(f16, TURN), b = eval_rows(q8, TURN);
    int n_vocab = wl_n_vocab(f16);
    CHECK(a.size() == b.size() && !a.empty());
    double kl_max = 0, kl_sum = 0, diff_max = 0;
    for (size_t t = 0; t < TURN.size() && a.size() == b.size(); t++) {
        const float *x = &a[t * n_vocab], *y = &b[t * n_vocab];
        CHECK(argmax(x, n_vocab) == argmax(y, n_vocab));
        double kl = kl_of(x, y, n_vocab);
        kl_max = fmax(kl_max, kl);
        kl_sum += kl;
        for (int i = 0; i < n_vocab; i++) diff_max = fmax(diff_max, fabs(x[i] - y[i]));
    }
    printf("q8_0 vs f16 KV cache on %zu positions: KL max %.5f mean %.5f nats, logit diff max %.4f\n", TURN.size(),
           kl_max, kl_sum / TURN.size(), diff_max);
    CHECK(kl_max < 0.1);
    CHECK(diff_max > 0);  // 0 would mean the q8_0 cache was not used
    wl_engine_free(f16);
    wl_engine_free(q8);
}

static void test_kv_type_refused(const std::vector<uint8_t>& gguf) {
    CHECK(wl_engine_init_kv(gguf.data(), gguf.size(), N_CTX, 1, 0) == nullptr);  // f32: not offered
    CHECK(strstr(wl_last_error(), "KV cache type 0") != nullptr);
}

int main() {
    std::vector<uint8_t> gguf;
    if (!file_read(MODEL, &gguf)) {
        fprintf(stderr, "FAIL cannot read %s (run: bash scripts/dev.sh setup)\n", MODEL);
        g_failed++;
        return check_report();
    }
    test_truncate_then_eval(gguf, KV_F16);
    test_truncate_then_eval(gguf, KV_Q8_0);
    test_q8_0_close_to_f16(gguf);
    test_kv_type_refused(gguf);
    return check_report();
}
