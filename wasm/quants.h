// quants: ggml block formats kept quantized in memory, their dequantization, and the
// matrix kernels that multiply a quantized weight matrix by float activations.
//
// A weight matrix is `rows` rows of `cols` values; each row is `row_bytes(type, cols)` bytes of
// blocks, exactly as stored in the GGUF file. Activations are prepared once per matmul
// (`act_prepare`: quantized to 8 bits for the integer dot products, as llama.cpp does, or
// kept as float for F32/F16/BF16 weights) and then reused by every row.
#pragma once
#include <stddef.h>
#include <stdint.h>

// ggml type ids, as in the GGUF tensor table
enum ggml_type {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q8_1 = 9,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_Q8_K = 15,
    GGML_TYPE_IQ4_NL = 20,
    GGML_TYPE_IQ4_XS = 23,
    GGML_TYPE_BF16 = 30,
    GGML_TYPE_COUNT = 40,
};

// Block geometry of any ggml type (also the ones we cannot compute with, so that the GGUF
// reader can validate sizes of every tensor). Returns false for an unknown id.
bool type_block_info(int type, int* block_size, int* block_bytes);
const char* type_name(int type);          // "Q4_K", ... or "unknown"
bool type_supported(int type);            // has dequantize + kernels here
size_t row_bytes(int type, int64_t cols); // cols must be a multiple of the block size

// One row of `n` values of `type` to float.
void dequantize_row(int type, const void* src, float* dst, int64_t n);

// Activations x (n_tokens, cols) prepared for weights of type `wtype`.
size_t act_bytes(int wtype, int n_tokens, int64_t cols);
void act_prepare(int wtype, const float* x, int n_tokens, int64_t cols, void* act);

// y[t * y_stride + r] = dot(row r of w, token t of act) for r in [row_begin, row_end),
// t in [0, n_tokens). Called per block of rows (threads split rows; V8 tiers up small calls).
void matmul_rows(int wtype, const void* w, int64_t cols, const void* act, int n_tokens,
                 float* y, int64_t y_stride, int64_t row_begin, int64_t row_end);

// The instructions the matrix kernels were compiled for: "relaxed-simd", "simd128", "avx2" or
// "scalar" (the relaxed builds differ from the simd ones only in the kernel files).
const char* kernels_simd();

// Half-precision helpers shared with the rest of the engine.
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
