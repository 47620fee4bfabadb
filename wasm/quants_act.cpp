// quants_act: activations quantized to 8 bits so that the weight kernels can use integer
// dot products (llama.cpp's q8_0 / q8_1 / q8_K idea). Values stay in [-127, 127]: the
// SIMD tricks (sign flips, unsigned-by-signed multiplies) overflow at -128.
#include <math.h>

#include "quants_impl.h"

static inline float absmax(const float* x, int n) {
    float m = 0.0f;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

static inline int8_t quantize_one(float v, float id) {
    int q = (int)nearbyintf(v * id);
    q = q > 127 ? 127 : q < -127 ? -127 : q;
    return (int8_t)q;
}

void act_quantize_q8(const float* x, int64_t n, act_q8* out) {
    for (int64_t b = 0; b < n / QK; b++, x += QK) {
        const float d = absmax(x, QK) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int i = 0; i < QK; i++) {
            out[b].qs[i] = quantize_one(x[i], id);
            sum += out[b].qs[i];
        }
        out[b].d = d;
        out[b].s = d * (float)sum;
    }
}

void act_quantize_q8K(const float* x, int64_t n, act_q8K* out) {
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        const float d = absmax(x, QK_K) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int i = g * 16; i < g * 16 + 16; i++) {
                out[b].qs[i] = quantize_one(x[i], id);
                sum += out[b].qs[i];
            }
            out[b].bsums[g] = (int16_t)sum;
        }
        out[b].d = d;
    }
}
