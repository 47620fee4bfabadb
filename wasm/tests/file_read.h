// file_read: a whole file's bytes (a model, test data, a fuzz input), for the engine's tests and fuzz
// targets alike; false when it cannot be read.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include <vector>

static inline bool file_read(const char* path, std::vector<uint8_t>* out) {
    FILE* fp = fopen(path, "rb");
    if (!fp) return false;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    out->resize(n > 0 ? (size_t)n : 0);
    bool ok = n >= 0 && fread(out->data(), 1, out->size(), fp) == out->size();
    fclose(fp);
    return ok;
}
