// quants_kquants: kernels for the 256-value formats (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) against
// activations quantized to act_q8K.
//
// Q4_K: 8 groups of 32, w = d*sc_j*q - dmin*m_j with q in [0, 15]:
//   w . x = d*d_x * sum_j sc_j * (q_j . x_j)  -  dmin*d_x * sum_j m_j * sum(x_j)
// Q5_K: the same with q in [0, 31]. Q2_K: the same over 16 groups of 16 with q in [0, 3] and
//   4-bit sc_j, m_j (the mins are then per 16, as the bsums are).
// Q6_K: 16 groups of 16, w = d*sc_j*(q - 32) with q in [0, 63]:
//   w . x = d*d_x * sum_j sc_j * ((q_j - 32) . x_j)
// Q3_K: the same with q - 4, q in [0, 7] (q is 2 bits, + 4 where the hmask bit is set), sc_j in [-32, 31].
// IQ4_XS: 8 groups of 32, w = d*sc_j*kv[q] with kv the 16 IQ4_NL values, sc_j in [-32, 31].
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

// Bit b of each byte of h, moved to bit `to` (Q5_K's fifth bits, Q3_K's high bits).
static inline v128_t bit_at(v128_t h, int b, int to) {
    return wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(h, b), wasm_i8x16_splat(1)), to);
}

// Q2_K and Q3_K: the 2-bit values of group g (16 values): bits 2s, 2s+1 of qs[32h + 16 (g % 2) + i],
// h = g / 8, s = (g % 8) / 2.
static inline v128_t q2_bits(const uint8_t* qs, int g) {
    const v128_t v = wasm_v128_load(qs + 32 * (g / 8) + 16 * (g % 2));
    return wasm_v128_and(wasm_u8x16_shr(v, 2 * ((g % 8) / 2)), wasm_i8x16_splat(3));
}

// Q3_K's values of group g + 4, in 0..7: the hmask bit g / 2 set adds 4.
static inline v128_t q3_K_biased(const block_q3_K* b, int g) {
    return wasm_v128_or(q2_bits(b->qs, g), bit_at(wasm_v128_load(b->hmask + 16 * (g % 2)), g / 2, 2));
}

// Q3_K's 16 signed scales (q3_K_scale) at once, as int16 in sc16[0] (0..7) and sc16[1] (8..15) and
// in sc[16]: sixteen scalar decodes cost Q3_K's decode a third of its time.
static inline void q3_K_scales(const block_q3_K* b, v128_t sc16[2], int16_t sc[16]) {
    uint8_t raw[16] = {0};
    memcpy(raw, b->scales, 12);
    const v128_t v = wasm_v128_load(raw);
    const v128_t upper8 = wasm_i64x2_make(0, -1);  // lanes 8..15
    const v128_t l = wasm_i8x16_shuffle(v, v, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
    const v128_t lo = wasm_v128_and(wasm_v128_bitselect(wasm_u8x16_shr(l, 4), l, upper8), wasm_i8x16_splat(0x0F));
    const v128_t h = wasm_i8x16_shuffle(v, v, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11);
    v128_t hi = wasm_v128_bitselect(wasm_u8x16_shr(h, 2), h, wasm_i32x4_make(0, -1, 0, 0));
    hi = wasm_v128_bitselect(wasm_u8x16_shr(h, 4), hi, wasm_i32x4_make(0, 0, -1, 0));
    hi = wasm_v128_bitselect(wasm_u8x16_shr(h, 6), hi, wasm_i32x4_make(0, 0, 0, -1));
    hi = wasm_i8x16_shl(wasm_v128_and(hi, wasm_i8x16_splat(3)), 4);
    const v128_t s8 = wasm_i8x16_sub(wasm_v128_or(lo, hi), wasm_i8x16_splat(32));
    sc16[0] = wasm_i16x8_extend_low_i8x16(s8);
    sc16[1] = wasm_i16x8_extend_high_i8x16(s8);
    wasm_v128_store(sc, sc16[0]);
    wasm_v128_store(sc + 8, sc16[1]);
}

// Q5_K's values of group j (32 values, 0..31) as two halves of 16.
static inline void q5_K_values(const block_q5_K* b, int j, v128_t* lo, v128_t* hi) {
    const v128_t v0 = wasm_v128_load(b->qs + 32 * (j / 2)), v1 = wasm_v128_load(b->qs + 32 * (j / 2) + 16);
    const v128_t low4 = wasm_i8x16_splat(0x0F);
    const v128_t n0 = j % 2 ? wasm_u8x16_shr(v0, 4) : wasm_v128_and(v0, low4);
    const v128_t n1 = j % 2 ? wasm_u8x16_shr(v1, 4) : wasm_v128_and(v1, low4);
    *lo = wasm_v128_or(n0, bit_at(wasm_v128_load(b->qh), j, 4));
    *hi = wasm_v128_or(n1, bit_at(wasm_v128_load(b->qh + 16), j, 4));
}

// IQ4_XS's sub-block ib (32 values) looked up in `table` (the 16 values, or them + 128).
static inline void iq4_xs_values(const block_iq4_xs* b, int ib, v128_t table, v128_t* lo, v128_t* hi) {
    const v128_t v = wasm_v128_load(b->qs + 16 * ib);
    *lo = wasm_i8x16_swizzle(table, wasm_v128_and(v, wasm_i8x16_splat(0x0F)));
    *hi = wasm_i8x16_swizzle(table, wasm_u8x16_shr(v, 4));
}

static inline v128_t q2_K_mins(const block_q2_K* b, int half) {
    const uint8_t* s = b->scales + 8 * half;
    return wasm_i16x8_make(s[0] >> 4, s[1] >> 4, s[2] >> 4, s[3] >> 4, s[4] >> 4, s[5] >> 4, s[6] >> 4, s[7] >> 4);
}

// IQ4_XS: table values are signed (-127..113), the relaxed dot's signed side only, so every wasm
// build takes this one: products 2 to an i16 lane (|.| <= 2 * 127 * 127), scaled per 16.
static inline v128_t iq4_xs_isum(const block_iq4_xs* w, const act_q8K* x) {
    const v128_t table = wasm_v128_load(k_iq4nl_values);
    v128_t isum = wasm_i32x4_splat(0);
    for (int ib = 0; ib < QK_K / 32; ib++) {
        v128_t lo, hi;
        iq4_xs_values(w, ib, table, &lo, &hi);
        const int sc = iq4_xs_scale(w, ib);
        isum = wasm_i32x4_add(isum, wasm_i32x4_add(dot16_scaled(lo, wasm_v128_load(x->qs + 32 * ib), sc),
                                                   dot16_scaled(hi, wasm_v128_load(x->qs + 32 * ib + 16), sc)));
    }
    return isum;
}

// A k-quant block unpacked for prompts as int16 weights with the sub-block scale folded in
// (|q * sc| <= 945 for Q4_K, <= 4064 for Q6_K and IQ4_XS: every pairwise product sum fits an i32
// lane); each token of the tile then costs only widening its activations and i32x4.dot_i16x8.
// The simd build's k-quant prompts, and IQ4_XS's in the relaxed builds too (its signed values
// cannot be the relaxed dot's unsigned side).
struct kq_widened {
    v128_t w[QK_K / 8];  // values 8k..8k+7 in w[k]
    v128_t m[2];         // Q4_K, Q5_K, Q2_K: the min of each 16 values' sub-block, for bsums; else zero
    float d, dmin;
};

// 16 bytes of values in [0, 255], less `bias`, times a sub-block scale, as 2 x 8 int16: widened
// unsigned and the bias taken off in 16 bits (as unpack_values in quants_legacy.cpp, for V8).
static inline void kq_scaled(v128_t q, int16_t bias, int scale, v128_t* out) {
    const v128_t s = wasm_i16x8_splat((int16_t)scale), b = wasm_i16x8_splat(bias);
    out[0] = wasm_i16x8_mul(wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(q), b), s);
    out[1] = wasm_i16x8_mul(wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(q), b), s);
}

static inline v128_t widened_isum(const kq_widened* u, const act_q8K* x) {
    v128_t isum = wasm_i32x4_splat(0);
    for (int k = 0; k < QK_K / 16; k++) {
        const v128_t xv = wasm_v128_load(x->qs + 16 * k);
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(u->w[2 * k], wasm_i16x8_extend_low_i8x16(xv)));
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(u->w[2 * k + 1], wasm_i16x8_extend_high_i8x16(xv)));
    }
    return isum;
}

// IQ4_XS: the values + 128 (1..241) widened unsigned, less 128, times the scale (|.| <= 127 * 32).
static inline void iq4_xs_unpack(const block_iq4_xs* b, kq_widened* u) {
    const v128_t table = wasm_i8x16_add(wasm_v128_load(k_iq4nl_values), wasm_i8x16_splat((int8_t)-128));
    for (int ib = 0; ib < QK_K / 32; ib++) {
        v128_t lo, hi;
        iq4_xs_values(b, ib, table, &lo, &hi);
        const int sc = iq4_xs_scale(b, ib);
        kq_scaled(lo, 128, sc, u->w + 4 * ib);
        kq_scaled(hi, 128, sc, u->w + 4 * ib + 2);
    }
    u->m[0] = u->m[1] = wasm_i16x8_splat(0);
    u->d = f16_to_f32(b->d);
    u->dmin = 0.0f;
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

// 2^SHIFT * sum_g scales_g * bsums_g (the scales as int16, 8 and 8): what Q6_K's offset of 32
// (SHIFT 5) or Q3_K's of 4 (SHIFT 2) takes off a block's sum (|scale * bsum| <= 128 * 16 * 127).
template <int SHIFT>
static inline v128_t kq_offsets(v128_t sc_lo, v128_t sc_hi, const act_q8K* x) {
    const v128_t d = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc_lo, wasm_v128_load(x->bsums)),
                                    wasm_i32x4_dot_i16x8(sc_hi, wasm_v128_load(x->bsums + 8)));
    return wasm_i32x4_shl(d, SHIFT);
}

static inline v128_t q6_K_group(v128_t q, const int8_t* x, int scale) {
    return wasm_i32x4_dot_i16x8(rdot(wasm_v128_load(x), q), wasm_i16x8_splat((int16_t)scale));
}

static inline v128_t q6_K_isum(const block_q6_K* w, const act_q8K* x) {
    const v128_t low4 = wasm_i8x16_splat(0x0F), bits45 = wasm_i8x16_splat(0x30);
    const v128_t s = wasm_v128_load(w->scales);
    v128_t isum = wasm_i32x4_sub(wasm_i32x4_splat(0),
                                 kq_offsets<5>(wasm_i16x8_extend_low_i8x16(s), wasm_i16x8_extend_high_i8x16(s), x));
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
    v128_t m[2];       // Q4_K, Q5_K, Q2_K: the min of each 16 values' sub-block, for bsums; else zero
    v128_t sc16[2];    // Q6_K, Q3_K: their 16 scales as int16, for the offset (kq_offsets); else unused
    int16_t sc[QK_K / 16];  // Q4_K, Q5_K: sc[2j] holds group j's scale (32 values); else one per 16
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

// Q5_K, Q2_K, Q3_K as Q4_K and Q6_K: their unsigned values (0..31, 0..3, 0..7) the relaxed dot's
// 0..127 side; Q3_K's -4 comes off as Q6_K's -32 does.
static inline v128_t q5_K_isum(const block_q5_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    v128_t isum = wasm_i32x4_splat(0);
    for (int j = 0; j < 8; j++) {
        v128_t lo, hi;
        q5_K_values(w, j, &lo, &hi);
        isum = wasm_i32x4_add(isum, q4_K_group(lo, hi, x->qs + 32 * j, sc[j]));
    }
    return isum;
}

static inline v128_t q2_K_isum(const block_q2_K* w, const act_q8K* x) {
    v128_t isum = wasm_i32x4_splat(0);
    for (int g = 0; g < QK_K / 16; g++)
        isum = wasm_i32x4_add(isum, q6_K_group(q2_bits(w->qs, g), x->qs + 16 * g, w->scales[g] & 0x0F));
    return isum;
}

static inline v128_t q3_K_isum(const block_q3_K* w, const act_q8K* x) {
    v128_t sc16[2];
    int16_t sc[16];
    q3_K_scales(w, sc16, sc);
    v128_t isum = wasm_i32x4_sub(wasm_i32x4_splat(0), kq_offsets<2>(sc16[0], sc16[1], x));
    for (int g = 0; g < QK_K / 16; g++) {
        const v128_t p = rdot(wasm_v128_load(x->qs + 16 * g), q3_K_biased(w, g));
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(p, wasm_v128_load16_splat(&sc[g])));
    }
    return isum;
}

static inline void q5_K_unpack(const block_q5_K* b, kq_unpacked* u) {
    int sc[8], m[8];
    q4_K_scales(b->scales, sc, m);
    for (int j = 0; j < 8; j++) {
        q5_K_values(b, j, &u->q[2 * j], &u->q[2 * j + 1]);
        u->sc[2 * j] = (int16_t)sc[j];
    }
    u->m[0] = wasm_i16x8_make(m[0], m[0], m[1], m[1], m[2], m[2], m[3], m[3]);
    u->m[1] = wasm_i16x8_make(m[4], m[4], m[5], m[5], m[6], m[6], m[7], m[7]);
    u->d = f16_to_f32(b->d);
    u->dmin = f16_to_f32(b->dmin);
}

static inline void q2_K_unpack(const block_q2_K* b, kq_unpacked* u) {
    for (int g = 0; g < QK_K / 16; g++) {
        u->q[g] = q2_bits(b->qs, g);
        u->sc[g] = (int16_t)(b->scales[g] & 0x0F);
    }
    u->m[0] = q2_K_mins(b, 0);
    u->m[1] = q2_K_mins(b, 1);
    u->sc16[0] = u->sc16[1] = wasm_i16x8_splat(0);
    u->d = f16_to_f32(b->d);
    u->dmin = f16_to_f32(b->dmin);
}

static inline void q3_K_unpack(const block_q3_K* b, kq_unpacked* u) {
    q3_K_scales(b, u->sc16, u->sc);
    for (int g = 0; g < QK_K / 16; g++) u->q[g] = q3_K_biased(b, g);
    u->m[0] = u->m[1] = wasm_i16x8_splat(0);
    u->d = f16_to_f32(b->d);
    u->dmin = 0.0f;
}

// GROUP: values per scale (Q4_K, Q5_K 32; Q6_K, Q2_K, Q3_K 16).
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
// in (kq_widened); unpacking costs as much as a dot, so paying it once per tile rather than once
// per token is what makes the k-quants' prompt speed.
typedef kq_widened kq_unpacked;

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

static inline v128_t q5_K_isum(const block_q5_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    v128_t isum = wasm_i32x4_splat(0);
    for (int j = 0; j < 8; j++) {
        v128_t lo, hi;
        q5_K_values(w, j, &lo, &hi);  // |q| <= 31: 4 products still fit an i16 lane
        isum = wasm_i32x4_add(isum, dot32_scaled(lo, hi, x->qs + 32 * j, sc[j]));
    }
    return isum;
}

static inline v128_t q2_K_isum(const block_q2_K* w, const act_q8K* x) {
    v128_t isum = wasm_i32x4_splat(0);
    for (int g = 0; g < QK_K / 16; g++)
        isum = wasm_i32x4_add(isum, dot16_scaled(q2_bits(w->qs, g), wasm_v128_load(x->qs + 16 * g), w->scales[g] & 0x0F));
    return isum;
}

static inline v128_t q3_K_isum(const block_q3_K* w, const act_q8K* x) {
    const v128_t k4 = wasm_i8x16_splat(4);
    v128_t sc16[2];
    int16_t sc[16];
    q3_K_scales(w, sc16, sc);
    v128_t isum = wasm_i32x4_splat(0);
    for (int g = 0; g < QK_K / 16; g++) {
        const v128_t a = wasm_i8x16_sub(q3_K_biased(w, g), k4), b = wasm_v128_load(x->qs + 16 * g);
        const v128_t p = wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(a, b), wasm_i16x8_extmul_high_i8x16(a, b));
        isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(p, wasm_v128_load16_splat(&sc[g])));
    }
    return isum;
}

static inline void q5_K_unpack(const block_q5_K* b, kq_unpacked* u) {
    int sc[8], m[8];
    q4_K_scales(b->scales, sc, m);
    for (int j = 0; j < 8; j++) {
        v128_t lo, hi;
        q5_K_values(b, j, &lo, &hi);
        kq_scaled(lo, 0, sc[j], u->w + 4 * j);
        kq_scaled(hi, 0, sc[j], u->w + 4 * j + 2);
    }
    u->m[0] = wasm_i16x8_make(m[0], m[0], m[1], m[1], m[2], m[2], m[3], m[3]);
    u->m[1] = wasm_i16x8_make(m[4], m[4], m[5], m[5], m[6], m[6], m[7], m[7]);
    u->d = f16_to_f32(b->d);
    u->dmin = f16_to_f32(b->dmin);
}

static inline void q2_K_unpack(const block_q2_K* b, kq_unpacked* u) {
    for (int g = 0; g < QK_K / 16; g++) kq_scaled(q2_bits(b->qs, g), 0, b->scales[g] & 0x0F, u->w + 2 * g);
    u->m[0] = q2_K_mins(b, 0);
    u->m[1] = q2_K_mins(b, 1);
    u->d = f16_to_f32(b->d);
    u->dmin = f16_to_f32(b->dmin);
}

static inline void q3_K_unpack(const block_q3_K* b, kq_unpacked* u) {
    v128_t sc16[2];
    int16_t sc[16];
    q3_K_scales(b, sc16, sc);
    for (int g = 0; g < QK_K / 16; g++) kq_scaled(q3_K_biased(b, g), 4, sc[g], u->w + 2 * g);
    u->m[0] = u->m[1] = wasm_i16x8_splat(0);
    u->d = f16_to_f32(b->d);
    u->dmin = 0.0f;
}

template <int GROUP>
static inline v128_t kq_isum(const kq_unpacked* u, const act_q8K* x) { return widened_isum(u, x); }
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

// Bit b of each byte of v as bit `to` (Q5_K's fifth bits, Q3_K's high bits); counts in registers.
static inline __m256i bits_at(__m256i v, int b, int to) {
    const __m256i one = _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(b)), _mm256_set1_epi8(1));
    return _mm256_sll_epi16(one, _mm_cvtsi32_si128(to));
}

// Q5_K: Q4_K's nibbles with the fifth bits; q <= 31 keeps maddubs below saturation.
static inline __m256i q5_K_isum(const block_q5_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i qh = _mm256_loadu_si256((const __m256i*)w->qh);
    __m256i isum = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        const __m256i v = _mm256_loadu_si256((const __m256i*)(w->qs + 32 * j));
        const __m256i q0 = _mm256_or_si256(_mm256_and_si256(v, low4), bits_at(qh, 2 * j, 4));
        const __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), bits_at(qh, 2 * j + 1, 4));
        const __m256i p0 = _mm256_maddubs_epi16(q0, _mm256_loadu_si256((const __m256i*)(x->qs + 64 * j)));
        const __m256i p1 = _mm256_maddubs_epi16(q1, _mm256_loadu_si256((const __m256i*)(x->qs + 64 * j + 32)));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p0, _mm256_set1_epi16((short)sc[2 * j])));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p1, _mm256_set1_epi16((short)sc[2 * j + 1])));
    }
    return isum;
}

// Q2_K and Q3_K: 32 values at a time are groups g (bytes 0..15) and g + 1 (16..31), g = 8h + 2s.
static inline __m256i two_scales(int lo, int hi) { return _mm256_set_m128i(_mm_set1_epi16((short)hi), _mm_set1_epi16((short)lo)); }

static inline __m256i q2_K_isum(const block_q2_K* w, const act_q8K* x) {
    const __m256i three = _mm256_set1_epi8(3);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        const __m256i q = _mm256_loadu_si256((const __m256i*)(w->qs + 32 * h));
        for (int s = 0; s < 4; s++) {
            const int g = 8 * h + 2 * s;
            const __m256i v = _mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), three);
            const __m256i p = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i*)(x->qs + 16 * g)));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, two_scales(w->scales[g] & 0x0F, w->scales[g + 1] & 0x0F)));
        }
    }
    return isum;
}

static inline __m256i q3_K_isum(const block_q3_K* w, const act_q8K* x) {
    const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    const __m256i hm = _mm256_loadu_si256((const __m256i*)w->hmask);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        const __m256i q = _mm256_loadu_si256((const __m256i*)(w->qs + 32 * h));
        for (int s = 0; s < 4; s++) {
            const int g = 8 * h + 2 * s;
            const __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srl_epi16(q, _mm_cvtsi32_si128(2 * s)), three),
                                              bits_at(hm, 4 * h + s, 2));  // q + 4, in 0..7
            const __m256i xv = _mm256_loadu_si256((const __m256i*)(x->qs + 16 * g));
            const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, xv), _mm256_maddubs_epi16(four, xv));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, two_scales(q3_K_scale(w->scales, g), q3_K_scale(w->scales, g + 1))));
        }
    }
    return isum;
}

// IQ4_XS: the table values are signed, so |w| times x with w's sign (as dot_i8 in quants_legacy.cpp);
// pair sums |.| <= 2 * 127 * 127 stay below maddubs' saturation.
static inline __m256i iq4_xs_isum(const block_iq4_xs* w, const act_q8K* x) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)k_iq4nl_values));
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i isum = _mm256_setzero_si256();
    for (int ib = 0; ib < QK_K / 32; ib++) {
        const __m128i v = _mm_loadu_si128((const __m128i*)(w->qs + 16 * ib));
        const __m256i n = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), low4);
        const __m256i q = _mm256_shuffle_epi8(table, n);
        const __m256i xv = _mm256_loadu_si256((const __m256i*)(x->qs + 32 * ib));
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_set1_epi16((short)iq4_xs_scale(w, ib))));
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

#if !defined(__wasm_simd128__) && !(defined(__AVX2__) && defined(__FMA__))
// Q2_K, Q3_K, Q5_K, IQ4_XS plainly.
// Group g of 16 values of Q2_K and Q3_K: bits 2s of qs[32h + 16 (g % 2) + i] (see q2_bits).
static inline int q2_K_isum(const block_q2_K* w, const act_q8K* x) {
    int isum = 0;
    for (int g = 0; g < QK_K / 16; g++) {
        const uint8_t* q = w->qs + 32 * (g / 8) + 16 * (g % 2);
        const int shift = 2 * ((g % 8) / 2);
        int s = 0;
        for (int i = 0; i < 16; i++) s += ((q[i] >> shift) & 3) * x->qs[16 * g + i];
        isum += (w->scales[g] & 0x0F) * s;
    }
    return isum;
}

static inline int q3_K_isum(const block_q3_K* w, const act_q8K* x) {
    int isum = 0;
    for (int g = 0; g < QK_K / 16; g++) {
        const uint8_t* q = w->qs + 32 * (g / 8) + 16 * (g % 2);
        const uint8_t* hm = w->hmask + 16 * (g % 2);
        const int shift = 2 * ((g % 8) / 2);
        int s = 0;
        for (int i = 0; i < 16; i++) s += (((q[i] >> shift) & 3) - (((hm[i] >> (g / 2)) & 1) ? 0 : 4)) * x->qs[16 * g + i];
        isum += q3_K_scale(w->scales, g) * s;
    }
    return isum;
}

static inline int q5_K_isum(const block_q5_K* w, const act_q8K* x) {
    int sc[8], m[8];
    q4_K_scales(w->scales, sc, m);
    int isum = 0;
    for (int j = 0; j < 8; j++) {
        const uint8_t* q = w->qs + 32 * (j / 2);
        const int shift = 4 * (j % 2);
        int s = 0;
        for (int l = 0; l < 32; l++) s += (((q[l] >> shift) & 0x0F) | (((w->qh[l] >> j) & 1) << 4)) * x->qs[32 * j + l];
        isum += sc[j] * s;
    }
    return isum;
}

static inline int iq4_xs_isum(const block_iq4_xs* w, const act_q8K* x) {
    int isum = 0;
    for (int ib = 0; ib < QK_K / 32; ib++) {
        const uint8_t* q = w->qs + 16 * ib;
        const int8_t* xq = x->qs + 32 * ib;
        int s = 0;
        for (int l = 0; l < 16; l++) s += k_iq4nl_values[q[l] & 0x0F] * xq[l] + k_iq4nl_values[q[l] >> 4] * xq[l + 16];
        isum += iq4_xs_scale(w, ib) * s;
    }
    return isum;
}
#endif

// The mins of Q2_K (16, one per bsum) as Q4_K's are (q4_K_min_sum).
static inline int q2_K_min_sum(const block_q2_K* w, const act_q8K* x) {
    int s = 0;
    for (int g = 0; g < QK_K / 16; g++) s += (w->scales[g] >> 4) * x->bsums[g];
    return s;
}

#if defined(KQ_UNPACKS)
// OFFSET_SHIFT: in the relaxed builds, 2^OFFSET_SHIFT times the values' offset comes off once per
// block (kq_offsets: Q6_K 5, Q3_K 2), or nothing (-1).
template <int GROUP, int OFFSET_SHIFT = -1>
struct kq_unpacking {
    typedef kq_unpacked unpacked;
    static inline v128_t isum_unpacked(const unpacked* u, const act_q8K* x) {
#if defined(__wasm_relaxed_simd__)
        if constexpr (OFFSET_SHIFT >= 0)
            return wasm_i32x4_sub(kq_isum<GROUP>(u, x), kq_offsets<OFFSET_SHIFT>(u->sc16[0], u->sc16[1], x));
#endif
        return kq_isum<GROUP>(u, x);
    }
    static inline float scale_unpacked(const unpacked* u, const act_q8K* x) { return u->d * x->d; }
    static inline float extra_unpacked(const unpacked* u, const act_q8K* x) { return kq_extra(u, x); }
};
#else
template <int GROUP, int OFFSET_SHIFT = -1>
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

struct fmt_q6_K : kq_unpacking<16, 5> {
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

struct fmt_q5_K : kq_unpacking<32> {
    typedef block_q5_K block;
    typedef act_q8K act;
    typedef acc accum;
    enum { values = QK_K };
    static inline auto isum(const block* w, const act* x) { return q5_K_isum(w, x); }
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
    static inline float extra(const block* w, const act* x) {
        int sc[8], m[8];
        q4_K_scales(w->scales, sc, m);
        return -(f16_to_f32(w->dmin) * x->d * (float)q4_K_min_sum(x, m));
    }
#if defined(KQ_UNPACKS)
    static inline void unpack(const block* w, kq_unpacked* u) { q5_K_unpack(w, u); }
#endif
};

struct fmt_q2_K : kq_unpacking<16> {
    typedef block_q2_K block;
    typedef act_q8K act;
    typedef acc accum;
    enum { values = QK_K };
    static inline auto isum(const block* w, const act* x) { return q2_K_isum(w, x); }
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
    static inline float extra(const block* w, const act* x) {
        return -(f16_to_f32(w->dmin) * x->d * (float)q2_K_min_sum(w, x));
    }
#if defined(KQ_UNPACKS)
    static inline void unpack(const block* w, kq_unpacked* u) { q2_K_unpack(w, u); }
#endif
};

struct fmt_q3_K : kq_unpacking<16, 2> {
    typedef block_q3_K block;
    typedef act_q8K act;
    typedef acc accum;
    enum { values = QK_K };
    static inline auto isum(const block* w, const act* x) { return q3_K_isum(w, x); }
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
#if defined(KQ_UNPACKS)
    static inline void unpack(const block* w, kq_unpacked* u) { q3_K_unpack(w, u); }
#endif
};

// IQ4_XS: no relaxed dot (signed values); every wasm build's prompts take the widened blocks.
#if defined(__wasm_simd128__)
struct iq4_xs_unpacking {
    typedef kq_widened unpacked;
    static inline v128_t isum_unpacked(const unpacked* u, const act_q8K* x) { return widened_isum(u, x); }
    static inline float scale_unpacked(const unpacked* u, const act_q8K* x) { return u->d * x->d; }
};
#else
struct iq4_xs_unpacking {};
#endif

struct fmt_iq4_xs : iq4_xs_unpacking {
    typedef block_iq4_xs block;
    typedef act_q8K act;
    typedef acc accum;
    enum { values = QK_K };
    static inline auto isum(const block* w, const act* x) { return iq4_xs_isum(w, x); }
    static inline float scale(const block* w, const act* x) { return f16_to_f32(w->d) * x->d; }
#if defined(__wasm_simd128__)
    static inline void unpack(const block* w, kq_widened* u) { iq4_xs_unpack(w, u); }
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

void matmul_q2_K(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q2_K>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_q3_K(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q3_K>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_q5_K(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_q5_K>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_iq4_xs(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                   int64_t y_stride, int64_t row_begin, int64_t row_end) {
    tile_matmul<fmt_iq4_xs>(w, rb, cols, act, n_tokens, y, y_stride, row_begin, row_end);
}
