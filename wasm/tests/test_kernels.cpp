// test_kernels: every quantized format's matmul_rows and every float op against a plain
// double-precision reference on random data. The same source runs natively and under Node.js
// (em++ -msimd128), so each SIMD path is checked by the build that compiles it.
//
//   test_kernels            run the checks; the last line is "N passed, M failed"
//   test_kernels --bench [TYPE]   also print kernel throughput (GB/s of weight bytes),
//                                 for every supported type or only TYPE (e.g. Q4_K)
//
// Tolerances, all relative to the norm of the reference vector (||y - ref|| / ||ref||):
//   1e-5  against a reference that uses the same quantized activations (integer paths exact,
//         only float rounding of the per-block scales and sums differs)
//   2e-2  against the float activations (what 8-bit activations cost; ~0.5% expected)
//   1e-5  float weights (F32/F16/BF16) and the float ops
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <string>
#include <vector>

#include "../ops.h"
#include "../quants.h"
#include "../quants_impl.h"

static int g_passed = 0, g_failed = 0;

static void check(bool ok, const char* what, double err, double tol) {
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
        printf("FAIL %s: error %.3g > tolerance %.3g\n", what, err, tol);
    }
}

// Deterministic xorshift so that native and wasm runs see the same data.
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rand_u32() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}
static float rand_uniform() { return (float)rand_u32() / 4294967296.0f; }            // [0, 1)
static float rand_normal() {                                                         // Box-Muller
    const float u = rand_uniform() + 1e-7f, v = rand_uniform();
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static double rel_err(const double* ref, const float* got, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-30);
}

// Random bytes are valid blocks of every format except for their float scales, which get
// realistic magnitudes here.
static void fill_weights(int type, uint8_t* w, int64_t rows, int64_t cols) {
    const size_t rb = row_bytes(type, cols);
    for (size_t i = 0; i < rb * rows; i++) w[i] = (uint8_t)rand_u32();
    const int64_t n = rows * cols;
    switch (type) {
    case GGML_TYPE_F32: for (int64_t i = 0; i < n; i++) ((float*)w)[i] = rand_normal(); break;
    case GGML_TYPE_F16: for (int64_t i = 0; i < n; i++) ((uint16_t*)w)[i] = fp32_to_fp16(rand_normal()); break;
    case GGML_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) ((uint16_t*)w)[i] = (uint16_t)(f32_bits(rand_normal()) >> 16);
        break;
    case GGML_TYPE_Q4_0: for (int64_t i = 0; i < n / QK; i++) ((block_q4_0*)w)[i].d = fp32_to_fp16(0.01f + 0.02f * rand_uniform()); break;
    case GGML_TYPE_Q4_1:
        for (int64_t i = 0; i < n / QK; i++) {
            ((block_q4_1*)w)[i].d = fp32_to_fp16(0.01f + 0.02f * rand_uniform());
            ((block_q4_1*)w)[i].m = fp32_to_fp16(-0.15f + 0.1f * rand_uniform());
        }
        break;
    case GGML_TYPE_Q5_0: for (int64_t i = 0; i < n / QK; i++) ((block_q5_0*)w)[i].d = fp32_to_fp16(0.005f + 0.01f * rand_uniform()); break;
    case GGML_TYPE_Q8_0: for (int64_t i = 0; i < n / QK; i++) ((block_q8_0*)w)[i].d = fp32_to_fp16(0.001f + 0.002f * rand_uniform()); break;
    case GGML_TYPE_Q4_K:
        for (int64_t i = 0; i < n / QK_K; i++) {
            ((block_q4_K*)w)[i].d = fp32_to_fp16(0.001f + 0.001f * rand_uniform());
            ((block_q4_K*)w)[i].dmin = fp32_to_fp16(0.001f + 0.001f * rand_uniform());
        }
        break;
    case GGML_TYPE_Q6_K: for (int64_t i = 0; i < n / QK_K; i++) ((block_q6_K*)w)[i].d = fp32_to_fp16(0.0001f + 0.0002f * rand_uniform()); break;
    case GGML_TYPE_Q5_1:
        for (int64_t i = 0; i < n / QK; i++) {
            ((block_q5_1*)w)[i].d = fp32_to_fp16(0.005f + 0.01f * rand_uniform());
            ((block_q5_1*)w)[i].m = fp32_to_fp16(-0.15f + 0.1f * rand_uniform());
        }
        break;
    case GGML_TYPE_IQ4_NL: for (int64_t i = 0; i < n / QK; i++) ((block_iq4_nl*)w)[i].d = fp32_to_fp16(0.0005f + 0.001f * rand_uniform()); break;
    case GGML_TYPE_Q2_K:
        for (int64_t i = 0; i < n / QK_K; i++) {
            ((block_q2_K*)w)[i].d = fp32_to_fp16(0.005f + 0.005f * rand_uniform());
            ((block_q2_K*)w)[i].dmin = fp32_to_fp16(0.0075f + 0.0075f * rand_uniform());  // centres the values
        }
        break;
    case GGML_TYPE_Q3_K: for (int64_t i = 0; i < n / QK_K; i++) ((block_q3_K*)w)[i].d = fp32_to_fp16(0.001f + 0.002f * rand_uniform()); break;
    case GGML_TYPE_Q5_K:
        for (int64_t i = 0; i < n / QK_K; i++) {
            ((block_q5_K*)w)[i].d = fp32_to_fp16(0.0005f + 0.0005f * rand_uniform());
            ((block_q5_K*)w)[i].dmin = fp32_to_fp16(0.0075f + 0.0075f * rand_uniform());  // centres the values
        }
        break;
    case GGML_TYPE_IQ4_XS: for (int64_t i = 0; i < n / QK_K; i++) ((block_iq4_xs*)w)[i].d = fp32_to_fp16(0.00002f + 0.00004f * rand_uniform()); break;
    }
}

// The activations the kernel really multiplies with, back to float.
static bool act_is_q8K(int wtype) {
    return wtype == GGML_TYPE_Q2_K || wtype == GGML_TYPE_Q3_K || wtype == GGML_TYPE_Q4_K || wtype == GGML_TYPE_Q5_K ||
           wtype == GGML_TYPE_Q6_K || wtype == GGML_TYPE_IQ4_XS;
}

static void act_dequantize(int wtype, const void* act, int n_tokens, int64_t cols, float* out) {
    const int64_t n = (int64_t)n_tokens * cols;
    if (act_is_q8K(wtype)) {
        const act_q8K* a = (const act_q8K*)act;
        for (int64_t i = 0; i < n; i++) out[i] = a[i / QK_K].d * a[i / QK_K].qs[i % QK_K];
    } else if (act_bytes(wtype, 1, QK_K) == 8 * sizeof(act_q8)) {
        const act_q8* a = (const act_q8*)act;
        for (int64_t i = 0; i < n; i++) out[i] = a[i / QK].d * a[i / QK].qs[i % QK];
    } else {
        memcpy(out, act, (size_t)n * sizeof(float));
    }
}

// Q4_1's and Q5_1's offset term multiplies each block's m by the activation's stored sum s,
// which is fp16(d * sum(qs)) as in llama.cpp's q8_1, not exactly d * sum(qs): the difference, for
// a reference that uses the same activations.
template <class B>
static double offset_sum_rounding(const uint8_t* w_row, const act_q8* a, int64_t cols) {
    const B* b = (const B*)w_row;
    double diff = 0;
    for (int64_t i = 0; i < cols / QK; i++) {
        int sum = 0;
        for (int j = 0; j < QK; j++) sum += a[i].qs[j];
        diff += (double)fp16_to_fp32(b[i].m) * ((double)a[i].s - (double)a[i].d * sum);
    }
    return diff;
}

static bool act_is_quantized(int wtype) {
    return !(wtype == GGML_TYPE_F32 || wtype == GGML_TYPE_F16 || wtype == GGML_TYPE_BF16);
}

// y (n_tokens, rows) = W x for rows [r0, r1) in a y with stride; everything else must stay untouched.
static void test_matmul(int type, int64_t rows, int64_t cols, int n_tokens, int64_t r0, int64_t r1) {
    const size_t rb = row_bytes(type, cols);
    std::vector<uint8_t> w(rb * rows);
    fill_weights(type, w.data(), rows, cols);
    std::vector<float> x((size_t)n_tokens * cols);
    for (auto& v : x) v = rand_normal();

    std::vector<uint8_t> act(act_bytes(type, n_tokens, cols));
    act_prepare(type, x.data(), n_tokens, cols, act.data());
    std::vector<float> xq((size_t)n_tokens * cols);
    act_dequantize(type, act.data(), n_tokens, cols, xq.data());

    const int64_t y_stride = rows + 3;
    const float sentinel = 1234.5f;
    std::vector<float> y((size_t)n_tokens * y_stride, sentinel);
    matmul_rows(type, w.data(), cols, act.data(), n_tokens, y.data(), y_stride, r0, r1);

    std::vector<float> wf(cols);
    std::vector<double> ref_q, ref_x;
    std::vector<float> got;
    bool untouched = true;
    for (int t = 0; t < n_tokens; t++) {
        for (int64_t r = 0; r < y_stride; r++) {
            const float v = y[t * y_stride + r];
            if (r < r0 || r >= r1) {
                untouched = untouched && v == sentinel;
                continue;
            }
            dequantize_row(type, w.data() + r * rb, wf.data(), cols);
            double sq = 0, sx = 0;
            for (int64_t c = 0; c < cols; c++) {
                sq += (double)wf[c] * xq[t * cols + c];
                sx += (double)wf[c] * x[t * cols + c];
            }
            const act_q8* at = (const act_q8*)act.data() + t * (cols / QK);
            if (type == GGML_TYPE_Q4_1) sq += offset_sum_rounding<block_q4_1>(w.data() + r * rb, at, cols);
            if (type == GGML_TYPE_Q5_1) sq += offset_sum_rounding<block_q5_1>(w.data() + r * rb, at, cols);
            ref_q.push_back(sq);
            ref_x.push_back(sx);
            got.push_back(v);
        }
    }
    char what[128];
    snprintf(what, sizeof what, "matmul %s rows %lld-%lld of %lld, cols %lld, tokens %d", type_name(type),
             (long long)r0, (long long)r1, (long long)rows, (long long)cols, n_tokens);
    const double eq = rel_err(ref_q.data(), got.data(), got.size());
    const double ex = rel_err(ref_x.data(), got.data(), got.size());
    check(eq <= 1e-5, (std::string(what) + " (same activations)").c_str(), eq, 1e-5);
    const double tol_x = act_is_quantized(type) ? 2e-2 : 1e-5;
    check(ex <= tol_x, (std::string(what) + " (float activations)").c_str(), ex, tol_x);
    check(untouched, (std::string(what) + " (writes only its rows)").c_str(), 1, 0);
}

static const int k_types[] = {GGML_TYPE_F32,  GGML_TYPE_F16,    GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,
                              GGML_TYPE_Q5_0, GGML_TYPE_Q8_0,   GGML_TYPE_Q4_K, GGML_TYPE_Q6_K, GGML_TYPE_Q5_1,
                              GGML_TYPE_IQ4_NL, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q5_K, GGML_TYPE_IQ4_XS};

static void test_matmuls() {
    for (int type : k_types) {
        for (int n_tokens : {1, 2, 3, 4, 7, 9}) test_matmul(type, 13, 512, n_tokens, 0, 13);
        test_matmul(type, 13, 768, 1, 3, 11);
        test_matmul(type, 13, 768, 6, 5, 6);
        test_matmul(type, 8, 256, 5, 0, 8);
    }
}

// Q8_0 keeps 4 float lanes (quants_tile.h, acc4): lane l adds the integer sum of a block's
// bytes 4l..4l+3 and 16+4l..16+4l+3 times fp16(d_w) * d_x, and the lanes meet as
// (l0 + l2) + (l1 + l3). Every build must give exactly these floats (tile shapes included),
// or native and wasm logits drift apart.
static void test_q8_0_lane_order() {
    const int64_t rows = 9, cols = 512;
    const int n_tokens = 7;
    std::vector<uint8_t> w(row_bytes(GGML_TYPE_Q8_0, cols) * rows);
    fill_weights(GGML_TYPE_Q8_0, w.data(), rows, cols);
    std::vector<float> x((size_t)n_tokens * cols), y((size_t)n_tokens * rows);
    for (auto& v : x) v = rand_normal();
    std::vector<uint8_t> act(act_bytes(GGML_TYPE_Q8_0, n_tokens, cols));
    act_prepare(GGML_TYPE_Q8_0, x.data(), n_tokens, cols, act.data());
    int mismatches = 0;
    for (int n : {1, n_tokens}) {  // decode tiles (4 rows x 1 token) and prompt tiles
        matmul_rows(GGML_TYPE_Q8_0, w.data(), cols, act.data(), n, y.data(), rows, 0, rows);
        for (int t = 0; t < n; t++)
            for (int64_t r = 0; r < rows; r++) {
                const block_q8_0* b = (const block_q8_0*)w.data() + r * (cols / QK);
                const act_q8* a = (const act_q8*)act.data() + t * (cols / QK);
                float lane[4] = {0, 0, 0, 0};
                for (int64_t i = 0; i < cols / QK; i++) {
                    const float scale = fp16_to_fp32(b[i].d) * a[i].d;
                    for (int l = 0; l < 4; l++) {
                        int sum = 0;
                        for (int j = 4 * l; j < 4 * l + 4; j++)
                            sum += b[i].qs[j] * a[i].qs[j] + b[i].qs[16 + j] * a[i].qs[16 + j];
                        lane[l] += (float)sum * scale;
                    }
                }
                const float want = ((lane[0] + lane[2]) + (lane[1] + lane[3])) + 0.0f;
                mismatches += y[t * rows + r] != want;
            }
    }
    check(mismatches == 0, "matmul Q8_0 floats in the documented lane order, bit for bit", mismatches, 0);
}

// Every half-precision value: decoding against ldexp, and encoding back to the same bits.
static void test_fp16() {
    int bad_decode = 0, bad_round_trip = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const int e = (h >> 10) & 31, m = h & 1023;
        const float sign = (h & 0x8000) ? -1.0f : 1.0f;
        const float f = fp16_to_fp32((uint16_t)h);
        if (e == 31) {
            if (m ? !isnan(f) : f != sign * INFINITY) bad_decode++;
            continue;
        }
        const float ref = sign * (e ? ldexpf((float)(m + 1024), e - 25) : ldexpf((float)m, -24));
        if (f != ref || signbit(f) != signbit(ref)) bad_decode++;
        if (fp32_to_fp16(f) != h) bad_round_trip++;
    }
    check(bad_decode == 0, "fp16 decode of all 65536 values", bad_decode, 0);
    check(bad_round_trip == 0, "fp16 encode round trip", bad_round_trip, 0);
    check(fp32_to_fp16(1.0f + 1.0f / 2048.0f) == 0x3C00, "fp16 rounds ties to even", 1, 0);
    check(fp32_to_fp16(1e6f) == 0x7C00, "fp16 overflows to inf", 1, 0);
    check(bf16_to_fp32(0x3FC0) == 1.5f, "bf16 decode", 1, 0);
}

// dequantize_row's F16 path, which the KV cache's attention widens every cached row with (F16C
// natively, four lanes of f16_compute in wasm, the table in the scalar build), gives
// fp16_to_fp32's float for each of the 65536 halves three ways: in one long row (the vector
// loop), from an odd address (unaligned loads), and in rows of 7 (the scalar tail alone).
static void test_f16_rows() {
    std::vector<uint16_t> h(65536 + 1);
    for (uint32_t i = 0; i < h.size(); i++) h[i] = (uint16_t)i;
    std::vector<float> y(h.size());
    int bad = 0;
    auto compare = [&](int64_t first, int64_t n) {
        for (int64_t i = 0; i < n; i++) {
            const float want = fp16_to_fp32(h[first + i]);
            if (memcmp(&want, &y[i], 4) != 0 && !(isnan(want) && isnan(y[i]))) bad++;
        }
    };
    dequantize_row(GGML_TYPE_F16, h.data(), y.data(), 65536);
    compare(0, 65536);
    dequantize_row(GGML_TYPE_F16, h.data() + 1, y.data(), 65536);
    compare(1, 65536);
    for (int64_t first = 0; first < 65536; first += 7) {
        const int64_t n = std::min<int64_t>(7, 65536 - first);
        dequantize_row(GGML_TYPE_F16, h.data() + first, y.data(), n);
        compare(first, n);
    }
    check(bad == 0, "dequantize_row(F16) equals fp16_to_fp32 for every half", bad, 0);
}

// The whole-array fp16 roundings (vec_round_f16, gelu_tanh_mul's table index) give, bit for bit,
// what the one-value functions give, on every kind of float: halves and the values between them
// (ties included), subnormals of both formats, infinities, NaNs, and random bit patterns.
static void test_fp16_arrays() {
    std::vector<float> x;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = fp16_to_fp32((uint16_t)h);
        uint32_t u;
        memcpy(&u, &f, 4);
        for (uint32_t d : {0u, 1u, 0xFFFu, 0x1000u, 0x1001u, 0x1FFFu}) {  // 0x1000: halfway to the next half
            uint32_t v = u + d;
            float g;
            memcpy(&g, &v, 4);
            x.push_back(g);
        }
    }
    for (int i = 0; i < 200000; i++) {
        const uint32_t v = rand_u32() ^ (rand_u32() << 16);
        float g;
        memcpy(&g, &v, 4);
        x.push_back(g);
    }
    const size_t n = x.size();
    std::vector<float> y = x, up(n), gated = x;
    vec_round_f16(y.data(), (int)n);
    for (size_t i = 0; i < n; i++) up[i] = 0.5f + (float)(i % 7);
    gelu_tanh_mul(gated.data(), up.data(), (int)n);
    std::vector<float> gelu_one = x;
    int bad_round = 0, bad_gelu = 0;
    for (size_t i = 0; i < n; i++) {
        const float want = fp16_to_fp32(fp32_to_fp16(x[i]));
        if (memcmp(&want, &y[i], 4) != 0) bad_round++;
        gelu_tanh(&gelu_one[i], 1);  // one element: the scalar path
        const float want_gelu = gelu_one[i] * up[i];
        if (memcmp(&want_gelu, &gated[i], 4) != 0 && !(isnan(want_gelu) && isnan(gated[i]))) bad_gelu++;
    }
    check(bad_round == 0, "vec_round_f16 equals fp32_to_fp16 per value", bad_round, 0);
    check(bad_gelu == 0, "gelu_tanh_mul equals gelu_tanh per value", bad_gelu, 0);
}

// act_prepare against llama.cpp's rules written out plainly (quantize_row_q8_0/q8_1 and
// quantize_row_q8_K_ref), value by value, on data made to hit the edges: halves that round to
// even, equal magnitudes of both signs (the first decides Q8_K's sign), all-zero blocks, and one
// huge value per block.
static void test_act_quantize() {
    const int64_t n = 4 * QK_K;
    std::vector<float> x(n);
    for (int64_t i = 0; i < n; i++) {
        const int kind = (int)(rand_u32() % 4);
        x[i] = kind == 0 ? rand_normal() : kind == 1 ? (float)((int)(rand_u32() % 9) - 4) * 0.5f
             : kind == 2 ? ((i & 1) ? -2.0f : 2.0f) : rand_normal() * 1e-3f;
    }
    for (int64_t i = 0; i < QK; i++) x[QK + i] = 0.0f;  // a zero block
    x[3 * QK + 5] = 1e4f;                               // one huge value
    int bad_q8 = 0, bad_q8K = 0;
    std::vector<act_q8> a(n / QK);
    act_quantize_q8(x.data(), n, a.data());
    for (int64_t b = 0; b < n / QK; b++) {
        float amax = 0.0f;
        for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(x[b * QK + i]));
        const float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < QK; i++) {
            const int q = (int)nearbyintf(x[b * QK + i] * id);
            sum += q;
            bad_q8 += a[b].qs[i] != q;
        }
        bad_q8 += a[b].d != fp16_to_fp32(fp32_to_fp16(d)) || a[b].s != fp16_to_fp32(fp32_to_fp16(d * (float)sum));
    }
    std::vector<act_q8K> k(n / QK_K);
    act_quantize_q8K(x.data(), n, k.data());
    for (int64_t b = 0; b < n / QK_K; b++) {
        float amax = 0.0f, max = 0.0f;
        for (int i = 0; i < QK_K; i++)
            if (fabsf(x[b * QK_K + i]) > amax) amax = fabsf(x[b * QK_K + i]), max = x[b * QK_K + i];
        const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) {
                const int q = std::min(127, (int)nearbyintf(iscale * x[b * QK_K + i]));
                sum += q;
                bad_q8K += k[b].qs[i] != q;
            }
            bad_q8K += k[b].bsums[g] != sum;
        }
        bad_q8K += k[b].d != (amax != 0.0f ? 1.0f / iscale : 0.0f);
    }
    check(bad_q8 == 0, "act_quantize_q8 equals quantize_row_q8_1", bad_q8, 0);
    check(bad_q8K == 0, "act_quantize_q8K equals quantize_row_q8_K_ref", bad_q8K, 0);
}

static void test_type_table() {
    int bs = 0, bb = 0;
    check(type_block_info(GGML_TYPE_Q4_K, &bs, &bb) && bs == 256 && bb == 144, "Q4_K geometry", 1, 0);
    check(!type_block_info(4, &bs, &bb) && !type_block_info(-1, &bs, &bb) && !type_block_info(999, &bs, &bb),
          "retired and out-of-range type ids", 1, 0);
    check(row_bytes(GGML_TYPE_Q6_K, 512) == 420 && row_bytes(GGML_TYPE_BF16, 10) == 20, "row_bytes", 1, 0);
    check(strcmp(type_name(GGML_TYPE_Q5_0), "Q5_0") == 0 && strcmp(type_name(5), "unknown") == 0, "type_name", 1, 0);
    check(type_supported(GGML_TYPE_Q6_K) && type_supported(GGML_TYPE_Q5_K) && type_supported(GGML_TYPE_IQ4_XS) &&
              !type_supported(GGML_TYPE_Q8_1) && !type_supported(GGML_TYPE_Q8_K) && !type_supported(16),
          "type_supported", 1, 0);
    // the six formats added for the models people download: ggml's geometry (gguf-py GGML_QUANT_SIZES)
    const int geometry[][3] = {{GGML_TYPE_Q5_1, 32, 24},  {GGML_TYPE_IQ4_NL, 32, 18}, {GGML_TYPE_Q2_K, 256, 84},
                               {GGML_TYPE_Q3_K, 256, 110}, {GGML_TYPE_Q5_K, 256, 176}, {GGML_TYPE_IQ4_XS, 256, 136}};
    for (const auto& g : geometry)
        check(type_block_info(g[0], &bs, &bb) && bs == g[1] && bb == g[2] && type_supported(g[0]),
              (std::string(type_name(g[0])) + " geometry").c_str(), 1, 0);
}

static void check_close(const char* what, const std::vector<double>& ref, const float* got, double tol) {
    const double e = rel_err(ref.data(), got, ref.size());
    check(e <= tol, what, e, tol);
}

static void test_ops() {
    const int n = 67;  // odd: exercises every SIMD tail
    std::vector<float> a(n), b(n), y(n);
    std::vector<double> ref(n);
    for (int i = 0; i < n; i++) a[i] = rand_normal(), b[i] = rand_normal();

    {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double)a[i] * a[i];
        const double s = 1.0 / sqrt(ss / n + 1e-6);
        for (int i = 0; i < n; i++) ref[i] = a[i] * s * b[i];
        rmsnorm(y.data(), a.data(), b.data(), n, 1e-6f);
        check_close("rmsnorm", ref, y.data(), 1e-6);
    }
    for (bool neox : {false, true}) {
        const int heads = 3, head_dim = 64, n_rot = 64, pos = 37;
        const float base = 10000.0f;
        std::vector<float> cs(n_rot), v(heads * head_dim);
        std::vector<double> r(heads * head_dim);
        for (auto& e : v) e = rand_normal();
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < n_rot / 2; i++) {
                const int i0 = h * head_dim + (neox ? i : 2 * i), i1 = h * head_dim + (neox ? i + n_rot / 2 : 2 * i + 1);
                const double th = pos * pow(base, -2.0 * i / n_rot);
                r[i0] = v[i0] * cos(th) - v[i1] * sin(th);
                r[i1] = v[i0] * sin(th) + v[i1] * cos(th);
            }
        rope_table(cs.data(), pos, n_rot, base);
        rope_apply(v.data(), heads, head_dim, n_rot, cs.data(), neox);
        check_close(neox ? "rope neox" : "rope normal", r, v.data(), 1e-5);
    }
    {
        double mx = -1e30, sum = 0;
        for (int i = 0; i < n; i++) mx = fmax(mx, a[i] * 10.0);
        for (int i = 0; i < n; i++) sum += exp(a[i] * 10.0 - mx);
        for (int i = 0; i < n; i++) ref[i] = exp(a[i] * 10.0 - mx) / sum, y[i] = a[i] * 10.0f;
        softmax(y.data(), n);
        check_close("softmax", ref, y.data(), 1e-6);
    }
    {
        for (int i = 0; i < n; i++) ref[i] = a[i] / (1 + exp(-(double)a[i])) * b[i], y[i] = a[i];
        silu_mul(y.data(), b.data(), n);
        check_close("silu_mul", ref, y.data(), 1e-6);
        for (int i = 0; i < n; i++) ref[i] = a[i] / (1 + exp(-(double)a[i])), y[i] = a[i];
        silu(y.data(), n);
        check_close("silu", ref, y.data(), 1e-6);
        // GELU goes through fp16 as in ggml: the input and the result rounded to half precision
        auto half = [](double v) { return (double)fp16_to_fp32(fp32_to_fp16((float)v)); };
        auto gelu = [&](double v) {
            const double h = half(v);
            return half(0.5 * h * (1 + tanh(sqrt(2 / M_PI) * (h + 0.044715 * h * h * h))));
        };
        for (int i = 0; i < n; i++) ref[i] = gelu(a[i]) * b[i], y[i] = a[i];
        gelu_tanh_mul(y.data(), b.data(), n);
        check_close("gelu_tanh_mul", ref, y.data(), 1e-6);
        for (int i = 0; i < n; i++) ref[i] = gelu(a[i]), y[i] = a[i];
        gelu_tanh(y.data(), n);
        check_close("gelu_tanh", ref, y.data(), 1e-6);
    }
    {
        for (int i = 0; i < n; i++) ref[i] = (double)a[i] + b[i], y[i] = a[i];
        vec_add(y.data(), b.data(), n);
        check_close("vec_add", ref, y.data(), 1e-7);
        for (int i = 0; i < n; i++) ref[i] = (double)a[i] * b[i], y[i] = a[i];
        vec_mul(y.data(), b.data(), n);
        check_close("vec_mul", ref, y.data(), 1e-7);
        for (int i = 0; i < n; i++) ref[i] = a[i] * 0.3, y[i] = a[i];
        vec_scale(y.data(), 0.3f, n);
        check_close("vec_scale", ref, y.data(), 1e-7);
        for (int i = 0; i < n; i++) ref[i] = a[i] + 0.7 * b[i], y[i] = a[i];
        vec_axpy(y.data(), 0.7f, b.data(), n);
        check_close("vec_axpy", ref, y.data(), 1e-6);
        for (int len : {0, 5, 16, 67}) {
            double d = 0;
            for (int i = 0; i < len; i++) d += (double)a[i] * b[i];
            const float got = vec_dot(a.data(), b.data(), len);
            const double e = fabs(got - d) / (sqrt((double)len) + 1e-30);
            check(e <= 1e-6, "vec_dot", e, 1e-6);
        }
    }
}

// ---- digests: the exact floats of every quantized kernel, for comparing builds ----

// FNV-1a over the bits of every output of matmul_rows for each quantized type, on fixed random
// data, in decode (1 token, 4- and 8-row tiles) and prompt tiles (4 and 8 tokens, and the rest).
// Every build must print the same digests (tests/engine/test_builds.py compares native, simd and
// relaxed in V8's three tiers): the integer sums are exact, the float steps the same.
static void print_digests() {
    const int64_t rows = 19, cols = 1024;
    for (int type : k_types) {
        if (!act_is_quantized(type)) continue;
        g_rng = 0x243F6A8885A308D3ull ^ (uint64_t)type;
        std::vector<uint8_t> w(row_bytes(type, cols) * rows);
        fill_weights(type, w.data(), rows, cols);
        uint64_t h = 1469598103934665603ull;
        for (int n_tokens : {1, 3, 4, 8, 13}) {
            std::vector<float> x((size_t)n_tokens * cols), y((size_t)n_tokens * rows);
            for (auto& v : x) v = rand_normal();
            std::vector<uint8_t> act(act_bytes(type, n_tokens, cols));
            act_prepare(type, x.data(), n_tokens, cols, act.data());
            matmul_rows(type, w.data(), cols, act.data(), n_tokens, y.data(), rows, 0, rows);
            for (float v : y) {
                uint32_t u;
                memcpy(&u, &v, 4);
                for (int k = 0; k < 4; k++) h = (h ^ ((u >> (8 * k)) & 0xFF)) * 1099511628211ull;
            }
        }
        printf("digest %s %016llx\n", type_name(type), (unsigned long long)h);
    }
}

// ---- benchmark ----

// Processor time, not wall time: on a shared machine other work then distorts less.
#if defined(__EMSCRIPTEN__)
#include <emscripten.h>
EM_JS(double, now_s, (), {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
});
#else
static double now_s() { return (double)clock() / CLOCKS_PER_SEC; }
#endif

// Weights much larger than the caches, walked matrix by matrix as a forward pass would.
static void bench_type(int type) {
    const int64_t cols = 1024, rows_per = 1024;
    const size_t rb = row_bytes(type, cols);
    const size_t mat_bytes = rb * rows_per;
    const int n_mats = (int)((96u << 20) / mat_bytes) + 1;
    std::vector<uint8_t> w(mat_bytes * n_mats);
    fill_weights(type, w.data(), rows_per * n_mats, cols);
    for (int n_tokens : {1, 32}) {
        std::vector<float> x((size_t)n_tokens * cols), y((size_t)n_tokens * rows_per);
        for (auto& v : x) v = rand_normal();
        std::vector<uint8_t> act(act_bytes(type, n_tokens, cols));
        act_prepare(type, x.data(), n_tokens, cols, act.data());
        const int block_rows = 16;  // one call per block of rows, as the engine calls it
        double best = 1e30;
        for (int rep = 0; rep < (n_tokens == 1 ? 5 : 2); rep++) {
            const double t0 = now_s();
            for (int m = 0; m < n_mats; m++)
                for (int64_t r = 0; r < rows_per; r += block_rows)
                    matmul_rows(type, w.data() + m * mat_bytes, cols, act.data(), n_tokens, y.data(), rows_per, r,
                                r + block_rows);
            best = fmin(best, now_s() - t0);
        }
        const double gbs = (double)w.size() * n_tokens / best / 1e9;
        printf("bench %-5s tokens %2d: %6.2f GB/s of weights per token (%6.1f tokens/s per 100 MB)\n",
               type_name(type), n_tokens, gbs, gbs * 10.0);
    }
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "--digests") == 0) {
        printf("kernels %s\n", kernels_simd());
        print_digests();
        return 0;
    }
    const bool bench = argc > 1 && strcmp(argv[1], "--bench") == 0;
    const char* only = argc > 2 ? argv[2] : nullptr;
    test_type_table();
    test_fp16();
    test_fp16_arrays();
    test_f16_rows();
    test_act_quantize();
    test_matmuls();
    test_q8_0_lane_order();
    test_ops();
    if (bench)
        for (int type : k_types)
            if (!only || strcmp(only, type_name(type)) == 0) bench_type(type);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
