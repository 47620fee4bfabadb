// kv_cache: how the KV cache stores its rows. F16 (the default, llama.cpp's) keeps exactly the
// values the engine has always used (K and V are rounded to fp16 before they are stored); Q8_0
// (llama.cpp's --cache-type-k/-v q8_0) keeps blocks of 32 int8 values with an fp16 scale, 34
// bytes per 32 values instead of 64, so that a long context of a big model fits in wasm32.
#pragma once
#include <stddef.h>
#include <stdint.h>

// The ggml type of a KV cache (GGML_TYPE_F16 or GGML_TYPE_Q8_0) from its name ("f16", "q8_0");
// -1 for anything else.
int kv_type_parse(const char* name);
const char* kv_type_name(int type);  // "f16", "q8_0" or "unknown"
bool kv_type_ok(int type, int head_dim);  // q8_0 needs whole blocks in each head
size_t kv_row_bytes(int type, int64_t n);  // bytes of n values

// n floats into a cache row of `type` (dst holds kv_row_bytes(type, n)). Scalar code on purpose:
// every build must store the same bytes.
void kv_row_store(int type, const float* src, void* dst, int64_t n);
// The values of one head: `head_dim` floats starting at value `first` of a stored row.
void kv_head_load(int type, const void* row, int64_t first, float* dst, int head_dim);
