// quants_tile: the loop shared by every quantized format. A format supplies its block type,
// its activation type, its accumulator (`accum`: acc or acc4) and what one block adds (acc4:
// `dot(weight block, activation block, acc4&)`; acc: the parts `isum`, `scale`, `extra` below);
// this file walks a tile of NR rows x NT tokens block by block.
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

// The block's exact integer sum (isum_total, quants_impl.h), scaled, added to the running sum.
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

// Formats with one running sum (acc) say what a block adds as three parts: `isum(w, x)`, the
// exact integer sum (SIMD lanes not yet added up), `scale(w, x)`, and, where there is one,
// `extra(w, x)`, a term of the block's own added to acc.s. `dot` is those parts in acc_add's
// order; in wasm, tile_run_grouped below takes them four pairs at a time.
template <class F, class = void>
struct has_extra : std::false_type {};
template <class F>
struct has_extra<F, std::void_t<decltype(F::extra((const typename F::block*)nullptr, (const typename F::act*)nullptr))>>
    : std::true_type {};

// A format may give prompt tiles (several tokens) a block dot of their own, `dot_prompt`, with the
// same floats as `dot` (Q8_0 in the relaxed builds: see quants_legacy.cpp).
template <class F, class = void>
struct has_dot_prompt : std::false_type {};
template <class F>
struct has_dot_prompt<F, std::void_t<decltype(&F::dot_prompt)>> : std::true_type {};

template <class F, bool PROMPT = false>
static inline void block_dot(const typename F::block* w, const typename F::act* x, typename F::accum& a) {
    if constexpr (std::is_same<typename F::accum, acc>::value) {
        acc_add(a, F::isum(w, x), F::scale(w, x));
        if constexpr (has_extra<F>::value) a.s += F::extra(w, x);
    } else if constexpr (PROMPT && has_dot_prompt<F>::value) {
        F::dot_prompt(w, x, a);
    } else {
        F::dot(w, x, a);
    }
}

// Formats whose blocks are costly to unpack (in wasm: all but Q8_0) say so with an `unpacked` type,
// `unpack(block, unpacked*)` and the three parts for an unpacked block (`isum_unpacked`,
// `scale_unpacked`, `extra_unpacked`): prompt tiles then unpack each block of their rows once
// (into L1, not registers) and dot it with every token.
template <class F, class = void>
struct unpacks : std::false_type {};
template <class F>
struct unpacks<F, std::void_t<typename F::unpacked>> : std::true_type {};

// Wasm has no prefetch instruction, and a one-token decode waits on memory as much as it
// computes: the processor's own prefetcher does not run far enough ahead of a kernel this busy.
// So a decode tile also loads one byte of each cache line of the tile two ahead, spread over its
// blocks (and adds them up, so that the loads stay): the lines are on their way when that tile
// starts. Measured on Gemma 3 under node: decode 18 -> 22.7 tokens/s (the 178 MB output matrix
// 32 -> 26 ms a token, the layers 19 -> 14 ms); natively much the same. Further ahead, sparser or
// in bursts measured no better: the loads still wait in the reorder buffer like the kernel's.
struct touch_ahead {
    const uint8_t* p;  // the tile two ahead, or nullptr near the end of the rows
    size_t step;       // bytes of it per block of the tile, a multiple of 64
    uint32_t sum;
};

static inline touch_ahead touch_init(const uint8_t* w, size_t tile_bytes, int64_t nb, const uint8_t* w_end) {
    const size_t step = (tile_bytes / (size_t)nb + 63) & ~(size_t)63;
    const uint8_t* p = w + 2 * tile_bytes;
    return {w_end && p + (size_t)nb * step <= w_end ? p : nullptr, step, 0};
}

static inline void touch_block(touch_ahead& t, int64_t b) {
    if (!t.p) return;
    const uint8_t* p = t.p + (size_t)b * t.step;
    for (size_t k = 0; k < t.step; k += 64) t.sum += p[k];
}

extern thread_local uint32_t g_touch_sink;  // per thread: threads share no written line

#if defined(__wasm_simd128__)
// Four blocks' exact integer sums at once, [sum(v0), sum(v1), sum(v2), sum(v3)]: six shuffles
// and three adds, where four isum_total calls take eight and eight plus four lane extractions.
static inline v128_t isum_total4(v128_t v0, v128_t v1, v128_t v2, v128_t v3) {
    const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(v0, v1, 0, 4, 2, 6), wasm_i32x4_shuffle(v0, v1, 1, 5, 3, 7));
    const v128_t b = wasm_i32x4_add(wasm_i32x4_shuffle(v2, v3, 0, 4, 2, 6), wasm_i32x4_shuffle(v2, v3, 1, 5, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 1, 4, 5), wasm_i32x4_shuffle(a, b, 2, 3, 6, 7));
}

// A tile of `acc` pairs (row, token) kept 4 to an f32x4: lane i of group g is pair 4g + i, and
// does what acc_add does for it (its sum converted, times its scale, added), so the floats are
// those of tile_run, for a quarter of the reductions, conversions, multiplies and adds.
template <class F, int NR, int NT, bool UNPACKED>
static void tile_run_grouped(const uint8_t* w, size_t w_row_bytes, const typename F::act* x, int64_t x_stride,
                             int64_t nb, float* y, int64_t y_stride, const uint8_t* w_end = nullptr) {
    constexpr int NP = NR * NT;
    touch_ahead ahead = touch_init(w, NR * w_row_bytes, nb, w_end);
    v128_t sums[NP / 4];
    float extra[NP];
    UNROLL for (int g = 0; g < NP / 4; g++) sums[g] = wasm_f32x4_splat(0.0f);
    UNROLL for (int p = 0; p < NP; p++) extra[p] = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        touch_block(ahead, b);
        v128_t is[NP];
        float sc[NP];
        if constexpr (UNPACKED) {
            typename F::unpacked u[NR];
            UNROLL for (int r = 0; r < NR; r++) F::unpack((const typename F::block*)(w + r * w_row_bytes) + b, &u[r]);
            UNROLL for (int t = 0; t < NT; t++)
                UNROLL for (int r = 0; r < NR; r++) {
                    const typename F::act* xb = x + t * x_stride + b;
                    is[r * NT + t] = F::isum_unpacked(&u[r], xb);
                    sc[r * NT + t] = F::scale_unpacked(&u[r], xb);
                    if constexpr (has_extra<F>::value) extra[r * NT + t] += F::extra_unpacked(&u[r], xb);
                }
        } else {
            UNROLL for (int r = 0; r < NR; r++) {
                const typename F::block* wb = (const typename F::block*)(w + r * w_row_bytes) + b;
                UNROLL for (int t = 0; t < NT; t++) {
                    const typename F::act* xb = x + t * x_stride + b;
                    is[r * NT + t] = F::isum(wb, xb);
                    sc[r * NT + t] = F::scale(wb, xb);
                    if constexpr (has_extra<F>::value) extra[r * NT + t] += F::extra(wb, xb);
                }
            }
        }
        UNROLL for (int g = 0; g < NP / 4; g++) {
            const v128_t isum = isum_total4(is[4 * g], is[4 * g + 1], is[4 * g + 2], is[4 * g + 3]);
            const v128_t scale = wasm_f32x4_make(sc[4 * g], sc[4 * g + 1], sc[4 * g + 2], sc[4 * g + 3]);
            sums[g] = wasm_f32x4_add(sums[g], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), scale));
        }
    }
    float v[NP];
    UNROLL for (int g = 0; g < NP / 4; g++) wasm_v128_store(v + 4 * g, sums[g]);
    for (int r = 0; r < NR; r++)
        for (int t = 0; t < NT; t++) y[t * y_stride + r] = v[r * NT + t] + extra[r * NT + t];
    g_touch_sink += ahead.sum;
}

template <class F, int NR, int NT>
static constexpr bool grouped() { return std::is_same<typename F::accum, acc>::value && (NR * NT) % 4 == 0; }
#endif

template <class F, int NR, int NT>
static void tile_run(const uint8_t* w, size_t w_row_bytes, const typename F::act* x, int64_t x_stride,
                     int64_t nb, float* y, int64_t y_stride, const uint8_t* w_end = nullptr) {
#if defined(__wasm_simd128__)
    if constexpr (grouped<F, NR, NT>())
        return tile_run_grouped<F, NR, NT, false>(w, w_row_bytes, x, x_stride, nb, y, y_stride, w_end);
#endif
    touch_ahead ahead = touch_init(w, NR * w_row_bytes, nb, w_end);
    // Fully unrolled, so that the accumulators live in registers.
    typename F::accum a[NR][NT];
    UNROLL for (int r = 0; r < NR; r++)
        UNROLL for (int t = 0; t < NT; t++) acc_zero(a[r][t]);
    for (int64_t b = 0; b < nb; b++) {
        touch_block(ahead, b);
        UNROLL for (int r = 0; r < NR; r++) {
            const typename F::block* wb = (const typename F::block*)(w + r * w_row_bytes) + b;
            UNROLL for (int t = 0; t < NT; t++) block_dot<F, (NT > 1)>(wb, x + t * x_stride + b, a[r][t]);
        }
    }
    for (int r = 0; r < NR; r++)
        for (int t = 0; t < NT; t++) y[t * y_stride + r] = acc_total(a[r][t]);
    g_touch_sink += ahead.sum;
}

template <class F, int NR, int NT>
static void tile_run_unpacked(const uint8_t* w, size_t w_row_bytes, const typename F::act* x, int64_t x_stride,
                              int64_t nb, float* y, int64_t y_stride) {
#if defined(__wasm_simd128__)
    static_assert(grouped<F, NR, NT>(), "unpacked tiles are grouped");
    tile_run_grouped<F, NR, NT, true>(w, w_row_bytes, x, x_stride, nb, y, y_stride);
#endif
}

// Tiles: 4 rows (decode_rows) x 1 token for decode; 2 rows x 4 tokens for prompts (more
// would spill the 16 vector registers of x86, which is also what V8 maps wasm onto); formats
// that unpack to L1 take 2 rows x 8 tokens (measured 15-20% faster than x 4 in wasm; 4 rows x 8
// and finishing each group of 4 pairs before the next measured no better). The ceiling is
// i32x4.dot_i16x8 itself: a register-blocked 2 x 4 micro-kernel over activations widened for
// free ran at 22 G multiply-adds/s on this kind of core, these tiles at 15-18 G values/s.
template <class F, int NR>
static void rows_run(const uint8_t* w, size_t w_row_bytes, const typename F::act* x, int64_t nb,
                     int n_tokens, float* y, int64_t y_stride, const uint8_t* w_end) {
    int t = 0;
    if constexpr (NR <= 2 && unpacks<F>::value) {
        for (; t + 8 <= n_tokens; t += 8)
            tile_run_unpacked<F, NR, 8>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride);
        for (; t + 4 <= n_tokens; t += 4)
            tile_run_unpacked<F, NR, 4>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride);
    } else if constexpr (NR <= 2)
        for (; t + 4 <= n_tokens; t += 4)
            tile_run<F, NR, 4>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride);
    // the first token brings the rows in; only it touches ahead
    for (; t < n_tokens; t++)
        tile_run<F, NR, 1>(w, w_row_bytes, x + t * nb, nb, nb, y + t * y_stride, y_stride, t == 0 ? w_end : nullptr);
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
    const uint8_t* w_end = w + row_end * w_row_bytes;
    int64_t r = row_begin;
    constexpr int NR = decode_rows<F>::value;
    if (n_tokens < 4)
        for (; r + NR <= row_end; r += NR)
            rows_run<F, NR>(w + r * w_row_bytes, w_row_bytes, x, nb, n_tokens, y + r, y_stride, w_end);
    else
        for (; r + 2 <= row_end; r += 2)
            rows_run<F, 2>(w + r * w_row_bytes, w_row_bytes, x, nb, n_tokens, y + r, y_stride, w_end);
    for (; r < row_end; r++) rows_run<F, 1>(w + r * w_row_bytes, w_row_bytes, x, nb, n_tokens, y + r, y_stride, w_end);
}
