// gguf: parse and validate a GGUF file in place (see gguf.h).
//
// Reading order: a bounds-checked cursor, then values (scalars, strings, arrays), then the
// header, metadata and tensor table, then the data section and the tensors' places in it.
#include "gguf.h"

#include <string.h>

#include "quants.h"
#include "status.h"

static const uint64_t MAX_DIMS = 4;
static const uint64_t MAX_NAME_LEN = 1 << 16;

// ---------------------------------------------------------------------------------------------
// cursor: every read checks that the bytes are there; a failed read latches `ok = false`.

struct cursor {
    const uint8_t* base;
    size_t size;
    size_t pos;
    bool ok;
};

static bool cursor_take(cursor* c, size_t n, const uint8_t** out) {
    if (!c->ok || n > c->size - c->pos) {
        c->ok = false;
        return false;
    }
    *out = c->base + c->pos;
    c->pos += n;
    return true;
}

static uint64_t cursor_u64(cursor* c) {
    const uint8_t* p;
    uint64_t v = 0;
    if (cursor_take(c, 8, &p)) memcpy(&v, p, 8);
    return v;
}

static uint32_t cursor_u32(cursor* c) {
    const uint8_t* p;
    uint32_t v = 0;
    if (cursor_take(c, 4, &p)) memcpy(&v, p, 4);
    return v;
}

static bool cursor_str(cursor* c, gguf_str* s) {
    uint64_t len = cursor_u64(c);
    const uint8_t* p;
    if (!c->ok || len > c->size - c->pos) return c->ok = false;
    cursor_take(c, (size_t)len, &p);
    s->data = (const char*)p;
    s->len = len;
    return true;
}

// ---------------------------------------------------------------------------------------------
// values

static size_t value_size(int type) {
    switch (type) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
        case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
        case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
        case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
        default: return 0;  // strings and arrays have no fixed size
    }
}

static int value_skip(cursor* c, int type, const char* key, int depth);

static int array_skip(cursor* c, int elem_type, uint64_t n, const char* key, int depth) {
    size_t elem = value_size(elem_type);
    if (elem) {
        const uint8_t* p;
        if (n > (c->size - c->pos) / elem || !cursor_take(c, (size_t)(n * elem), &p))
            return status_fail(WL_ERR_TRUNCATED, "array '%s' of %llu values runs past the end of the file",
                               key, (unsigned long long)n);
        return WL_OK;
    }
    // Variable-size elements take at least 8 bytes each: reject absurd counts before looping.
    if (n > (c->size - c->pos) / 8)
        return status_fail(WL_ERR_TRUNCATED, "array '%s' claims %llu values, more than the file holds",
                           key, (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        int rc = value_skip(c, elem_type, key, depth + 1);
        if (rc != WL_OK) return rc;
    }
    return WL_OK;
}

static int value_skip(cursor* c, int type, const char* key, int depth) {
    if (type == GGUF_TYPE_STRING) {
        gguf_str s;
        if (!cursor_str(c, &s)) return status_fail(WL_ERR_TRUNCATED, "string value of '%s' is truncated", key);
        return WL_OK;
    }
    if (type == GGUF_TYPE_ARRAY) {
        if (depth > 2) return status_fail(WL_ERR_TYPE, "arrays of '%s' are nested too deeply", key);
        int elem_type = (int)cursor_u32(c);
        uint64_t n = cursor_u64(c);
        if (!c->ok) return status_fail(WL_ERR_TRUNCATED, "array header of '%s' is truncated", key);
        if (elem_type < 0 || elem_type > GGUF_TYPE_FLOAT64)
            return status_fail(WL_ERR_TYPE, "array '%s' has unknown element type %d", key, elem_type);
        return array_skip(c, elem_type, n, key, depth);
    }
    size_t n = value_size(type);
    const uint8_t* p;
    if (!n) return status_fail(WL_ERR_TYPE, "key '%s' has unknown value type %d", key, type);
    if (!cursor_take(c, n, &p)) return status_fail(WL_ERR_TRUNCATED, "value of '%s' is truncated", key);
    return WL_OK;
}

// ---------------------------------------------------------------------------------------------
// header, metadata, tensor table

static void key_copy(gguf_str s, char* out, size_t cap) {
    size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
    memcpy(out, s.data, n);
    out[n] = 0;
}

static int read_kv(cursor* c, gguf_kv* kv) {
    if (!cursor_str(c, &kv->key) || kv->key.len == 0 || kv->key.len > MAX_NAME_LEN)
        return status_fail(WL_ERR_TRUNCATED, "metadata key at offset %zu is truncated or invalid", c->pos);
    char key[128];
    key_copy(kv->key, key, sizeof(key));
    kv->type = (int)cursor_u32(c);
    if (!c->ok) return status_fail(WL_ERR_TRUNCATED, "type of key '%s' is truncated", key);
    kv->array_type = -1;
    kv->array_len = 0;
    if (kv->type == GGUF_TYPE_ARRAY) {
        kv->array_type = (int)cursor_u32(c);
        kv->array_len = cursor_u64(c);
        if (!c->ok) return status_fail(WL_ERR_TRUNCATED, "array header of '%s' is truncated", key);
        if (kv->array_type < 0 || kv->array_type > GGUF_TYPE_FLOAT64)
            return status_fail(WL_ERR_TYPE, "array '%s' has unknown element type %d", key, kv->array_type);
        kv->value = c->base + c->pos;
        return array_skip(c, kv->array_type, kv->array_len, key, 1);
    }
    kv->value = c->base + c->pos;
    return value_skip(c, kv->type, key, 0);
}

static int read_tensor_info(cursor* c, gguf_tensor* t, uint64_t* offset) {
    if (!cursor_str(c, &t->name) || t->name.len == 0 || t->name.len > MAX_NAME_LEN)
        return status_fail(WL_ERR_TRUNCATED, "tensor name at offset %zu is truncated or invalid", c->pos);
    char name[128];
    key_copy(t->name, name, sizeof(name));
    uint32_t n_dims = cursor_u32(c);
    if (!c->ok) return status_fail(WL_ERR_TRUNCATED, "tensor '%s' is truncated", name);
    if (n_dims == 0 || n_dims > MAX_DIMS)
        return status_fail(WL_ERR_SHAPE, "tensor '%s' has %u dimensions (1 to 4 allowed)", name, n_dims);
    t->n_dims = (int)n_dims;
    for (int d = 0; d < 4; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne = cursor_u64(c);
        if (ne == 0 || ne > ((uint64_t)1 << 40))
            return status_fail(WL_ERR_SHAPE, "tensor '%s' has dimension %u of size %llu", name, d,
                               (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    t->type = (int)cursor_u32(c);
    *offset = cursor_u64(c);
    if (!c->ok) return status_fail(WL_ERR_TRUNCATED, "tensor '%s' is truncated", name);

    int block_size, block_bytes;
    if (!type_block_info(t->type, &block_size, &block_bytes))
        return status_fail(WL_ERR_TYPE, "tensor '%s' has unknown type %d", name, t->type);
    if (t->ne[0] % block_size != 0)
        return status_fail(WL_ERR_SHAPE, "tensor '%s': row of %lld values is not a multiple of the %s block (%d)",
                           name, (long long)t->ne[0], type_name(t->type), block_size);
    // nbytes = rows * row bytes, each product checked against 2^62 to rule out overflow
    uint64_t limit = (uint64_t)1 << 62;
    uint64_t nbytes = (uint64_t)(t->ne[0] / block_size) * (uint64_t)block_bytes;
    for (int d = 1; d < 4; d++) {
        if (nbytes > limit / (uint64_t)t->ne[d])
            return status_fail(WL_ERR_SHAPE, "tensor '%s' is impossibly large", name);
        nbytes *= (uint64_t)t->ne[d];
    }
    t->nbytes = (size_t)nbytes;
    if ((uint64_t)t->nbytes != nbytes) return status_fail(WL_ERR_SHAPE, "tensor '%s' is too large", name);
    return WL_OK;
}

int gguf_open(gguf_file* f, const uint8_t* data, size_t size) {
    f->base = data;
    f->size = size;
    f->kvs.clear();
    f->tensors.clear();
    cursor c = {data, size, 0, true};

    const uint8_t* magic;
    if (!data || !cursor_take(&c, 4, &magic))
        return status_fail(WL_ERR_TRUNCATED, "file of %zu bytes is too short to be GGUF", size);
    if (memcmp(magic, "GGUF", 4) != 0) return status_fail(WL_ERR_BAD_MAGIC, "not a GGUF file (bad magic)");
    f->version = cursor_u32(&c);
    uint64_t n_tensors = cursor_u64(&c);
    uint64_t n_kv = cursor_u64(&c);
    if (!c.ok) return status_fail(WL_ERR_TRUNCATED, "GGUF header is truncated");
    if (f->version != 2 && f->version != 3)
        return status_fail(WL_ERR_VERSION, "GGUF version %u is not supported (2 and 3 are)", f->version);
    // every key takes >= 12 bytes and every tensor info >= 24: bound the counts by the file size
    if (n_kv > size / 12 || n_tensors > size / 24)
        return status_fail(WL_ERR_TRUNCATED,
                           "the file is truncated or corrupt: its header claims %llu keys and %llu tensors, "
                           "more than its %zu bytes can hold",
                           (unsigned long long)n_kv, (unsigned long long)n_tensors, size);

    f->kvs.resize((size_t)n_kv);
    for (auto& kv : f->kvs) {
        int rc = read_kv(&c, &kv);
        if (rc != WL_OK) return rc;
    }
    std::vector<uint64_t> offsets((size_t)n_tensors);
    f->tensors.resize((size_t)n_tensors);
    for (size_t i = 0; i < f->tensors.size(); i++) {
        int rc = read_tensor_info(&c, &f->tensors[i], &offsets[i]);
        if (rc != WL_OK) return rc;
    }

    f->alignment = 32;
    if (const gguf_kv* kv = gguf_find_kv(f, "general.alignment")) {
        uint32_t a;
        if (!gguf_get_u32(f, "general.alignment", &a) || a == 0 || (a & (a - 1)) != 0 || a > 65536)
            return status_fail(WL_ERR_KEY, "general.alignment must be a power of two (type %d)", kv->type);
        f->alignment = a;
    }
    f->data_offset = (c.pos + f->alignment - 1) / f->alignment * f->alignment;
    if (f->data_offset > size && n_tensors > 0)
        return status_fail(WL_ERR_TRUNCATED, "file ends before its tensor data section");

    size_t data_size = size > f->data_offset ? size - f->data_offset : 0;
    for (size_t i = 0; i < f->tensors.size(); i++) {
        gguf_tensor* t = &f->tensors[i];
        char name[128];
        key_copy(t->name, name, sizeof(name));
        if (offsets[i] % f->alignment != 0)
            return status_fail(WL_ERR_TENSOR_BOUNDS, "tensor '%s' is not aligned to %u bytes", name, f->alignment);
        if (offsets[i] > data_size || t->nbytes > data_size - offsets[i])
            return status_fail(WL_ERR_TENSOR_BOUNDS,
                               "tensor '%s' (%zu bytes at %llu) lies outside the data section (%zu bytes): "
                               "the file is truncated or corrupt",
                               name, t->nbytes, (unsigned long long)offsets[i], data_size);
        t->data = data + f->data_offset + offsets[i];
    }
    return WL_OK;
}

// ---------------------------------------------------------------------------------------------
// look-ups

bool gguf_str_eq(gguf_str s, const char* c) { return strlen(c) == s.len && memcmp(s.data, c, s.len) == 0; }

const gguf_kv* gguf_find_kv(const gguf_file* f, const char* key) {
    for (const auto& kv : f->kvs)
        if (gguf_str_eq(kv.key, key)) return &kv;
    return nullptr;
}

const gguf_tensor* gguf_find_tensor(const gguf_file* f, const char* name) {
    for (const auto& t : f->tensors)
        if (gguf_str_eq(t.name, name)) return &t;
    return nullptr;
}

template <typename T>
static T load(const uint8_t* p) {
    T v;
    memcpy(&v, p, sizeof(T));
    return v;
}

static bool integer_of(int type, const uint8_t* p, int64_t* out) {
    switch (type) {
        case GGUF_TYPE_UINT8: *out = load<uint8_t>(p); return true;
        case GGUF_TYPE_INT8: *out = load<int8_t>(p); return true;
        case GGUF_TYPE_UINT16: *out = load<uint16_t>(p); return true;
        case GGUF_TYPE_INT16: *out = load<int16_t>(p); return true;
        case GGUF_TYPE_UINT32: *out = load<uint32_t>(p); return true;
        case GGUF_TYPE_INT32: *out = load<int32_t>(p); return true;
        case GGUF_TYPE_INT64: *out = load<int64_t>(p); return true;
        case GGUF_TYPE_UINT64: {
            uint64_t v = load<uint64_t>(p);
            if (v > (uint64_t)INT64_MAX) return false;
            *out = (int64_t)v;
            return true;
        }
        default: return false;
    }
}

bool gguf_get_u32(const gguf_file* f, const char* key, uint32_t* out) {
    const gguf_kv* kv = gguf_find_kv(f, key);
    int64_t v;
    if (!kv || !integer_of(kv->type, kv->value, &v) || v < 0 || v > (int64_t)UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

bool gguf_get_f32(const gguf_file* f, const char* key, float* out) {
    const gguf_kv* kv = gguf_find_kv(f, key);
    if (!kv) return false;
    if (kv->type == GGUF_TYPE_FLOAT32) *out = load<float>(kv->value);
    else if (kv->type == GGUF_TYPE_FLOAT64) *out = (float)load<double>(kv->value);
    else return false;
    return true;
}

bool gguf_get_bool(const gguf_file* f, const char* key, bool* out) {
    const gguf_kv* kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_BOOL) return false;
    *out = kv->value[0] != 0;
    return true;
}

bool gguf_get_str(const gguf_file* f, const char* key, gguf_str* out) {
    const gguf_kv* kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_STRING) return false;
    out->len = load<uint64_t>(kv->value);
    out->data = (const char*)kv->value + 8;
    return true;
}

const gguf_kv* gguf_get_array(const gguf_file* f, const char* key, int elem_type) {
    const gguf_kv* kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_ARRAY || kv->array_type != elem_type) return nullptr;
    return kv;
}

void gguf_array_strs(const gguf_kv* kv, std::vector<gguf_str>* out) {
    out->resize((size_t)kv->array_len);
    const uint8_t* p = kv->value;  // validated by gguf_open: every string lies inside the file
    for (auto& s : *out) {
        s.len = load<uint64_t>(p);
        s.data = (const char*)p + 8;
        p += 8 + s.len;
    }
}

float gguf_array_f32(const gguf_kv* kv, uint64_t i) { return load<float>(kv->value + 4 * i); }

int32_t gguf_array_i32(const gguf_kv* kv, uint64_t i) { return load<int32_t>(kv->value + 4 * i); }
