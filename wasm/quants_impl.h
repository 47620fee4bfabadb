// quants_impl: what the quants_*.cpp files share and nobody else needs: the ggml block
// layouts, the layouts of the prepared activations, and the per-family kernels that
// quants.cpp dispatches to.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "quants.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#elif defined(__AVX2__) || defined(__F16C__)
#include <immintrin.h>
#endif

// ---- weight blocks, exactly as ggml stores them (fp16 scales kept as raw bits) ----
enum { QK = 32, QK_K = 256 };

struct block_q4_0 { uint16_t d; uint8_t qs[QK / 2]; };
struct block_q4_1 { uint16_t d, m; uint8_t qs[QK / 2]; };
struct block_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[QK / 2]; };
struct block_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK / 2]; };
struct block_q8_0 { uint16_t d; int8_t qs[QK]; };
struct block_iq4_nl { uint16_t d; uint8_t qs[QK / 2]; };
struct block_q2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; };
struct block_q3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; };
struct block_q4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; };
struct block_q5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
struct block_q6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
struct block_iq4_xs { uint16_t d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; };

static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");
static_assert(sizeof(block_q4_1) == 20, "q4_1 layout");
static_assert(sizeof(block_q5_0) == 22, "q5_0 layout");
static_assert(sizeof(block_q5_1) == 24, "q5_1 layout");
static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");
static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl layout");
static_assert(sizeof(block_q2_K) == 84, "q2_K layout");
static_assert(sizeof(block_q3_K) == 110, "q3_K layout");
static_assert(sizeof(block_q4_K) == 144, "q4_K layout");
static_assert(sizeof(block_q5_K) == 176, "q5_K layout");
static_assert(sizeof(block_q6_K) == 210, "q6_K layout");
static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs layout");

// ---- prepared activations ----
// For the 32-value formats: x ~= d * qs, and s = d * sum(qs) (Q4_1's offset term needs it).
// d and s hold fp16 values (as llama.cpp's q8_0 / q8_1 do, for the same rounding) widened to
// float once here rather than in every row's dot product.
struct act_q8 { float d, s; int8_t qs[QK]; };
// For the k-quants: 256 values, x ~= d * qs, bsums = sums of qs over each 16 (Q4_K's mins).
struct act_q8K { int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; float d; float pad_[3]; };

static_assert(sizeof(act_q8) == 40, "act_q8 layout");
static_assert(sizeof(act_q8K) == 304, "act_q8K layout");

// ---- half precision (exact, branch-light; the FP16 library's method, as ggml uses) ----
static inline float f32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

// Without a hardware conversion the kernels look their block scales up in a 256 KB table
// (as ggml does): a dozen integer operations per scale otherwise cost a fifth of a
// Q4 kernel's time in wasm.
extern float g_f16_table[1 << 16];

static inline float f16_compute(uint16_t h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const float normalized = f32_from_bits((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float denormalized = f32_from_bits((two_w >> 17) | (126u << 23)) - 0.5f;
    const uint32_t bits = two_w < (1u << 27) ? f32_bits(denormalized) : f32_bits(normalized);
    return f32_from_bits(sign | bits);
}

#if defined(__wasm_simd128__)
// f16_compute on four lanes (the half in the low 16 bits of each): the same integer and float
// steps, so the same floats. SIMD128 has no fp16 conversion.
static inline v128_t f32_from_f16_bits_x4(v128_t h) {
    const v128_t w = wasm_i32x4_shl(h, 16);
    const v128_t sign = wasm_v128_and(w, wasm_i32x4_splat((int32_t)0x80000000u));
    const v128_t two_w = wasm_i32x4_add(w, w);
    const v128_t normalized =
        wasm_f32x4_mul(wasm_i32x4_add(wasm_u32x4_shr(two_w, 4), wasm_i32x4_splat(0xE0 << 23)), wasm_f32x4_splat(0x1.0p-112f));
    const v128_t denormalized =
        wasm_f32x4_sub(wasm_v128_or(wasm_u32x4_shr(two_w, 17), wasm_i32x4_splat(126 << 23)), wasm_f32x4_splat(0.5f));
    const v128_t small = wasm_u32x4_lt(two_w, wasm_i32x4_splat(1 << 27));
    return wasm_v128_or(sign, wasm_v128_bitselect(denormalized, normalized, small));
}
#endif

static inline float f16_to_f32(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return g_f16_table[h];
#endif
}

static inline float bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

// The lanes of an integer SIMD sum added up (exact: integers).
#if defined(__wasm_simd128__)
static inline int isum_total(v128_t v) {
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_i32x4_extract_lane(v, 0);
}
#elif defined(__AVX2__) && defined(__FMA__)
static inline int isum_total(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}
#endif
static inline int isum_total(int v) { return v; }

// Relaxed SIMD (the relaxed builds only: wasm/relaxed.mk compiles the kernel files with clang-19).
// i16x8.relaxed_dot_i8x16_i7x16: lane k = a[2k] * b[2k] + a[2k+1] * b[2k+1], exact and the same on
// every CPU only while every byte of b lies in 0..127 (x86 reads b as unsigned and saturates the
// pair sums otherwise): b is always a weight's unsigned value (4, 5 or 6 bits) or an activation's
// positive or negative part, a the signed side. The i16 dot then an extending pairwise add, not
// i32x4.relaxed_dot_i8x16_i7x16_add: Node 20's baseline tier (Liftoff) gets the fused form wrong.
#if defined(__wasm_relaxed_simd__)
static inline v128_t rdot(v128_t a, v128_t b_0_127) { return wasm_i16x8_relaxed_dot_i8x16_i7x16(a, b_0_127); }
static inline v128_t i16_pairs_to_i32(v128_t v) { return wasm_i32x4_extadd_pairwise_i16x8(v); }
#endif

// Q4_K's 12 scale bytes hold eight 6-bit scales and eight 6-bit mins.
static inline void q4_K_scale_min(const uint8_t* s, int j, int* sc, int* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// Q3_K's 12 scale bytes hold sixteen 6-bit scales, stored less 32: the low 4 bits of scale g in
// bytes 0..7 (g < 8: low nibble of byte g, else high nibble of byte g - 8), the top 2 bits in bytes
// 8..11 (bits 2 * (g / 4) of byte 8 + g % 4). Returns the signed scale, -32..31.
static inline int q3_K_scale(const uint8_t* s, int g) {
    const int lo = (s[g % 8] >> (4 * (g / 8))) & 0x0F;
    const int hi = (s[8 + g % 4] >> (2 * (g / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

// IQ4_XS: the signed 6-bit scale (stored less 32) of sub-block ib (32 values), -32..31.
static inline int iq4_xs_scale(const block_iq4_xs* b, int ib) {
    const int lo = (b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F;
    const int hi = (b->scales_h >> (2 * ib)) & 3;
    return (lo | (hi << 4)) - 32;
}

// IQ4_NL and IQ4_XS: a 4-bit index into these 16 non-uniformly spaced values (ggml's kvalues_iq4nl).
static const int8_t k_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// ---- per-family kernels (same contract as matmul_rows, weights as bytes of one row) ----
typedef void matmul_fn(const uint8_t* w, size_t w_row_bytes, int64_t cols, const void* act,
                       int n_tokens, float* y, int64_t y_stride, int64_t row_begin, int64_t row_end);

matmul_fn matmul_q4_0, matmul_q4_1, matmul_q5_0, matmul_q5_1, matmul_q8_0, matmul_iq4_nl;  // quants_legacy.cpp
matmul_fn matmul_q2_K, matmul_q3_K, matmul_q4_K, matmul_q5_K, matmul_q6_K, matmul_iq4_xs;  // quants_kquants.cpp
matmul_fn matmul_f32, matmul_f16, matmul_bf16;                  // quants_float.cpp

// activation preparation (quants_act.cpp)
void act_quantize_q8(const float* x, int64_t n, act_q8* out);
void act_quantize_q8K(const float* x, int64_t n, act_q8K* out);
