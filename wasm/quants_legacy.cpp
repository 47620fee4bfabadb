// quants_legacy: kernels for the 32-value block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) against
// activations quantized to act_q8. Each format only says how to unpack a block into 32
// signed bytes; the integer dot product and the tile loop are shared (Q8_0, whose bytes need
// no unpacking, has its own SIMD128 dot product into acc4 lanes).
//
// Per block: w . x = d_w * d_x * sum(q_w * q_x)  (+ m_w * d_x * sum(q_x) for Q4_1 and Q5_1).
// IQ4_NL's q_w are k_iq4nl_values[nibble], a table lookup (one swizzle in wasm).
#include "quants_tile.h"

#if defined(__wasm_simd128__)

struct i8x32 { v128_t lo, hi; };  // values 0..15 and 16..31

static inline i8x32 i8x32_load(const int8_t* p) { return {wasm_v128_load(p), wasm_v128_load(p + 16)}; }

static inline i8x32 nibbles(const uint8_t* qs) {
    const v128_t v = wasm_v128_load(qs);
    return {wasm_v128_and(v, wasm_i8x16_splat(0x0F)), wasm_u8x16_shr(v, 4)};
}

// Both sides widened to i16, then pairwise multiply-adds. The activation half is the same
// for every row of a tile: the compiler computes it once per block.
static inline v128_t dot16(v128_t w, v128_t x) {
    return wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(w), wasm_i16x8_extend_low_i8x16(x)),
                          wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(w), wasm_i16x8_extend_high_i8x16(x)));
}

static inline v128_t dot_i8(i8x32 w, i8x32 x) { return wasm_i32x4_add(dot16(w.lo, x.lo), dot16(w.hi, x.hi)); }

// Sign extension by shifts, no shuffles: the even bytes of 16 as int16.
static inline v128_t even_i16(v128_t v) { return wasm_i16x8_shr(wasm_i16x8_shl(v, 8), 8); }

// Q8_0 into acc4 lanes without widening the weights: per 16 bytes as int16 lanes, (w << 8) is
// 256 * the even byte and (w >> 8) the odd one; paired with the even activations and 256 * the
// odd ones (a mask), i32x4.dot_i16x8 gives lane l = 256 * (bytes 4l..4l+3), exactly (|sum| <
// 2^27). The caller's scale carries 2^-8: 256 * s * (d * 2^-8) rounds like s * d.
static inline i32x4 dot_q8_lanes_x256(const int8_t* w, const int8_t* x) {
    const v128_t odd = wasm_i16x8_splat((int16_t)0xFF00);
    const v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 16);
    const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 16);
    return wasm_i32x4_add(
        wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_shl(w0, 8), even_i16(x0)),
                       wasm_i32x4_dot_i16x8(wasm_i16x8_shr(w0, 8), wasm_v128_and(x0, odd))),
        wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_shl(w1, 8), even_i16(x1)),
                       wasm_i32x4_dot_i16x8(wasm_i16x8_shr(w1, 8), wasm_v128_and(x1, odd))));
}


static inline i8x32 offset(i8x32 q, int8_t o) {
    return {wasm_i8x16_sub(q.lo, wasm_i8x16_splat(o)), wasm_i8x16_sub(q.hi, wasm_i8x16_splat(o))};
}

#if !defined(__wasm_relaxed_simd__)
// Prompts: a block's 32 values widened to int16 once per row (into L1), with its scales; each
// token of the tile then costs its activations' widening and four i32x4.dot_i16x8.
struct legacy_unpacked {
    v128_t w[4];  // values 8k..8k+7 in w[k]
    float d, m;
};

// q: the block's values + bias, as unsigned bytes. Widened unsigned, then the bias taken off in
// 16 bits: Chromium 156's V8 ran these tiles at 60% of the speed with the bias taken off first
// and the bytes widened signed (Q4_0 9.7 -> 16.8 G values/s; Node 20 and Firefox alike both ways).
static inline void unpack_values(i8x32 q, int16_t bias, float d, float m, legacy_unpacked* u) {
    const v128_t b = wasm_i16x8_splat(bias);
    u->w[0] = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(q.lo), b);
    u->w[1] = wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(q.lo), b);
    u->w[2] = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(q.hi), b);
    u->w[3] = wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(q.hi), b);
    u->d = d;
    u->m = m;
}

static inline v128_t dot_unpacked(const legacy_unpacked* u, const int8_t* x) {
    const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 16);
    return wasm_i32x4_add(
        wasm_i32x4_add(wasm_i32x4_dot_i16x8(u->w[0], wasm_i16x8_extend_low_i8x16(x0)),
                       wasm_i32x4_dot_i16x8(u->w[1], wasm_i16x8_extend_high_i8x16(x0))),
        wasm_i32x4_add(wasm_i32x4_dot_i16x8(u->w[2], wasm_i16x8_extend_low_i8x16(x1)),
                       wasm_i32x4_dot_i16x8(u->w[3], wasm_i16x8_extend_high_i8x16(x1))));
}

// What the three formats share once unpacked (Q4_1's offset term only where it has one).
template <int BIAS>
struct legacy_unpacking {
    typedef legacy_unpacked unpacked;
    static inline v128_t isum_unpacked(const unpacked* u, const act_q8* x) { return dot_unpacked(u, x->qs); }
    static inline float scale_unpacked(const unpacked* u, const act_q8* x) { return u->d * x->d; }
    static inline float extra_unpacked(const unpacked* u, const act_q8* x) { return u->m * x->s; }
};
#endif

// Bit j of qh as 16 in byte j (Q5_0's fifth bits).
static inline i8x32 q5_high(const uint8_t* qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const v128_t all = wasm_i32x4_splat((int32_t)bits);
    const v128_t mask = wasm_i8x16_const(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    const v128_t lo = wasm_i8x16_swizzle(all, wasm_i8x16_const(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    const v128_t hi = wasm_i8x16_swizzle(all, wasm_i8x16_const(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const v128_t k16 = wasm_i8x16_splat(16);
    return {wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(lo, mask), mask), k16),
            wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(hi, mask), mask), k16)};
}

// Q5_0's values + 16, in [0, 31] (for unpacking), and its values q - 16 in [-16, 15].
static inline i8x32 q5_biased(const uint8_t* qs, const uint8_t* qh) {
    const i8x32 n = nibbles(qs), h = q5_high(qh);
    return {wasm_v128_or(n.lo, h.lo), wasm_v128_or(n.hi, h.hi)};
}

static inline i8x32 q5_values(const uint8_t* qs, const uint8_t* qh) { return offset(q5_biased(qs, qh), 16); }

// IQ4_NL's 32 values looked up by their nibbles; `table` holds the 16 values (or them + 128).
static inline i8x32 iq4_lookup(const uint8_t* qs, v128_t table) {
    const i8x32 n = nibbles(qs);
    return {wasm_i8x16_swizzle(table, n.lo), wasm_i8x16_swizzle(table, n.hi)};
}
static inline v128_t iq4_table() { return wasm_v128_load(k_iq4nl_values); }
// The values + 128 as unsigned bytes (1..241), for unpack_values' unsigned widening.
static inline v128_t iq4_table_biased() { return wasm_i8x16_add(iq4_table(), wasm_i8x16_splat((int8_t)-128)); }

#if defined(__wasm_relaxed_simd__)
// x . (q - bias) for 32 values q in 0..31 (raw nibbles, or Q5_0's values + 16) as the relaxed dot's
// unsigned side, so nothing is widened: the two halves' pair sums meet in 16 bits (|x . q| <= 4 *
// 127 * 31 per lane), less the bias's (x's pair sums times BIAS: row-independent, so computed once
// per tile), then one widening add. 7 operations a row and block, where dot_i8 takes 14.
template <int BIAS>
static inline v128_t rdot_biased(i8x32 q, const int8_t* x) {
    const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 16);
    v128_t p = wasm_i16x8_add(rdot(x0, q.lo), rdot(x1, q.hi));
    if constexpr (BIAS != 0) {
        const v128_t b = wasm_i8x16_splat(BIAS);
        p = wasm_i16x8_sub(p, wasm_i16x8_add(rdot(x0, b), rdot(x1, b)));
    }
    return i16_pairs_to_i32(p);
}

// Q8_0: weights use all of int8 (-128 too), so they are the signed side, and each activation
// byte x is split into its positive and negative parts, max(x, 0) and max(x, 0) - x, both in
// 0..127 because act_quantize_q8 clamps to [-127, 127] (-128 would make the second 128).
// w . x per pair = the two dots' difference, |.| <= 2 * 128 * 127 < 2^15: exact in 16 bits.
// Lane l of the result is bytes 4l..4l+3 + 16+4l..16+4l+3, the acc4 lanes of quants_tile.h.
static inline i32x4 dot_q8_lanes(const int8_t* w, const int8_t* x) {
    const v128_t zero = wasm_i8x16_splat(0);
    const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 16);
    const v128_t p0 = wasm_i8x16_max(x0, zero), p1 = wasm_i8x16_max(x1, zero);
    const v128_t n0 = wasm_i8x16_sub(p0, x0), n1 = wasm_i8x16_sub(p1, x1);
    const v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 16);
    return wasm_i32x4_add(i16_pairs_to_i32(wasm_i16x8_sub(rdot(w0, p0), rdot(w0, n0))),
                          i16_pairs_to_i32(wasm_i16x8_sub(rdot(w1, p1), rdot(w1, n1))));
}

// Prompts: unpacking is only splitting the nibbles (and Q5_0's fifth bits) once per row.
struct legacy_unpacked {
    i8x32 q;  // the values + bias, in 0..31
    float d, m;
};

template <int BIAS>
struct legacy_unpacking {
    typedef legacy_unpacked unpacked;
    static inline v128_t isum_unpacked(const unpacked* u, const act_q8* x) { return rdot_biased<BIAS>(u->q, x->qs); }
    static inline float scale_unpacked(const unpacked* u, const act_q8* x) { return u->d * x->d; }
    static inline float extra_unpacked(const unpacked* u, const act_q8* x) { return u->m * x->s; }
};

static inline void unpack_values(i8x32 q, int16_t, float d, float m, legacy_unpacked* u) { *u = {q, d, m}; }
#endif

#elif defined(__AVX2__) && defined(__FMA__)

struct i8x32 { __m256i v; };

static inline i8x32 i8x32_load(const int8_t* p) { return {_mm256_loadu_si256((const __m256i*)p)}; }

static inline i8x32 nibbles(const uint8_t* qs) {
    const __m128i v = _mm_loadu_si128((const __m128i*)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return {_mm256_and_si256(both, _mm256_set1_epi8(0x0F))};
}

// |x| <= 127 (act_q8), so the unsigned-by-signed multiply cannot saturate.
static inline __m256i dot_i8(i8x32 w, i8x32 x) {
    const __m256i aw = _mm256_sign_epi8(w.v, w.v);
    const __m256i sx = _mm256_sign_epi8(x.v, w.v);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1));
}

// acc4 lanes: madd's lane m holds bytes 4m..4m+3, so the two halves add up to them.
static inline i32x4 dot_i8_lanes(i8x32 w, i8x32 x) {
    const __m256i s = dot_i8(w, x);
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}


static inline i8x32 offset(i8x32 q, int8_t o) { return {_mm256_sub_epi8(q.v, _mm256_set1_epi8(o))}; }

// Bit j of qh becomes 0x10 in byte j.
static inline i8x32 high_bits(const uint8_t* qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)bits),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_or_si256(spread, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)),
                                          _mm256_set1_epi64x(-1));
    return {_mm256_and_si256(set, _mm256_set1_epi8(0x10))};
}

static inline i8x32 or_bits(i8x32 a, i8x32 b) { return {_mm256_or_si256(a.v, b.v)}; }

static inline i8x32 iq4_values(const uint8_t* qs) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)k_iq4nl_values));
    return {_mm256_shuffle_epi8(table, nibbles(qs).v)};
}

#else

struct i8x32 { int8_t q[QK]; };

static inline i8x32 i8x32_load(const int8_t* p) {
    i8x32 r;
    memcpy(r.q, p, QK);
    return r;
}

static inline i8x32 nibbles(const uint8_t* qs) {
    i8x32 r;
    for (int j = 0; j < QK / 2; j++) {
        r.q[j] = (int8_t)(qs[j] & 0x0F);
        r.q[j + QK / 2] = (int8_t)(qs[j] >> 4);
    }
    return r;
}

static inline int dot_i8(const i8x32& w, const i8x32& x) {
    int s = 0;
    for (int j = 0; j < QK; j++) s += w.q[j] * x.q[j];
    return s;
}

static inline i32x4 dot_i8_lanes(const i8x32& w, const i8x32& x) {
    i32x4 s = {{0, 0, 0, 0}};
    for (int j = 0; j < QK; j++) s.l[(j % 16) / 4] += w.q[j] * x.q[j];
    return s;
}


static inline i8x32 offset(i8x32 q, int8_t o) {
    for (int j = 0; j < QK; j++) q.q[j] = (int8_t)(q.q[j] - o);
    return q;
}

static inline i8x32 high_bits(const uint8_t* qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    i8x32 r;
    for (int j = 0; j < QK; j++) r.q[j] = (int8_t)(((bits >> j) & 1) << 4);
    return r;
}

static inline i8x32 or_bits(i8x32 a, const i8x32& b) {
    for (int j = 0; j < QK; j++) a.q[j] = (int8_t)(a.q[j] | b.q[j]);
    return a;
}

static inline i8x32 iq4_values(const uint8_t* qs) {
    i8x32 r = nibbles(qs);
    for (int j = 0; j < QK; j++) r.q[j] = k_iq4nl_values[r.q[j]];
    return r;
}

#endif

#if !defined(__wasm_simd128__)
static inline i8x32 q5_biased(const uint8_t* qs, const uint8_t* qh) { return or_bits(nibbles(qs), high_bits(qh)); }
static inline i8x32 q5_values(const uint8_t* qs, const uint8_t* qh) { return offset(q5_biased(qs, qh), 16); }

template <int BIAS>
struct legacy_unpacking {};  // AVX2 and scalar prompts do well enough on packed blocks
#endif

struct fmt_q4_0 : legacy_unpacking<8> {
    typedef block_q4_0 block;
    typedef act_q8 act;
    typedef acc accum;
    enum { values = QK };
#if defined(__wasm_relaxed_simd__)
    static inline v128_t isum(const block* w, const act* x) { return rdot_biased<8>(nibbles(w->qs), x->qs); }
#else
    static inline i8x32 q(const block* w) { return offset(nibbles(w->qs), 8); }
    static inline auto isum(const block* w, const act* x) { return dot_i8(q(w), i8x32_load(x->qs)); }
#endif
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
#if defined(__wasm_simd128__)
    static inline void unpack(const block* w, legacy_unpacked* u) { unpack_values(nibbles(w->qs), 8, f16_to_f32(w->d), 0.0f, u); }
#endif
};

struct fmt_q4_1 : legacy_unpacking<0> {
    typedef block_q4_1 block;
    typedef act_q8 act;
    typedef acc accum;
    enum { values = QK };
#if defined(__wasm_relaxed_simd__)
    static inline v128_t isum(const block* w, const act* x) { return rdot_biased<0>(nibbles(w->qs), x->qs); }
#else
    static inline auto isum(const block* w, const act* x) { return dot_i8(nibbles(w->qs), i8x32_load(x->qs)); }
#endif
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
    static inline float extra(const block* w, const act* x) { return f16_to_f32(w->m) * x->s; }
#if defined(__wasm_simd128__)
    static inline void unpack(const block* w, legacy_unpacked* u) {
        unpack_values(nibbles(w->qs), 0, f16_to_f32(w->d), f16_to_f32(w->m), u);
    }
#endif
};

struct fmt_q5_0 : legacy_unpacking<16> {
    typedef block_q5_0 block;
    typedef act_q8 act;
    typedef acc accum;
    enum { values = QK };
#if defined(__wasm_relaxed_simd__)
    static inline v128_t isum(const block* w, const act* x) { return rdot_biased<16>(q5_biased(w->qs, w->qh), x->qs); }
#else
    static inline auto isum(const block* w, const act* x) { return dot_i8(q5_values(w->qs, w->qh), i8x32_load(x->qs)); }
#endif
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
#if defined(__wasm_simd128__)
    static inline void unpack(const block* w, legacy_unpacked* u) {
        unpack_values(q5_biased(w->qs, w->qh), 16, f16_to_f32(w->d), 0.0f, u);
    }
#endif
};

// Q5_1: Q5_0's 5-bit values unsigned (0..31), with Q4_1's offset.
struct fmt_q5_1 : legacy_unpacking<0> {
    typedef block_q5_1 block;
    typedef act_q8 act;
    typedef acc accum;
    enum { values = QK };
#if defined(__wasm_relaxed_simd__)
    static inline v128_t isum(const block* w, const act* x) { return rdot_biased<0>(q5_biased(w->qs, w->qh), x->qs); }
#else
    static inline auto isum(const block* w, const act* x) { return dot_i8(q5_biased(w->qs, w->qh), i8x32_load(x->qs)); }
#endif
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
    static inline float extra(const block* w, const act* x) { return f16_to_f32(w->m) * x->s; }
#if defined(__wasm_simd128__)
    static inline void unpack(const block* w, legacy_unpacked* u) {
        unpack_values(q5_biased(w->qs, w->qh), 0, f16_to_f32(w->d), f16_to_f32(w->m), u);
    }
#endif
};

// IQ4_NL: signed table values (-127..113), so no relaxed dot (its unsigned side must be 0..127):
// the relaxed builds run the simd128 lookup and widening dot, and prompts on packed blocks.
#if defined(__wasm_relaxed_simd__)
struct iq4_nl_unpacking {};
#else
struct iq4_nl_unpacking : legacy_unpacking<128> {};
#endif

struct fmt_iq4_nl : iq4_nl_unpacking {
    typedef block_iq4_nl block;
    typedef act_q8 act;
    typedef acc accum;
    enum { values = QK };
#if defined(__wasm_simd128__)
    static inline v128_t isum(const block* w, const act* x) { return dot_i8(iq4_lookup(w->qs, iq4_table()), i8x32_load(x->qs)); }
#else
    static inline auto isum(const block* w, const act* x) { return dot_i8(iq4_values(w->qs), i8x32_load(x->qs)); }
#endif
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
#if defined(__wasm_simd128__) && !defined(__wasm_relaxed_simd__)
    static inline void unpack(const block* w, legacy_unpacked* u) {
        unpack_values(iq4_lookup(w->qs, iq4_table_biased()), 128, f16_to_f32(w->d), 0.0f, u);
    }
#endif
};

// Q8_0 (Gemma's 262144-row output matrix, read once per generated token) keeps 4 float lanes.
struct fmt_q8_0 {
    typedef block_q8_0 block;
    typedef act_q8 act;
    typedef acc4 accum;
    enum { values = QK, decode_rows = 8 };
#if defined(__wasm_relaxed_simd__)
    // Relaxed: 9 operations a row and block where dot_q8_lanes_x256 takes 11, but only in decode;
    // in prompt tiles that one's weight shifts are shared by the tokens (7 a pair against 9), and
    // measured 5-9% faster. Same floats either way (256 * s * (d * 2^-8) rounds like s * d).
    static inline void dot(const block* w, const act* x, acc4& a) {
        acc_add(a, dot_q8_lanes(w->qs, x->qs), f16_to_f32(w->d) * x->d);
    }
    static inline void dot_prompt(const block* w, const act* x, acc4& a) {
        acc_add(a, dot_q8_lanes_x256(w->qs, x->qs), f16_to_f32(w->d) * (x->d * 0x1p-8f));
    }
#else
    static inline void dot(const block* w, const act* x, acc4& a) {
#if defined(__wasm_simd128__)
        acc_add(a, dot_q8_lanes_x256(w->qs, x->qs), f16_to_f32(w->d) * (x->d * 0x1p-8f));
#else
        acc_add(a, dot_i8_lanes(i8x32_load(w->qs), i8x32_load(x->qs)), f16_to_f32(w->d) * x->d);
#endif
    }
#endif
};

void matmul_q4_0(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q4_0>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_q4_1(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q4_1>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_q5_0(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q5_0>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_q5_1(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q5_1>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_iq4_nl(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                   int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_iq4_nl>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_q8_0(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q8_0>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

const char* kernels_simd() {
#if defined(__wasm_relaxed_simd__)
    return "relaxed-simd";
#elif defined(__wasm_simd128__)
    return "simd128";
#elif defined(__AVX2__) && defined(__FMA__)
    return "avx2";
#else
    return "scalar";
#endif
}
