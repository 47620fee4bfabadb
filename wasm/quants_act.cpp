// quants_act: activations quantized to 8 bits so that the weight kernels can use integer
// dot products, rounded exactly as llama.cpp's CPU backend rounds them (x86 build, which made
// the reference runs): the same 8-bit values and the same scales give the same logits, to the
// last few float ulps. Values stay in [-127, 127]: the SIMD tricks (sign flips, unsigned-by-
// signed multiplies) overflow at -128.
#include <math.h>

#include "quants_impl.h"

// Round half to even: _mm256_round_ps(_MM_ROUND_NEAREST) in quantize_row_q8_0/q8_1 and
// nearest_int() in quantize_row_q8_K_ref both do.
[[maybe_unused]] static inline int8_t round_i8(float v) {  // (wasm: quantize16 below)
    const int q = (int)nearbyintf(v);
    return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

static inline float fp16_round(float f) { return fp16_to_fp32(fp32_to_fp16(f)); }

// The largest |x[i]| of n (a multiple of 4), NaNs skipped as fmaxf skips them: in wasm four lanes
// at a time (pmax keeps the running value when the other is NaN), which max being exact makes the
// same number in every order.
static inline float abs_max(const float* x, int n) {
#if defined(__wasm_simd128__)
    v128_t m = wasm_f32x4_splat(0.0f);
    for (int i = 0; i < n; i += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + i)));
    m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
    m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(m, 0);
#else
    float amax = 0.0f;
    for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    return amax;
#endif
}

// 16 values times `scale`, rounded and clamped as round_i8 does, into q; returns their sum.
// In wasm four lanes at a time: f32x4.nearest rounds half to even like nearbyintf.
static inline int quantize16(const float* x, float scale, int8_t* q) {
#if defined(__wasm_simd128__)
    const v128_t s = wasm_f32x4_splat(scale), hi = wasm_i32x4_splat(127), lo = wasm_i32x4_splat(-127);
    v128_t v[4];
    for (int k = 0; k < 4; k++) {
        const v128_t r = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + 4 * k), s)));
        v[k] = wasm_i32x4_max(wasm_i32x4_min(r, hi), lo);
    }
    wasm_v128_store(q, wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(v[0], v[1]), wasm_i16x8_narrow_i32x4(v[2], v[3])));
    return isum_total(wasm_i32x4_add(wasm_i32x4_add(v[0], v[1]), wasm_i32x4_add(v[2], v[3])));
#else
    int sum = 0;
    for (int i = 0; i < 16; i++) {
        q[i] = round_i8(x[i] * scale);
        sum += q[i];
    }
    return sum;
#endif
}

// quantize_row_q8_0 / q8_1: d = amax/127 stored as fp16, values x * (127/amax), and (q8_1) the
// sum of the values times the unrounded d, also stored as fp16.
void act_quantize_q8(const float* x, int64_t n, act_q8* out) {
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        const float amax = abs_max(x, QK);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        const int sum = quantize16(x, id, out[b].qs) + quantize16(x + 16, id, out[b].qs + 16);
        out[b].d = fp16_round(d);
        out[b].s = fp16_round(d * (float)sum);
    }
}

// quantize_row_q8_K_ref: the scale keeps the sign of the value of largest magnitude (which
// becomes -127) and stays a float.
void act_quantize_q8K(const float* x, int64_t n, act_q8K* out) {
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        // max: the first value of the largest magnitude (its sign decides the scale's)
        const float amax = abs_max(x, QK_K);
        float max = 0.0f;
        if (amax != 0.0f)
            for (int i = 0; i < QK_K; i++)
                if (fabsf(x[i]) == amax) {
                    max = x[i];
                    break;
                }
        const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
        for (int g = 0; g < QK_K / 16; g++) out[b].bsums[g] = (int16_t)quantize16(x + 16 * g, iscale, out[b].qs + 16 * g);
        out[b].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
    }
}
