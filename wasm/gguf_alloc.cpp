// gguf_alloc: the one region that holds the GGUF file (api.h: wl_gguf_alloc).
//
// Emscripten's malloc (dlmalloc) refuses any request of 2 GiB or more (it keeps sizes below half
// the address space), so a 2.4 GB model could not be placed although 4 GiB of wasm memory is
// allowed. Such a region is taken from sbrk directly; dlmalloc copes with the break having moved
// (its next segment starts above). sbrk never gives memory back, so the region is kept for the
// next wl_gguf_alloc that fits in it (one such region at a time: one model per engine).
#include <stdlib.h>

#include "api.h"

#if defined(__EMSCRIPTEN__)
#include <unistd.h>

static const size_t MALLOC_LIMIT = (size_t)1 << 31;
static const size_t ALIGN = 64;

static struct {
    uint8_t* p;     // aligned start, NULL until the first large request
    size_t cap;
    bool in_use;
} g_large;

static uint8_t* large_alloc(size_t size) {
    if (g_large.in_use || size > SIZE_MAX - ALIGN) return nullptr;
    if (g_large.p && g_large.cap >= size) {
        g_large.in_use = true;
        return g_large.p;
    }
    void* raw = sbrk((intptr_t)(size + ALIGN));  // sbrk reads the increment as unsigned
    if (raw == (void*)-1) return nullptr;
    uint8_t* p = (uint8_t*)(((uintptr_t)raw + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
    g_large = {p, size, true};  // a smaller earlier region stays unused: sbrk cannot return it
    return p;
}
#endif

extern "C" {

uint8_t* wl_gguf_alloc(size_t size) {
    if (size == 0) return nullptr;
#if defined(__EMSCRIPTEN__)
    if (size >= MALLOC_LIMIT) return large_alloc(size);
#endif
    return (uint8_t*)malloc(size);
}

void wl_gguf_free(uint8_t* p) {
#if defined(__EMSCRIPTEN__)
    if (p && p == g_large.p) {
        g_large.in_use = false;
        return;
    }
#endif
    free(p);
}

}  // extern "C"
