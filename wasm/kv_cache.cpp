// kv_cache: storage of the KV cache rows in f16 or q8_0 (kv_cache.h).
#include "kv_cache.h"

#include <math.h>
#include <string.h>

#include "quants.h"

static const int Q8_BLOCK = 32;
static const int Q8_BLOCK_BYTES = 2 + Q8_BLOCK;  // fp16 scale, 32 int8

int kv_type_parse(const char* name) {
    if (!name) return -1;
    if (!strcmp(name, "f16")) return GGML_TYPE_F16;
    if (!strcmp(name, "q8_0")) return GGML_TYPE_Q8_0;
    return -1;
}

const char* kv_type_name(int type) {
    return type == GGML_TYPE_F16 ? "f16" : type == GGML_TYPE_Q8_0 ? "q8_0" : "unknown";
}

bool kv_type_ok(int type, int head_dim) {
    return type == GGML_TYPE_F16 || (type == GGML_TYPE_Q8_0 && head_dim % Q8_BLOCK == 0);
}

size_t kv_row_bytes(int type, int64_t n) {
    return type == GGML_TYPE_Q8_0 ? (size_t)(n / Q8_BLOCK) * Q8_BLOCK_BYTES : (size_t)n * 2;
}

// As llama.cpp's quantize_row_q8_0_ref: d = max|x| / 127 rounded to fp16, q = round(x / d)
// with the unrounded d (its reference quantizer does the same).
static void q8_0_store(const float* x, uint8_t* dst, int64_t n) {
    for (int64_t b = 0; b < n / Q8_BLOCK; b++, x += Q8_BLOCK, dst += Q8_BLOCK_BYTES) {
        float amax = 0.0f;
        for (int i = 0; i < Q8_BLOCK; i++) amax = fmaxf(amax, fabsf(x[i]));
        float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        uint16_t dh = fp32_to_fp16(d);
        memcpy(dst, &dh, 2);
        for (int i = 0; i < Q8_BLOCK; i++) dst[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    }
}

void kv_row_store(int type, const float* src, void* dst, int64_t n) {
    if (type == GGML_TYPE_Q8_0) {
        q8_0_store(src, (uint8_t*)dst, n);
        return;
    }
    uint16_t* h = (uint16_t*)dst;
    for (int64_t i = 0; i < n; i++) h[i] = fp32_to_fp16(src[i]);
}

void kv_head_load(int type, const void* row, int64_t first, float* dst, int head_dim) {
    const uint8_t* p = (const uint8_t*)row + kv_row_bytes(type, first);
    dequantize_row(type, p, dst, head_dim);  // exact: fp16 widening, or an fp16 scale times an int8
}
