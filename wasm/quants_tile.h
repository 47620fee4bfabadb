// quants_tile: the loop shared by every quantized format. A format supplies its block type,
// its activation type, its accumulator (`accum`: acc or acc4) and `dot(weight block,
// activation block, accum&)`; this file walks a tile of NR rows x NT tokens block by block.
//
// Order matters for speed: a group of rows is finished for every token before the next
// group starts, so each weight byte comes from memory once per call (the rows stay in L1
// while the tokens, whose activations sit in L2, go by). Several rows per tile keep
// independent chains of arithmetic in flight and share the activation loads; several tokens
// per tile (prefill) share each unpacked weight block.
#pragma once
#include <type_traits>

#include "quants_impl.h"

// A running dot product: every format reduces a block to exact integer sums first, then adds
// them in with float operations in a fixed order (no FMA): one sum per block here, 4 lane
// sums in acc4 below. So the AVX2, SIMD128 and scalar builds give
// the same float result to the last bit: with 8-bit activations a last-bit difference can
// flip a rounding in the next layer, and over 30 layers that grows to ~0.3 in the logits.
// v: the scaled block sums; s: terms that come once per block with their own scale (Q4_1's
// offsets, a k-quant block's mins), added at the end as llama.cpp does.
struct acc {
    float v;
    float s;
};

// The block's exact integer sum (SIMD lanes added up), scaled, added to the running sum.
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

template <class I>
static inline void acc_add(acc& a, I isum, float scale) { a.v += (float)isum_total(isum) * scale; }
static inline float acc_total(const acc& a) { return a.v + a.s; }

// A running dot product that keeps 4 float lanes (Q8_0): lane l adds up the integer sums of
// a block's bytes 4l..4l+3 and 16+4l..16+4l+3, which is the grouping each SIMD flavour gets
// cheaply (SIMD128: i32x4.dot_i16x8 on even and odd bytes; AVX2: the two 128-bit halves of
// madd). Converting, scaling and adding 4 lanes costs less than reducing every block to one
// integer first, and every build does the same lane operations, then (l0 + l2) + (l1 + l3)
// at the end, so the floats stay identical. Which formats use it is settled by the reference
// runs: it moves last bits, and Q4_1 or Q5_0 with lanes tip near-tie steps of
// tests/engine/test_reference.py past their margins; Q8_0 with lanes does not.
#if defined(__wasm_simd128__)
typedef v128_t i32x4;
struct acc4 { v128_t v; float s; };
static inline acc4 acc4_zero() { return {wasm_f32x4_splat(0.0f), 0.0f}; }
static inline void acc_add(acc4& a, i32x4 isum, float scale) {
    a.v = wasm_f32x4_add(a.v, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_splat(scale)));
}
static inline float acc_total(const acc4& a) {
    const v128_t h = wasm_f32x4_add(a.v, wasm_i32x4_shuffle(a.v, a.v, 2, 3, 0, 1));
    return (wasm_f32x4_extract_lane(h, 0) + wasm_f32x4_extract_lane(h, 1)) + a.s;
}
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m128i i32x4;
struct acc4 { __m128 v; float s; };
static inline acc4 acc4_zero() { return {_mm_setzero_ps(), 0.0f}; }
static inline void acc_add(acc4& a, i32x4 isum, float scale) {
    a.v = _mm_add_ps(a.v, _mm_mul_ps(_mm_cvtepi32_ps(isum), _mm_set1_ps(scale)));
}
static inline float acc_total(const acc4& a) {
    const __m128 h = _mm_add_ps(a.v, _mm_movehl_ps(a.v, a.v));
    return (_mm_cvtss_f32(h) + _mm_cvtss_f32(_mm_shuffle_ps(h, h, 1))) + a.s;
}
#else
struct i32x4 { int l[4]; };
struct acc4 { float v[4]; float s; };
static inline acc4 acc4_zero() { return {{0.0f, 0.0f, 0.0f, 0.0f}, 0.0f}; }
static inline void acc_add(acc4& a, const i32x4& isum, float scale) {
    for (int l = 0; l < 4; l++) a.v[l] += (float)isum.l[l] * scale;
}
static inline float acc_total(const acc4& a) { return ((a.v[0] + a.v[2]) + (a.v[1] + a.v[3])) + a.s; }
#endif
static inline void acc_zero(acc& a) { a = acc{0.0f, 0.0f}; }
static inline void acc_zero(acc4& a) { a = acc4_zero(); }

#define UNROLL _Pragma("GCC unroll 16")

template <class F, int NR, int NT>
static void tile_run(const uint8_t* w, size_t w_row_bytes, const typename F::act* x, int64_t x_stride,
                     int64_t nb, float* y, int64_t y_stride) {
    // Fully unrolled, so that the accumulators live in registers.
    typename F::accum a[NR][NT];
    UNROLL for (int r = 0; r < NR; r++)
        UNROLL for (int t = 0; t < NT; t++) acc_zero(a[r][t]);
    for (int64_t b = 0; b < nb; b++) {
        UNROLL for (int r = 0; r < NR; r++) {
            const typename F::block* wb = (const typename F::block*)(w + r * w_row_bytes) + b;
            UNROLL for (int t = 0; t < NT; t++) F::dot(wb, x + t * x_stride + b, a[r][t]);
        }
    }
    for (int r = 0; r < NR; r++)
        for (int t = 0; t < NT; t++) y[t * y_stride + r] = acc_total(a[r][t]);
}

// Formats whose blocks are costly to unpack (k-quants in wasm) say so with an `unpacked` type,
// `unpack(block, unpacked*)` and `dot_unpacked(unpacked*, act*, acc&)`: prompt tiles then unpack
// each block of their rows once (into L1, not registers) and dot it with every token.
template <class F, class = void>
struct unpacks : std::false_type {};
template <class F>
struct unpacks<F, std::void_t<typename F::unpacked>> : std::true_type {};

template <class F, int NR, int NT>
static void tile_run_unpacked(const uint8_t* w, size_t w_row_bytes, const typename F::act* x, int64_t x_stride,
                              int64_t nb, float* y, int64_t y_stride) {
    typename F::accum a[NR][NT];
    UNROLL for (int r = 0; r < NR; r++)
        UNROLL for (int t = 0; t < NT; t++) acc_zero(a[r][t]);
    typename F::unpacked u[NR];
    for (int64_t b = 0; b < nb; b++) {
        UNROLL for (int r = 0; r < NR; r++) F::unpack((const typename F::block*)(w + r * w_row_bytes) + b, &u[r]);
        UNROLL for (int t = 0; t < NT; t++)
            UNROLL for (int r = 0; r < NR; r++) F::dot_unpacked(&u[r], x + t * x_stride + b, a[r][t]);
    }
    for (int r = 0; r < NR; r++)
        for (int t = 0; t < NT; t++) y[t * y_stride + r] = acc_total(a[r][t]);
}

// Tiles: 4 rows (decode_rows) x 1 token for decode; 2 rows x 4 tokens for prompts (more
// would spill the 16 vector registers of x86, which is also what V8 maps wasm onto); formats
// that unpack to L1 take 2 rows x 8 tokens (measured 15-20% faster than x 4 in wasm).
template <class F, int NR>
static void rows_run(const uint8_t* w, size_t w_row_bytes, const typename F::act* x, int64_t nb,
                     int n_tokens, float* y, int64_t y_stride) {
    int t = 0;
    if constexpr (NR <= 2 && unpacks<F>::value) {
        for (; t + 8 <= n_tokens; t += 8)
            tile_run_unpacked<F, NR, 8>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride);
        for (; t + 4 <= n_tokens; t += 4)
            tile_run_unpacked<F, NR, 4>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride);
    } else if constexpr (NR <= 2)
        for (; t + 4 <= n_tokens; t += 4)
            tile_run<F, NR, 4>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride);
    for (; t < n_tokens; t++) tile_run<F, NR, 1>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride);
}

// Rows per decode tile: 4, or what the format asks for (Q8_0: 8, for more loads in flight on
// the one matrix too big for any cache; the 4-lane accumulators leave room for them).
template <class F, class = void>
struct decode_rows { enum { value = 4 }; };
template <class F>
struct decode_rows<F, std::void_t<decltype(F::decode_rows)>> { enum { value = F::decode_rows }; };

template <class F>
static void tile_matmul(const uint8_t* w, size_t w_row_bytes, int64_t cols, const void* act,
                        int n_tokens, float* y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
    const int64_t nb = cols / F::values;
    const typename F::act* x = (const typename F::act*)act;
    int64_t r = row_begin;
    constexpr int NR = decode_rows<F>::value;
    if (n_tokens < 4)
        for (; r + NR <= row_end; r += NR) rows_run<F, NR>(w + r * w_row_bytes, w_row_bytes, x, nb, n_tokens, y + r, y_stride);
    else
        for (; r + 2 <= row_end; r += 2) rows_run<F, 2>(w + r * w_row_bytes, w_row_bytes, x, nb, n_tokens, y + r, y_stride);
    for (; r < row_end; r++) rows_run<F, 1>(w + r * w_row_bytes, w_row_bytes, x, nb, n_tokens, y + r, y_stride);
}
