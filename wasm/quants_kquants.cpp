// quants_kquants: kernels for the 256-value "k-quant" formats (Q4_K, Q6_K) against
// activations quantized to act_q8K.
//
// Q4_K: 8 groups of 32, w = d*sc_j*q - dmin*m_j with q in [0, 15]:
//   w . x = d*d_x * sum_j sc_j * (q_j . x_j)  -  dmin*d_x * sum_j m_j * sum(x_j)
// Q6_K: 16 groups of 16, w = d*sc_j*(q - 32) with q in [0, 63]:
//   w . x = d*d_x * sum_j sc_j * ((q_j - 32) . x_j)
// The integer sums of a block stay exact; one float multiply per block applies d*d_x.
#include "quants_tile.h"

static inline void q4_K_scales(const uint8_t* packed, int sc[8], int m[8]) {
    for (int j = 0; j < 8; j++) q4_K_scale_min(packed, j, &sc[j], &m[j]);
}

static inline int q4_K_min_sum(const act_q8K* x, const int m[8]) {
    int s = 0;
    for (int j = 0; j < 8; j++) s += m[j] * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
    return s;
}

#if defined(__wasm_simd128__)

// (a . b) over 16 bytes, products kept 2 to an i16 lane (|a| <= 63), then scaled to i32.
static inline v128_t dot16_scaled(v128_t a, v128_t b, int scale) {
    const v128_t p = wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(a, b), wasm_i16x8_extmul_high_i8x16(a, b));
    return wasm_i32x4_dot_i16x8(p, wasm_i16x8_splat((int16_t)scale));
}

// The same over 32 bytes with |a| <= 15, so 4 products fit an i16 lane.
static inline v128_t dot32_scaled(v128_t a0, v128_t a1, const int8_t* x, int scale) {
    const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 16);
    v128_t p = wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(a0, x0), wasm_i16x8_extmul_high_i8x16(a0, x0));
    p = wasm_i16x8_add(p, wasm_i16x8_extmul_low_i8x16(a1, x1));
    p = wasm_i16x8_add(p, wasm_i16x8_extmul_high_i8x16(a1, x1));
    return wasm_i32x4_dot_i16x8(p, wasm_i16x8_splat((int16_t)scale));
}

#if defined(__wasm_relaxed_simd__)
// Relaxed SIMD: the unsigned values (Q4_K 0..15, Q6_K 0..63) are the relaxed dot's 0..127 side.
// A group's pair sums stay in 16 bits (|.| <= 4 * 127 * 15 for Q4_K's 32 values, 2 * 127 * 63 for
// Q6_K's 16), then i32x4.dot_i16x8 by the group's scale. Q6_K's -32 comes off once per block as
// 32 * sum_g sc_g * bsums_g, so no value is offset.
static inline v128_t q4_K_group(v128_t q0, v128_t q1, const int8_t* x, int scale) {
    const v128_t p = wasm_i16x8_add(rdot(wasm_v128_load(x), q0), rdot(wasm_v128_load(x + 16), q1));
    return wasm_i32x4_dot_i16x8(p, wasm_i16x8_splat((int16_t)scale));
}

static inline v128_t q4_K_isum(const block_q4_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    const v128_t low4 = wasm_i8x16_splat(0x0F);
    v128_t isum = wasm_i32x4_splat(0);
    for (int j = 0; j < 4; j++) {
        const v128_t v0 = wasm_v128_load(w->qs + 32 * j), v1 = wasm_v128_load(w->qs + 32 * j + 16);
        const int8_t* xq = x->qs + 64 * j;
        isum = wasm_i32x4_add(isum, q4_K_group(wasm_v128_and(v0, low4), wasm_v128_and(v1, low4), xq, sc[2 * j]));
        isum = wasm_i32x4_add(isum, q4_K_group(wasm_u8x16_shr(v0, 4), wasm_u8x16_shr(v1, 4), xq + 32, sc[2 * j + 1]));
    }
    return isum;
}

// 32 * sum_g scales_g * bsums_g (the scales as int16, 8 and 8): what Q6_K's offset of 32 takes
// off a block's sum (|scale * bsum| <= 128 * 16 * 127).
static inline v128_t q6_K_offsets(v128_t sc_lo, v128_t sc_hi, const act_q8K* x) {
    const v128_t d = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc_lo, wasm_v128_load(x->bsums)),
                                    wasm_i32x4_dot_i16x8(sc_hi, wasm_v128_load(x->bsums + 8)));
    return wasm_i32x4_shl(d, 5);
}

static inline v128_t q6_K_group(v128_t q, const int8_t* x, int scale) {
    return wasm_i32x4_dot_i16x8(rdot(wasm_v128_load(x), q), wasm_i16x8_splat((int16_t)scale));
}

static inline v128_t q6_K_isum(const block_q6_K* w, const act_q8K* x) {
    const v128_t low4 = wasm_i8x16_splat(0x0F), bits45 = wasm_i8x16_splat(0x30);
    const v128_t s = wasm_v128_load(w->scales);
    v128_t isum = wasm_i32x4_sub(wasm_i32x4_splat(0),
                                 q6_K_offsets(wasm_i16x8_extend_low_i8x16(s), wasm_i16x8_extend_high_i8x16(s), x));
    for (int half = 0; half < 2; half++) {
        const uint8_t* ql = w->ql + 64 * half;
        const uint8_t* qh = w->qh + 32 * half;
        const int8_t* sc = w->scales + 8 * half;
        const int8_t* xq = x->qs + 128 * half;
        for (int k = 0; k < 2; k++) {
            const v128_t h = wasm_v128_load(qh + 16 * k);
            const v128_t l0 = wasm_v128_load(ql + 16 * k), l1 = wasm_v128_load(ql + 32 + 16 * k);
            const v128_t q1 = wasm_v128_or(wasm_v128_and(l0, low4), wasm_v128_and(wasm_i8x16_shl(h, 4), bits45));
            const v128_t q2 = wasm_v128_or(wasm_v128_and(l1, low4), wasm_v128_and(wasm_i8x16_shl(h, 2), bits45));
            const v128_t q3 = wasm_v128_or(wasm_u8x16_shr(l0, 4), wasm_v128_and(h, bits45));
            const v128_t q4 = wasm_v128_or(wasm_u8x16_shr(l1, 4), wasm_v128_and(wasm_u8x16_shr(h, 2), bits45));
            const int8_t* xk = xq + 16 * k;
            isum = wasm_i32x4_add(isum, q6_K_group(q1, xk, sc[k]));
            isum = wasm_i32x4_add(isum, q6_K_group(q2, xk + 32, sc[k + 2]));
            isum = wasm_i32x4_add(isum, q6_K_group(q3, xk + 64, sc[k + 4]));
            isum = wasm_i32x4_add(isum, q6_K_group(q4, xk + 96, sc[k + 6]));
        }
    }
    return isum;
}

// Prompts: a block's values split once per row into 16 x 16 unsigned bytes (x values 16k..16k+15
// in q[k]), with the scales; each token then costs the relaxed dots and one dot_i16x8 per scale.
struct kq_unpacked {
    v128_t q[QK_K / 16];
    v128_t m[2];       // Q4_K: the min of each 16 values' sub-block, for bsums; Q6_K: zero
    v128_t sc16[2];    // Q6_K: its 16 scales as int16, for the offset (q6_K_offsets); Q4_K: unused
    int16_t sc[QK_K / 16];  // Q4_K: sc[2j] holds group j's scale (32 values); Q6_K: one per 16
    float d, dmin;
};

static inline void q4_K_unpack(const block_q4_K* b, kq_unpacked* u) {
    int sc[8], m[8];
    q4_K_scales(b->scales, sc, m);
    const v128_t low4 = wasm_i8x16_splat(0x0F);
    for (int j = 0; j < 4; j++) {
        const v128_t v0 = wasm_v128_load(b->qs + 32 * j), v1 = wasm_v128_load(b->qs + 32 * j + 16);
        u->q[4 * j] = wasm_v128_and(v0, low4);
        u->q[4 * j + 1] = wasm_v128_and(v1, low4);
        u->q[4 * j + 2] = wasm_u8x16_shr(v0, 4);
        u->q[4 * j + 3] = wasm_u8x16_shr(v1, 4);
    }
    for (int g = 0; g < 8; g++) u->sc[2 * g] = (int16_t)sc[g];
    u->m[0] = wasm_i16x8_make(m[0], m[0], m[1], m[1], m[2], m[2], m[3], m[3]);
    u->m[1] = wasm_i16x8_make(m[4], m[4], m[5], m[5], m[6], m[6], m[7], m[7]);
    u->d = f16_to_f32(b->d);
    u->dmin = f16_to_f32(b->dmin);
}

static inline void q6_K_unpack(const block_q6_K* b, kq_unpacked* u) {
    const v128_t low4 = wasm_i8x16_splat(0x0F), bits45 = wasm_i8x16_splat(0x30);
    for (int half = 0; half < 2; half++) {
        const uint8_t* ql = b->ql + 64 * half;
        const uint8_t* qh = b->qh + 32 * half;
        v128_t* q = u->q + 8 * half;
        for (int k = 0; k < 2; k++) {
            const v128_t h = wasm_v128_load(qh + 16 * k);
            const v128_t l0 = wasm_v128_load(ql + 16 * k), l1 = wasm_v128_load(ql + 32 + 16 * k);
            q[k] = wasm_v128_or(wasm_v128_and(l0, low4), wasm_v128_and(wasm_i8x16_shl(h, 4), bits45));
            q[k + 2] = wasm_v128_or(wasm_v128_and(l1, low4), wasm_v128_and(wasm_i8x16_shl(h, 2), bits45));
            q[k + 4] = wasm_v128_or(wasm_u8x16_shr(l0, 4), wasm_v128_and(h, bits45));
            q[k + 6] = wasm_v128_or(wasm_u8x16_shr(l1, 4), wasm_v128_and(wasm_u8x16_shr(h, 2), bits45));
        }
    }
    for (int g = 0; g < 16; g++) u->sc[g] = b->scales[g];
    const v128_t s = wasm_v128_load(b->scales);
    u->sc16[0] = wasm_i16x8_extend_low_i8x16(s);
    u->sc16[1] = wasm_i16x8_extend_high_i8x16(s);
    u->m[0] = u->m[1] = wasm_i16x8_splat(0);
    u->d = f16_to_f32(b->d);
    u->dmin = 0.0f;
}

// GROUP: values per scale (Q4_K 32, Q6_K 16).
template <int GROUP>
static inline v128_t kq_isum(const kq_unpacked* u, const act_q8K* x) {
    v128_t isum = wasm_i32x4_splat(0);
    for (int k = 0; k < QK_K / 16; k += GROUP / 16) {
        v128_t p = rdot(wasm_v128_load(x->qs + 16 * k), u->q[k]);
        if constexpr (GROUP == 32) p = wasm_i16x8_add(p, rdot(wasm_v128_load(x->qs + 16 * k + 16), u->q[k + 1]));
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(p, wasm_v128_load16_splat(&u->sc[k])));
    }
    return isum;
}

#else
static inline v128_t q4_K_isum(const block_q4_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    const v128_t low4 = wasm_i8x16_splat(0x0F);
    v128_t isum = wasm_i32x4_splat(0);
    for (int j = 0; j < 4; j++) {
        const v128_t v0 = wasm_v128_load(w->qs + 32 * j), v1 = wasm_v128_load(w->qs + 32 * j + 16);
        const int8_t* xq = x->qs + 64 * j;
        isum = wasm_i32x4_add(isum, dot32_scaled(wasm_v128_and(v0, low4), wasm_v128_and(v1, low4), xq, sc[2 * j]));
        isum = wasm_i32x4_add(isum, dot32_scaled(wasm_u8x16_shr(v0, 4), wasm_u8x16_shr(v1, 4), xq + 32, sc[2 * j + 1]));
    }
    return isum;
}

static inline v128_t q6_K_isum(const block_q6_K* w, const act_q8K* x) {
    const v128_t low4 = wasm_i8x16_splat(0x0F), bits45 = wasm_i8x16_splat(0x30), k32 = wasm_i8x16_splat(32);
    v128_t isum = wasm_i32x4_splat(0);
    for (int half = 0; half < 2; half++) {
        const uint8_t* ql = w->ql + 64 * half;
        const uint8_t* qh = w->qh + 32 * half;
        const int8_t* sc = w->scales + 8 * half;
        const int8_t* xq = x->qs + 128 * half;
        for (int k = 0; k < 2; k++) {
            const v128_t h = wasm_v128_load(qh + 16 * k);
            const v128_t l0 = wasm_v128_load(ql + 16 * k), l1 = wasm_v128_load(ql + 32 + 16 * k);
            const v128_t q1 = wasm_v128_or(wasm_v128_and(l0, low4), wasm_v128_and(wasm_i8x16_shl(h, 4), bits45));
            const v128_t q2 = wasm_v128_or(wasm_v128_and(l1, low4), wasm_v128_and(wasm_i8x16_shl(h, 2), bits45));
            const v128_t q3 = wasm_v128_or(wasm_u8x16_shr(l0, 4), wasm_v128_and(h, bits45));
            const v128_t q4 = wasm_v128_or(wasm_u8x16_shr(l1, 4), wasm_v128_and(wasm_u8x16_shr(h, 2), bits45));
            const int8_t* xk = xq + 16 * k;
            isum = wasm_i32x4_add(isum, dot16_scaled(wasm_i8x16_sub(q1, k32), wasm_v128_load(xk), sc[k]));
            isum = wasm_i32x4_add(isum, dot16_scaled(wasm_i8x16_sub(q2, k32), wasm_v128_load(xk + 32), sc[k + 2]));
            isum = wasm_i32x4_add(isum, dot16_scaled(wasm_i8x16_sub(q3, k32), wasm_v128_load(xk + 64), sc[k + 4]));
            isum = wasm_i32x4_add(isum, dot16_scaled(wasm_i8x16_sub(q4, k32), wasm_v128_load(xk + 96), sc[k + 6]));
        }
    }
    return isum;
}

// Prompts: a block is unpacked once per row into int16 weights with the sub-block scale folded
// in (|q * sc| <= 945 for Q4_K, <= 4064 for Q6_K: every pairwise product sum fits an i32
// lane), then each token of the tile costs only widening its activations and i32x4.dot_i16x8.
// Unpacking costs as much as a dot, so paying it once per tile rather than once per token is
// what makes the k-quants' prompt speed.
struct kq_unpacked {
    v128_t w[QK_K / 8];  // values 8k..8k+7 in w[k]
    v128_t m[2];         // Q4_K: the min of each 16 values' sub-block, for bsums; Q6_K: zero
    float d, dmin;
};

// 16 bytes of values in [0, 63], less `bias`, times a sub-block scale, as 2 x 8 int16: widened
// unsigned and the bias taken off in 16 bits (as unpack_values in quants_legacy.cpp, for V8).
static inline void kq_scaled(v128_t q, int16_t bias, int scale, v128_t* out) {
    const v128_t s = wasm_i16x8_splat((int16_t)scale), b = wasm_i16x8_splat(bias);
    out[0] = wasm_i16x8_mul(wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(q), b), s);
    out[1] = wasm_i16x8_mul(wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(q), b), s);
}

static inline void q4_K_unpack(const block_q4_K* b, kq_unpacked* u) {
    int sc[8], m[8];
    q4_K_scales(b->scales, sc, m);
    const v128_t low4 = wasm_i8x16_splat(0x0F);
    for (int j = 0; j < 4; j++) {
        const v128_t v0 = wasm_v128_load(b->qs + 32 * j), v1 = wasm_v128_load(b->qs + 32 * j + 16);
        kq_scaled(wasm_v128_and(v0, low4), 0, sc[2 * j], u->w + 8 * j);
        kq_scaled(wasm_v128_and(v1, low4), 0, sc[2 * j], u->w + 8 * j + 2);
        kq_scaled(wasm_u8x16_shr(v0, 4), 0, sc[2 * j + 1], u->w + 8 * j + 4);
        kq_scaled(wasm_u8x16_shr(v1, 4), 0, sc[2 * j + 1], u->w + 8 * j + 6);
    }
    u->m[0] = wasm_i16x8_make(m[0], m[0], m[1], m[1], m[2], m[2], m[3], m[3]);
    u->m[1] = wasm_i16x8_make(m[4], m[4], m[5], m[5], m[6], m[6], m[7], m[7]);
    u->d = f16_to_f32(b->d);
    u->dmin = f16_to_f32(b->dmin);
}

static inline void q6_K_unpack(const block_q6_K* b, kq_unpacked* u) {
    const v128_t low4 = wasm_i8x16_splat(0x0F), bits45 = wasm_i8x16_splat(0x30);
    for (int half = 0; half < 2; half++) {
        const uint8_t* ql = b->ql + 64 * half;
        const uint8_t* qh = b->qh + 32 * half;
        const int8_t* sc = b->scales + 8 * half;
        v128_t* w = u->w + 16 * half;
        for (int k = 0; k < 2; k++) {
            const v128_t h = wasm_v128_load(qh + 16 * k);
            const v128_t l0 = wasm_v128_load(ql + 16 * k), l1 = wasm_v128_load(ql + 32 + 16 * k);
            const v128_t q1 = wasm_v128_or(wasm_v128_and(l0, low4), wasm_v128_and(wasm_i8x16_shl(h, 4), bits45));
            const v128_t q2 = wasm_v128_or(wasm_v128_and(l1, low4), wasm_v128_and(wasm_i8x16_shl(h, 2), bits45));
            const v128_t q3 = wasm_v128_or(wasm_u8x16_shr(l0, 4), wasm_v128_and(h, bits45));
            const v128_t q4 = wasm_v128_or(wasm_u8x16_shr(l1, 4), wasm_v128_and(wasm_u8x16_shr(h, 2), bits45));
            kq_scaled(q1, 32, sc[k], w + 2 * k);
            kq_scaled(q2, 32, sc[k + 2], w + 2 * k + 4);
            kq_scaled(q3, 32, sc[k + 4], w + 2 * k + 8);
            kq_scaled(q4, 32, sc[k + 6], w + 2 * k + 12);
        }
    }
    u->m[0] = u->m[1] = wasm_i16x8_splat(0);
    u->d = f16_to_f32(b->d);
    u->dmin = 0.0f;
}

template <int GROUP>
static inline v128_t kq_isum(const kq_unpacked* u, const act_q8K* x) {
    v128_t isum = wasm_i32x4_splat(0);
    for (int k = 0; k < QK_K / 16; k++) {
        const v128_t xv = wasm_v128_load(x->qs + 16 * k);
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(u->w[2 * k], wasm_i16x8_extend_low_i8x16(xv)));
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(u->w[2 * k + 1], wasm_i16x8_extend_high_i8x16(xv)));
    }
    return isum;
}
#endif

static inline float kq_extra(const kq_unpacked* u, const act_q8K* x) {
    const v128_t msum = wasm_i32x4_add(wasm_i32x4_dot_i16x8(u->m[0], wasm_v128_load(x->bsums)),
                                       wasm_i32x4_dot_i16x8(u->m[1], wasm_v128_load(x->bsums + 8)));
    return -(u->dmin * x->d * (float)isum_total(msum));
}

#define KQ_UNPACKS 1

#elif defined(__AVX2__) && defined(__FMA__)

static inline __m256i q4_K_isum(const block_q4_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i isum = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        const __m256i v = _mm256_loadu_si256((const __m256i*)(w->qs + 32 * j));
        const __m256i x0 = _mm256_loadu_si256((const __m256i*)(x->qs + 64 * j));
        const __m256i x1 = _mm256_loadu_si256((const __m256i*)(x->qs + 64 * j + 32));
        // q <= 15: the unsigned-by-signed pair sums cannot saturate
        const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(v, low4), x0);
        const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), x1);
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p0, _mm256_set1_epi16((short)sc[2 * j])));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p1, _mm256_set1_epi16((short)sc[2 * j + 1])));
    }
    return isum;
}

static inline __m256i q6_K_isum(const block_q6_K* w, const act_q8K* x) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), bits45 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    __m256i isum = _mm256_setzero_si256();
    for (int half = 0; half < 2; half++) {
        const uint8_t* ql = w->ql + 64 * half;
        const int8_t* sc = w->scales + 8 * half;
        const int8_t* xq = x->qs + 128 * half;
        const __m256i h = _mm256_loadu_si256((const __m256i*)(w->qh + 32 * half));
        const __m256i l0 = _mm256_loadu_si256((const __m256i*)ql);
        const __m256i l1 = _mm256_loadu_si256((const __m256i*)(ql + 32));
        const __m256i q[4] = {
            _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(h, 4), bits45)),
            _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(h, 2), bits45)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(h, bits45)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                            _mm256_and_si256(_mm256_srli_epi16(h, 2), bits45)),
        };
        for (int i = 0; i < 4; i++) {
            const __m256i xv = _mm256_loadu_si256((const __m256i*)(xq + 32 * i));
            // (q - 32) . x as q . x - 32 . x: q <= 63 keeps maddubs below saturation
            const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[i], xv), _mm256_maddubs_epi16(k32, xv));
            const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[2 * i + 1]), _mm_set1_epi16(sc[2 * i]));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s));
        }
    }
    return isum;
}

#else

static inline int q4_K_isum(const block_q4_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    int isum = 0;
    for (int j = 0; j < 4; j++) {
        const uint8_t* q = w->qs + 32 * j;
        const int8_t* xq = x->qs + 64 * j;
        int lo = 0, hi = 0;
        for (int l = 0; l < 32; l++) {
            lo += (q[l] & 0x0F) * xq[l];
            hi += (q[l] >> 4) * xq[l + 32];
        }
        isum += sc[2 * j] * lo + sc[2 * j + 1] * hi;
    }
    return isum;
}

static inline int q6_K_isum(const block_q6_K* w, const act_q8K* x) {
    int isum = 0;
    for (int half = 0; half < 2; half++) {
        const uint8_t* ql = w->ql + 64 * half;
        const uint8_t* qh = w->qh + 32 * half;
        const int8_t* sc = w->scales + 8 * half;
        const int8_t* xq = x->qs + 128 * half;
        for (int k = 0; k < 2; k++) {
            int s1 = 0, s2 = 0, s3 = 0, s4 = 0;
            for (int l = 16 * k; l < 16 * k + 16; l++) {
                s1 += (((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32) * xq[l];
                s2 += (((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32) * xq[l + 32];
                s3 += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * xq[l + 64];
                s4 += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * xq[l + 96];
            }
            isum += sc[k] * s1 + sc[k + 2] * s2 + sc[k + 4] * s3 + sc[k + 6] * s4;
        }
    }
    return isum;
}

#endif

#if defined(KQ_UNPACKS)
template <int GROUP>
struct kq_unpacking {
    typedef kq_unpacked unpacked;
    static inline v128_t isum_unpacked(const unpacked* u, const act_q8K* x) {
#if defined(__wasm_relaxed_simd__)
        if constexpr (GROUP == 16) return wasm_i32x4_sub(kq_isum<GROUP>(u, x), q6_K_offsets(u->sc16[0], u->sc16[1], x));
#endif
        return kq_isum<GROUP>(u, x);
    }
    static inline float scale_unpacked(const unpacked* u, const act_q8K* x) { return u->d * x->d; }
    static inline float extra_unpacked(const unpacked* u, const act_q8K* x) { return kq_extra(u, x); }
};
#else
template <int GROUP>
struct kq_unpacking {};
#endif

struct fmt_q4_K : kq_unpacking<32> {
    typedef block_q4_K block;
    typedef act_q8K act;
    typedef acc accum;
    enum { values = QK_K };
    static inline auto isum(const block* w, const act* x) { return q4_K_isum(w, x); }
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
    // the mins: - dmin * d_x * sum_j m_j * sum(x_j)
    static inline float extra(const block* w, const act* x) {
        int sc[8], m[8];
        q4_K_scales(w->scales, sc, m);
        return -(f16_to_f32(w->dmin) * x->d * (float)q4_K_min_sum(x, m));
    }
#if defined(KQ_UNPACKS)
    static inline void unpack(const block* w, kq_unpacked* u) { q4_K_unpack(w, u); }
#endif
};

struct fmt_q6_K : kq_unpacking<16> {
    typedef block_q6_K block;
    typedef act_q8K act;
    typedef acc accum;
    enum { values = QK_K };
    static inline auto isum(const block* w, const act* x) { return q6_K_isum(w, x); }
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
#if defined(KQ_UNPACKS)
    static inline void unpack(const block* w, kq_unpacked* u) { q6_K_unpack(w, u); }
#endif
};

void matmul_q4_K(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q4_K>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_q6_K(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q6_K>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}
