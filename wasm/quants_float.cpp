// quants_float: F32 / F16 / BF16 weights against float activations. Half-precision rows are
// widened a chunk at a time into a small buffer that stays in L1, then every token's dot
// product runs on floats (vec_dot). These types hold only small tensors in the models we
// ship, so simplicity wins over a dedicated integer path.
#include "ops.h"
#include "quants_impl.h"

static const int64_t CHUNK = 512;

void matmul_f32(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                int64_t y_stride, int64_t row_begin, int64_t row_end) {
    const float* x = (const float*)act;
    for (int64_t r = row_begin; r < row_end; r++) {
        const float* wr = (const float*)(w + r * rb);
        for (int t = 0; t < n_tokens; t++) {
            double sum = 0.0;  // rows longer than an int are possible in principle: dot in chunks
            for (int64_t c = 0; c < cols; c += CHUNK) {
                const int n = (int)(cols - c < CHUNK ? cols - c : CHUNK);
                sum += vec_dot(wr + c, x + t * cols + c, n);
            }
            y[t * y_stride + r] = (float)sum;
        }
    }
}

static void matmul_half(int type, const uint8_t* w, size_t rb, int64_t cols, const float* x, int n_tokens,
                        float* y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
    float buf[CHUNK];
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint16_t* wr = (const uint16_t*)(w + r * rb);
        for (int t = 0; t < n_tokens; t++) y[t * y_stride + r] = 0.0f;
        for (int64_t c = 0; c < cols; c += CHUNK) {
            const int n = (int)(cols - c < CHUNK ? cols - c : CHUNK);
            dequantize_row(type, wr + c, buf, n);
            for (int t = 0; t < n_tokens; t++) y[t * y_stride + r] += vec_dot(buf, x + t * cols + c, n);
        }
    }
}

void matmul_f16(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                int64_t y_stride, int64_t row_begin, int64_t row_end) {
    matmul_half(GGML_TYPE_F16, w, rb, cols, (const float*)act, n_tokens, y, y_stride, row_begin, row_end);
}

void matmul_bf16(const uint8_t* w, size_t rb, int64_t cols, const void* act, int n_tokens, float* y,
                 int64_t y_stride, int64_t row_begin, int64_t row_end) {
    matmul_half(GGML_TYPE_BF16, w, rb, cols, (const float*)act, n_tokens, y, y_stride, row_begin, row_end);
}
