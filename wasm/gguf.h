// gguf: a read-only view of a GGUF file (v2 or v3) whose bytes already lie in memory.
//
// Nothing is copied: keys, strings and tensor data point into the caller's region, which must
// outlive the view. gguf_open validates everything it later hands out (every length, count,
// shape and offset is checked against the region), so users may trust the view.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <vector>

enum gguf_value_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
};

struct gguf_str {
    const char* data; // not NUL-terminated
    uint64_t len;
};

struct gguf_kv {
    gguf_str key;
    int type;              // gguf_value_type
    int array_type;        // element type when type == GGUF_TYPE_ARRAY
    uint64_t array_len;    // element count when type == GGUF_TYPE_ARRAY
    const uint8_t* value;  // scalar bytes, a string (u64 length + bytes), or the first array element
};

struct gguf_tensor {
    gguf_str name;
    int type;              // ggml_type
    int n_dims;            // 1..4
    int64_t ne[4];         // ne[0] = values per row (fastest), unused dims are 1
    const uint8_t* data;   // inside the region, aligned as the file says
    size_t nbytes;
};

struct gguf_file {
    const uint8_t* base;   // (size) the whole file
    size_t size;
    uint32_t version;
    uint32_t alignment;
    size_t data_offset;    // start of the tensor data section
    std::vector<gguf_kv> kvs;
    std::vector<gguf_tensor> tensors;
};

// Parses and validates. Returns WL_OK or a negative wl_status (message in status_message()).
int gguf_open(gguf_file* f, const uint8_t* data, size_t size);

const gguf_kv* gguf_find_kv(const gguf_file* f, const char* key);
const gguf_tensor* gguf_find_tensor(const gguf_file* f, const char* name);
bool gguf_str_eq(gguf_str s, const char* c);

// Typed getters: false when the key is missing or its type does not convert losslessly.
bool gguf_get_u32(const gguf_file* f, const char* key, uint32_t* out);   // any integer type in range
bool gguf_get_f32(const gguf_file* f, const char* key, float* out);      // f32 or f64
bool gguf_get_bool(const gguf_file* f, const char* key, bool* out);
bool gguf_get_str(const gguf_file* f, const char* key, gguf_str* out);

// Arrays (elements may be unaligned in the file: these read with memcpy).
const gguf_kv* gguf_get_array(const gguf_file* f, const char* key, int elem_type); // NULL if absent/mistyped
void gguf_array_strs(const gguf_kv* kv, std::vector<gguf_str>* out);
float gguf_array_f32(const gguf_kv* kv, uint64_t i);
int32_t gguf_array_i32(const gguf_kv* kv, uint64_t i);
