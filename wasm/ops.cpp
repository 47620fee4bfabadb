// ops: float kernels of the forward pass. Only the attention inner loops (vec_dot, vec_axpy)
// run often enough to deserve SIMD; the rest touch each activation once per layer.
//
// Every build (AVX2, SIMD128, scalar) gives the same floats to the last bit: the SIMD kernels
// keep the same 16 partial sums and add them up in the same order, nothing uses FMA (the native
// build compiles with -ffp-contract=off), and the transcendental functions go through double
// precision, whose rounding to float hides the last-bit differences between glibc and musl.
#include "ops.h"

#include <math.h>

#include "quants_impl.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#elif defined(__AVX2__)
#include <immintrin.h>
#endif

void rmsnorm(float* out, const float* x, const float* w, int n, float eps) {
    double ss = 0.0;  // as ggml: the sum in double, the scale in float
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    const float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    if (w)
        for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
    else
        for (int i = 0; i < n; i++) out[i] = x[i] * scale;
}

void rope_table(float* cs, int pos, int n_rot, float base) {
    const float theta_scale = (float)pow((double)base, (double)(-2.0f / (float)n_rot));
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++) {
        cs[2 * i] = (float)cos((double)theta);
        cs[2 * i + 1] = (float)sin((double)theta);
        theta *= theta_scale;
    }
}

void rope_table_scaled(float* cs, int pos, int n_rot, float base, const float* factors, float freq_scale,
                       float mscale) {
    const float theta_scale = (float)pow((double)base, (double)(-2.0f / (float)n_rot));
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++) {
        const float angle = freq_scale * (factors ? theta / factors[i] : theta);
        cs[2 * i] = (float)cos((double)angle) * mscale;
        cs[2 * i + 1] = (float)sin((double)angle) * mscale;
        theta *= theta_scale;
    }
}

// Rotated a chunk of pairs at a time, products of all pairs first: written as one loop over
// pairs, GCC 12 vectorizes the alternating subtract/add into vfmaddsub even under
// -ffp-contract=off, and the native floats would no longer be the wasm ones. The layout is a
// template parameter so that NEOX's halves (Gemma 3, every prompt token's q and k) are plain
// unit-stride loops the compilers vectorize.
template <bool NEOX>
static void rope_rotate(float* x, int n_heads, int head_dim, int n_rot, const float* cs) {
    enum { CHUNK = 32 };
    const int half = n_rot / 2;
    for (int h = 0; h < n_heads; h++) {
        float* v = x + h * head_dim;
        for (int i0 = 0; i0 < half; i0 += CHUNK) {
            const int n = half - i0 < CHUNK ? half - i0 : CHUNK;
            float r0[CHUNK], r1[CHUNK];
            for (int j = 0; j < n; j++) {
                const int i = i0 + j;
                r0[j] = v[NEOX ? i : 2 * i] * cs[2 * i] - v[NEOX ? i + half : 2 * i + 1] * cs[2 * i + 1];
            }
            for (int j = 0; j < n; j++) {
                const int i = i0 + j;
                r1[j] = v[NEOX ? i : 2 * i] * cs[2 * i + 1] + v[NEOX ? i + half : 2 * i + 1] * cs[2 * i];
            }
            for (int j = 0; j < n; j++) {
                const int i = i0 + j;
                v[NEOX ? i : 2 * i] = r0[j];
                v[NEOX ? i + half : 2 * i + 1] = r1[j];
            }
        }
    }
}

void rope_apply(float* x, int n_heads, int head_dim, int n_rot, const float* cs, bool neox) {
    if (neox) rope_rotate<true>(x, n_heads, head_dim, n_rot, cs);
    else rope_rotate<false>(x, n_heads, head_dim, n_rot, cs);
}

void softmax(float* x, int n) {
    float max = -INFINITY;
    for (int i = 0; i < n; i++) max = fmaxf(max, x[i]);
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        x[i] = exp_f32(x[i] - max);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

float exp_f32(float x) { return (float)exp((double)x); }

// ---- fp16 rounding, four at a time in wasm: the FP16 library's integer and float steps
// (quants.cpp's fp32_to_fp16 here, quants_impl.h's f32_from_f16_bits_x4 back) per lane, so the
// same bits; as calls per element they were most of the q/k/v rounding and GELU time of a prompt.
#if defined(__wasm_simd128__)
static inline v128_t f16_bits_x4(v128_t f) {
    const v128_t base0 = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_abs(f), wasm_f32x4_splat(0x1.0p+112f)),
                                        wasm_f32x4_splat(0x1.0p-110f));
    const v128_t shl1_w = wasm_i32x4_add(f, f);
    const v128_t sign = wasm_v128_and(f, wasm_i32x4_splat((int32_t)0x80000000u));
    const v128_t bias = wasm_u32x4_max(wasm_v128_and(shl1_w, wasm_i32x4_splat((int32_t)0xFF000000u)),
                                       wasm_i32x4_splat(0x71000000));
    const v128_t base = wasm_f32x4_add(wasm_i32x4_add(wasm_u32x4_shr(bias, 1), wasm_i32x4_splat(0x07800000)), base0);
    const v128_t nonsign = wasm_i32x4_add(wasm_v128_and(wasm_u32x4_shr(base, 13), wasm_i32x4_splat(0x7C00)),
                                          wasm_v128_and(base, wasm_i32x4_splat(0xFFF)));
    const v128_t nan = wasm_u32x4_gt(shl1_w, wasm_i32x4_splat((int32_t)0xFF000000u));
    return wasm_v128_or(wasm_u32x4_shr(sign, 16), wasm_v128_bitselect(wasm_i32x4_splat(0x7E00), nonsign, nan));
}
#endif

static inline float silu_one(float v) { return v / (1.0f + exp_f32(-v)); }

static inline float gelu_tanh_one(float v) {
    const float sqrt_2_over_pi = 0.79788456080286535588f;
    return 0.5f * v * (1.0f + (float)tanh((double)(sqrt_2_over_pi * v * (1.0f + 0.044715f * v * v))));
}

// As ggml (GGML_GELU_FP16, what llama.cpp runs): the input rounded to fp16 looks GELU up in a
// table of fp16 results; outside (-10, 10) GELU is 0 or x. The same numbers as llama.cpp, and a
// lookup instead of a tanhf.
static float g_gelu_table[1 << 16];

static const bool g_gelu_table_ready = [] {
    for (uint32_t h = 0; h < (1u << 16); h++)
        g_gelu_table[h] = fp16_to_fp32(fp32_to_fp16(gelu_tanh_one(fp16_to_fp32((uint16_t)h))));
    return true;
}();

static inline float gelu_fp16(float v) {
    if (v <= -10.0f) return 0.0f;
    if (v >= 10.0f) return v;
    return g_gelu_table[fp32_to_fp16(v)];
}

void silu(float* x, int n) {
    for (int i = 0; i < n; i++) x[i] = silu_one(x[i]);
}

void gelu_tanh(float* x, int n) {
    for (int i = 0; i < n; i++) x[i] = gelu_fp16(x[i]);
}

void silu_mul(float* gate, const float* up, int n) {
    for (int i = 0; i < n; i++) gate[i] = silu_one(gate[i]) * up[i];
}

void gelu_tanh_mul(float* gate, const float* up, int n) {
    int i = 0;
#if defined(__wasm_simd128__)
    for (; i + 4 <= n; i += 4) {
        const v128_t g = wasm_v128_load(gate + i);
        const v128_t h = f16_bits_x4(g);
        v128_t r = wasm_f32x4_make(g_gelu_table[wasm_i32x4_extract_lane(h, 0)], g_gelu_table[wasm_i32x4_extract_lane(h, 1)],
                                   g_gelu_table[wasm_i32x4_extract_lane(h, 2)], g_gelu_table[wasm_i32x4_extract_lane(h, 3)]);
        r = wasm_v128_bitselect(wasm_f32x4_splat(0.0f), r, wasm_f32x4_le(g, wasm_f32x4_splat(-10.0f)));
        r = wasm_v128_bitselect(g, r, wasm_f32x4_ge(g, wasm_f32x4_splat(10.0f)));
        wasm_v128_store(gate + i, wasm_f32x4_mul(r, wasm_v128_load(up + i)));
    }
#endif
    for (; i < n; i++) gate[i] = gelu_fp16(gate[i]) * up[i];
}

void vec_round_f16(float* y, int n) {
    int i = 0;
#if defined(__wasm_simd128__)
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, f32_from_f16_bits_x4(f16_bits_x4(wasm_v128_load(y + i))));
#endif
    for (; i < n; i++) y[i] = fp16_to_fp32(fp32_to_fp16(y[i]));
}

void vec_add(float* y, const float* x, int n) {
    for (int i = 0; i < n; i++) y[i] += x[i];
}

void vec_mul(float* y, const float* x, int n) {
    for (int i = 0; i < n; i++) y[i] *= x[i];
}

void vec_scale(float* y, float s, int n) {
    for (int i = 0; i < n; i++) y[i] *= s;
}

// vec_dot keeps 16 partial sums, s[l] over elements l, l+16, l+32, ..., then adds them up as
// s[l] + s[l+8], then + the next 4 lanes, then (u0 + u2) + (u1 + u3): AVX2's natural order.
#if defined(__wasm_simd128__)

float vec_dot(const float* a, const float* b, int n) {
    v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
        s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8)));
        s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(wasm_v128_load(a + i + 12), wasm_v128_load(b + i + 12)));
    }
    v128_t u = wasm_f32x4_add(wasm_f32x4_add(s0, s2), wasm_f32x4_add(s1, s3));
    u = wasm_f32x4_add(u, wasm_i32x4_shuffle(u, u, 2, 3, 0, 1));
    float sum = wasm_f32x4_extract_lane(u, 0) + wasm_f32x4_extract_lane(u, 1);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

void vec_axpy(float* y, float a, const float* x, int n) {
    const v128_t va = wasm_f32x4_splat(a);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

#elif defined(__AVX2__)

float vec_dot(const float* a, const float* b, int n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
    }
    const __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float sum = _mm_cvtss_f32(h);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

void vec_axpy(float* y, float a, const float* x, int n) {
    const __m256 va = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, _mm256_loadu_ps(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

#else

float vec_dot(const float* a, const float* b, int n) {
    float s[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) s[k] += a[i + k] * b[i + k];
    float u[4];
    for (int k = 0; k < 4; k++) u[k] = (s[k] + s[k + 8]) + (s[k + 4] + s[k + 12]);
    float sum = (u[0] + u[2]) + (u[1] + u[3]);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

void vec_axpy(float* y, float a, const float* x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

#endif
