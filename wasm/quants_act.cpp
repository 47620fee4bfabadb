// quants_act: activations quantized to 8 bits so that the weight kernels can use integer
// dot products, rounded exactly as llama.cpp's CPU backend rounds them (x86 build, which made
// the reference runs): the same 8-bit values and the same scales give the same logits, to the
// last few float ulps. Values stay in [-127, 127]: the SIMD tricks (sign flips, unsigned-by-
// signed multiplies) overflow at -128.
#include <math.h>

#include "quants_impl.h"

// Round half to even: _mm256_round_ps(_MM_ROUND_NEAREST) in quantize_row_q8_0/q8_1 and
// nearest_int() in quantize_row_q8_K_ref both do.
static inline int8_t round_i8(float v) {
    const int q = (int)nearbyintf(v);
    return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

static inline float fp16_round(float f) { return fp16_to_fp32(fp32_to_fp16(f)); }

// quantize_row_q8_0 / q8_1: d = amax/127 stored as fp16, values x * (127/amax), and (q8_1) the
// sum of the values times the unrounded d, also stored as fp16.
void act_quantize_q8(const float* x, int64_t n, act_q8* out) {
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        float amax = 0.0f;
        for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(x[i]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < QK; i++) {
            out[b].qs[i] = round_i8(x[i] * id);
            sum += out[b].qs[i];
        }
        out[b].d = fp16_round(d);
        out[b].s = fp16_round(d * (float)sum);
    }
}

// quantize_row_q8_K_ref: the scale keeps the sign of the value of largest magnitude (which
// becomes -127) and stays a float.
void act_quantize_q8K(const float* x, int64_t n, act_q8K* out) {
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int i = 0; i < QK_K; i++)
            if (fabsf(x[i]) > amax) {
                amax = fabsf(x[i]);
                max = x[i];
            }
        const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int i = g * 16; i < g * 16 + 16; i++) {
                out[b].qs[i] = round_i8(iscale * x[i]);
                sum += out[b].qs[i];
            }
            out[b].bsums[g] = (int16_t)sum;
        }
        out[b].d = amax != 0.0f ? 1.0f / iscale : 0.0f;
    }
}
