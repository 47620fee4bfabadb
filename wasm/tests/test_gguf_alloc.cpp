// wl_gguf_alloc: a GGUF region above 2 GiB. In wasm, Emscripten's malloc refuses any request of
// 2 GiB or more, which stopped a 2.4 GB model (Phi-3-mini Q4_K_M) before its first byte; the
// region must come in one piece, be writable to its last byte, leave malloc working, and be
// reused after wl_gguf_free. Natively this is plain malloc (the pages are never touched but two).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "check.h"

static const size_t LARGE = (size_t)2400 * 1000 * 1000 + 12345;  // > 2 GiB, an odd size

static void test_large_region() {
    uint8_t* p = wl_gguf_alloc(LARGE);
    CHECK(p != nullptr);
    if (!p) return;
    CHECK((uintptr_t)p % 16 == 0);
    p[0] = 1;
    p[LARGE - 1] = 2;
    // malloc still works afterwards and gives memory outside the region
    uint8_t* small = (uint8_t*)malloc(1 << 20);
    CHECK(small != nullptr);
    CHECK(small + (1 << 20) <= p || small >= p + LARGE);
    memset(small, 3, 1 << 20);
    CHECK(p[0] == 1 && p[LARGE - 1] == 2);
    free(small);
    wl_gguf_free(p);
    uint8_t* again = wl_gguf_alloc(LARGE - 100);
    CHECK(again != nullptr);
#if defined(__EMSCRIPTEN__)
    CHECK(again == p);  // sbrk cannot give memory back: the region is reused
    CHECK(wl_gguf_alloc(LARGE) == nullptr);  // one large region at a time, and no room for two
#endif
    wl_gguf_free(again);
}

static void test_small_region() {
    uint8_t* p = wl_gguf_alloc(1000);
    CHECK(p != nullptr);
    if (p) memset(p, 0, 1000);
    wl_gguf_free(p);
    CHECK(wl_gguf_alloc(0) == nullptr);
}

int main() {
    test_small_region();
    test_large_region();
    return check_report();
}
