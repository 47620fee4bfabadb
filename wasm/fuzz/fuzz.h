// fuzz: what every libFuzzer target here shares. A broken property calls fuzz_fail, which prints
// why and aborts, so libFuzzer saves the input as a crash (sanitizer findings do that by themselves).
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <vector>

#include "../tests/file_read.h"

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "fuzz: property failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

// Takes bytes off the front of the input: parameters first, the rest is data.
struct fuzz_input {
    const uint8_t* p;
    size_t n;

    uint8_t u8() {
        if (!n) return 0;
        n--;
        return *p++;
    }
    uint32_t u32() { return (uint32_t)u8() | (uint32_t)u8() << 8 | (uint32_t)u8() << 16 | (uint32_t)u8() << 24; }
    float f32() {
        uint32_t bits = u32();
        float f;
        __builtin_memcpy(&f, &bits, 4);
        return f;
    }
};
