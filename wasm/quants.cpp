// quants: the type table, dequantization to float, and the dispatch of activation
// preparation and matrix kernels to the per-family files (quants_legacy.cpp,
// quants_kquants.cpp, quants_float.cpp, quants_act.cpp).
#include "quants.h"

#include <math.h>

#include "quants_impl.h"

struct type_info { const char* name; int block_size; int block_bytes; };

// Every id ggml has given a layout (gguf-py's GGML_QUANT_SIZES); gaps are retired ids.
static const type_info k_types[GGML_TYPE_COUNT] = {
    /* 0*/ {"F32", 1, 4},         {"F16", 1, 2},           {"Q4_0", 32, 18},        {"Q4_1", 32, 20},
    /* 4*/ {nullptr, 0, 0},       {nullptr, 0, 0},         {"Q5_0", 32, 22},        {"Q5_1", 32, 24},
    /* 8*/ {"Q8_0", 32, 34},      {"Q8_1", 32, 40},        {"Q2_K", 256, 84},       {"Q3_K", 256, 110},
    /*12*/ {"Q4_K", 256, 144},    {"Q5_K", 256, 176},      {"Q6_K", 256, 210},      {"Q8_K", 256, 292},
    /*16*/ {"IQ2_XXS", 256, 66},  {"IQ2_XS", 256, 74},     {"IQ3_XXS", 256, 98},    {"IQ1_S", 256, 50},
    /*20*/ {"IQ4_NL", 32, 18},    {"IQ3_S", 256, 110},     {"IQ2_S", 256, 82},      {"IQ4_XS", 256, 136},
    /*24*/ {"I8", 1, 1},          {"I16", 1, 2},           {"I32", 1, 4},           {"I64", 1, 8},
    /*28*/ {"F64", 1, 8},         {"IQ1_M", 256, 56},      {"BF16", 1, 2},          {nullptr, 0, 0},
    /*32*/ {nullptr, 0, 0},       {nullptr, 0, 0},         {"TQ1_0", 256, 54},      {"TQ2_0", 256, 66},
    /*36*/ {nullptr, 0, 0},       {nullptr, 0, 0},         {nullptr, 0, 0},         {"MXFP4", 32, 17},
};

static const type_info* type_find(int type) {
    if (type < 0 || type >= GGML_TYPE_COUNT || !k_types[type].name) return nullptr;
    return &k_types[type];
}

bool type_block_info(int type, int* block_size, int* block_bytes) {
    const type_info* t = type_find(type);
    if (!t) return false;
    *block_size = t->block_size;
    *block_bytes = t->block_bytes;
    return true;
}

const char* type_name(int type) {
    const type_info* t = type_find(type);
    return t ? t->name : "unknown";
}

// Which prepared activations a weight type multiplies with: act_q8 (32 values, as llama.cpp's
// q8_0 / q8_1), act_q8K (256 values, as its q8_K), or neither (float weights: float activations).
static bool act_is_q8(int type) {
    switch (type) {
    case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: case GGML_TYPE_Q8_0:
    case GGML_TYPE_IQ4_NL:
        return true;
    default:
        return false;
    }
}

static bool act_is_q8K(int type) {
    switch (type) {
    case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
    case GGML_TYPE_IQ4_XS:
        return true;
    default:
        return false;
    }
}

bool type_supported(int type) {
    return type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16 || act_is_q8(type) ||
           act_is_q8K(type);
}

size_t row_bytes(int type, int64_t cols) {
    const type_info* t = type_find(type);
    if (!t) return 0;
    return (size_t)(cols / t->block_size) * (size_t)t->block_bytes;
}

float g_f16_table[1 << 16];
thread_local uint32_t g_touch_sink;  // where the decode tiles' touch-ahead loads go (quants_tile.h)

static const bool g_f16_table_ready = [] {
    for (uint32_t h = 0; h < (1u << 16); h++) g_f16_table[h] = f16_compute((uint16_t)h);
    return true;
}();

float fp16_to_fp32(uint16_t h) { return f16_compute(h); }
float bf16_to_fp32(uint16_t h) { return bf16_to_f32(h); }

// Round to nearest even, overflow to inf, NaN stays NaN (the FP16 library's method).
uint16_t fp32_to_fp16(float f) {
    float base = (fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
    const uint32_t w = f32_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = f32_from_bits((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = f32_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

// ---- dequantization: the same float operations, in the same order, as gguf-py ----

static void dequantize_q4_0(const block_q4_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK) {
        const float d = f16_to_f32(b[i].d);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * (float)((b[i].qs[j] & 0x0F) - 8);
            y[j + QK / 2] = d * (float)((b[i].qs[j] >> 4) - 8);
        }
    }
}

static void dequantize_q4_1(const block_q4_1* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK) {
        const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * (float)(b[i].qs[j] & 0x0F) + m;
            y[j + QK / 2] = d * (float)(b[i].qs[j] >> 4) + m;
        }
    }
}

static void dequantize_q5_0(const block_q5_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK) {
        const float d = f16_to_f32(b[i].d);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < QK / 2; j++) {
            const int lo = (b[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
            const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)(lo - 16);
            y[j + QK / 2] = d * (float)(hi - 16);
        }
    }
}

static void dequantize_q5_1(const block_q5_1* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK) {
        const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
        uint32_t qh;
        memcpy(&qh, b[i].qh, 4);
        for (int j = 0; j < QK / 2; j++) {
            const int lo = (b[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
            const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j] = d * (float)lo + m;
            y[j + QK / 2] = d * (float)hi + m;
        }
    }
}

static void dequantize_iq4_nl(const block_iq4_nl* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK) {
        const float d = f16_to_f32(b[i].d);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * (float)k_iq4nl_values[b[i].qs[j] & 0x0F];
            y[j + QK / 2] = d * (float)k_iq4nl_values[b[i].qs[j] >> 4];
        }
    }
}

static void dequantize_q8_0(const block_q8_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK) {
        const float d = f16_to_f32(b[i].d);
        for (int j = 0; j < QK; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

// Q2_K: 16 groups of 16; value v is bits 2s..2s+1 of qs[32h + l] (v = 128h + 32s + l), its
// group's scale and min the low and high nibbles of scales[v / 16].
static void dequantize_q2_K(const block_q2_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
        for (int v = 0; v < QK_K; v++) {
            const uint8_t sc = b[i].scales[v / 16];
            const float dl = d * (float)(sc & 0x0F), ml = dmin * (float)(sc >> 4);
            const int q = (b[i].qs[32 * (v / 128) + v % 32] >> (2 * ((v % 128) / 32))) & 3;
            y[v] = dl * (float)q - ml;
        }
    }
}

// Q3_K: as Q2_K's 2 bits, less 4 where bit v / 32 of hmask[v % 32] is clear; signed 6-bit scales.
static void dequantize_q3_K(const block_q3_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = f16_to_f32(b[i].d);
        for (int v = 0; v < QK_K; v++) {
            const float dl = d * (float)q3_K_scale(b[i].scales, v / 16);
            const int lo = (b[i].qs[32 * (v / 128) + v % 32] >> (2 * ((v % 128) / 32))) & 3;
            const int high = (b[i].hmask[v % 32] >> (v / 32)) & 1;
            y[v] = dl * (float)(lo - (high ? 0 : 4));
        }
    }
}

static void dequantize_q4_K(const block_q4_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int sc0, m0, sc1, m1;
            q4_K_scale_min(b[i].scales, j, &sc0, &m0);
            q4_K_scale_min(b[i].scales, j + 1, &sc1, &m1);
            const float d0 = d * (float)sc0, dm0 = dmin * (float)m0;
            const float d1 = d * (float)sc1, dm1 = dmin * (float)m1;
            for (int l = 0; l < 32; l++) *y++ = d0 * (float)(q[l] & 0x0F) - dm0;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] >> 4) - dm1;
        }
    }
}

// Q5_K: Q4_K's nibbles with a fifth bit, bit j of qh[l] for value 32j + l.
static void dequantize_q5_K(const block_q5_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int sc0, m0, sc1, m1;
            q4_K_scale_min(b[i].scales, j, &sc0, &m0);
            q4_K_scale_min(b[i].scales, j + 1, &sc1, &m1);
            const float d0 = d * (float)sc0, dm0 = dmin * (float)m0;
            const float d1 = d * (float)sc1, dm1 = dmin * (float)m1;
            for (int l = 0; l < 32; l++) *y++ = d0 * (float)((q[l] & 0x0F) | (((b[i].qh[l] >> j) & 1) << 4)) - dm0;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((q[l] >> 4) | (((b[i].qh[l] >> (j + 1)) & 1) << 4)) - dm1;
        }
    }
}

static void dequantize_iq4_xs(const block_iq4_xs* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = f16_to_f32(b[i].d);
        for (int ib = 0; ib < QK_K / 32; ib++, y += 32) {
            const float dl = d * (float)iq4_xs_scale(&b[i], ib);
            const uint8_t* q = b[i].qs + 16 * ib;
            for (int l = 0; l < 16; l++) {
                y[l] = dl * (float)k_iq4nl_values[q[l] & 0x0F];
                y[l + 16] = dl * (float)k_iq4nl_values[q[l] >> 4];
            }
        }
    }
}

static void dequantize_q6_K(const block_q6_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = f16_to_f32(b[i].d);
        for (int half = 0; half < 2; half++) {
            const uint8_t* ql = b[i].ql + 64 * half;
            const uint8_t* qh = b[i].qh + 32 * half;
            const int8_t* sc = b[i].scales + 8 * half;
            float* out = y + 128 * half;
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                out[l] = (d * (float)sc[is + 0]) * (float)q1;
                out[l + 32] = (d * (float)sc[is + 2]) * (float)q2;
                out[l + 64] = (d * (float)sc[is + 4]) * (float)q3;
                out[l + 96] = (d * (float)sc[is + 6]) * (float)q4;
            }
        }
    }
}

// Exact whichever way: F16C's instruction natively, four lanes of f16_compute in wasm, the table
// in the scalar build. Attention widens every f16 KV cache row it reads with this: one table
// lookup per value made it four times slower than on float rows.
static void dequantize_f16(const uint16_t* h, float* y, int64_t n) {
    int64_t i = 0;
#if defined(__wasm_simd128__)
    for (; i + 8 <= n; i += 8) {
        const v128_t v = wasm_v128_load(h + i);
        wasm_v128_store(y + i, f32_from_f16_bits_x4(wasm_u32x4_extend_low_u16x8(v)));
        wasm_v128_store(y + i + 4, f32_from_f16_bits_x4(wasm_u32x4_extend_high_u16x8(v)));
    }
#elif defined(__F16C__) && defined(__AVX__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(h + i))));
#endif
    for (; i < n; i++) y[i] = f16_to_f32(h[i]);
}

void dequantize_row(int type, const void* src, float* dst, int64_t n) {
    switch (type) {
    case GGML_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
    case GGML_TYPE_F16: dequantize_f16((const uint16_t*)src, dst, n); break;
    case GGML_TYPE_BF16: {
        const uint16_t* h = (const uint16_t*)src;
        for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(h[i]);
        break;
    }
    case GGML_TYPE_Q4_0: dequantize_q4_0((const block_q4_0*)src, dst, n / QK); break;
    case GGML_TYPE_Q4_1: dequantize_q4_1((const block_q4_1*)src, dst, n / QK); break;
    case GGML_TYPE_Q5_0: dequantize_q5_0((const block_q5_0*)src, dst, n / QK); break;
    case GGML_TYPE_Q5_1: dequantize_q5_1((const block_q5_1*)src, dst, n / QK); break;
    case GGML_TYPE_Q8_0: dequantize_q8_0((const block_q8_0*)src, dst, n / QK); break;
    case GGML_TYPE_IQ4_NL: dequantize_iq4_nl((const block_iq4_nl*)src, dst, n / QK); break;
    case GGML_TYPE_Q2_K: dequantize_q2_K((const block_q2_K*)src, dst, n / QK_K); break;
    case GGML_TYPE_Q3_K: dequantize_q3_K((const block_q3_K*)src, dst, n / QK_K); break;
    case GGML_TYPE_Q4_K: dequantize_q4_K((const block_q4_K*)src, dst, n / QK_K); break;
    case GGML_TYPE_Q5_K: dequantize_q5_K((const block_q5_K*)src, dst, n / QK_K); break;
    case GGML_TYPE_Q6_K: dequantize_q6_K((const block_q6_K*)src, dst, n / QK_K); break;
    case GGML_TYPE_IQ4_XS: dequantize_iq4_xs((const block_iq4_xs*)src, dst, n / QK_K); break;
    default: break;  // callers check type_supported first (the model loader does)
    }
}

// ---- activations ----

size_t act_bytes(int wtype, int n_tokens, int64_t cols) {
    if (act_is_q8(wtype)) return (size_t)n_tokens * (size_t)(cols / QK) * sizeof(act_q8);
    if (act_is_q8K(wtype)) return (size_t)n_tokens * (size_t)(cols / QK_K) * sizeof(act_q8K);
    return (size_t)n_tokens * (size_t)cols * sizeof(float);
}

void act_prepare(int wtype, const float* x, int n_tokens, int64_t cols, void* act) {
    for (int t = 0; t < n_tokens; t++) {
        const float* xt = x + (int64_t)t * cols;
        if (act_is_q8(wtype))
            act_quantize_q8(xt, cols, (act_q8*)act + (int64_t)t * (cols / QK));
        else if (act_is_q8K(wtype))
            act_quantize_q8K(xt, cols, (act_q8K*)act + (int64_t)t * (cols / QK_K));
        else
            memcpy((float*)act + (int64_t)t * cols, xt, (size_t)cols * sizeof(float));
    }
}

// ---- matrix kernels ----

static matmul_fn* matmul_find(int wtype) {
    switch (wtype) {
    case GGML_TYPE_F32: return matmul_f32;
    case GGML_TYPE_F16: return matmul_f16;
    case GGML_TYPE_BF16: return matmul_bf16;
    case GGML_TYPE_Q4_0: return matmul_q4_0;
    case GGML_TYPE_Q4_1: return matmul_q4_1;
    case GGML_TYPE_Q5_0: return matmul_q5_0;
    case GGML_TYPE_Q5_1: return matmul_q5_1;
    case GGML_TYPE_Q8_0: return matmul_q8_0;
    case GGML_TYPE_IQ4_NL: return matmul_iq4_nl;
    case GGML_TYPE_Q2_K: return matmul_q2_K;
    case GGML_TYPE_Q3_K: return matmul_q3_K;
    case GGML_TYPE_Q4_K: return matmul_q4_K;
    case GGML_TYPE_Q5_K: return matmul_q5_K;
    case GGML_TYPE_Q6_K: return matmul_q6_K;
    case GGML_TYPE_IQ4_XS: return matmul_iq4_xs;
    default: return nullptr;
    }
}

void matmul_rows(int wtype, const void* w, int64_t cols, const void* act, int n_tokens,
                 float* y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
    matmul_fn* fn = matmul_find(wtype);
    if (!fn) return;  // callers check type_supported first
    fn((const uint8_t*)w, row_bytes(wtype, cols), cols, act, n_tokens, y, y_stride, row_begin, row_end);
}
