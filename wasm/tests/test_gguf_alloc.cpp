// wl_gguf_alloc: a GGUF region above 2 GiB. In wasm, Emscripten's malloc refuses any request of
// 2 GiB or more, which stopped a 2.4 GB model (Phi-3-mini Q4_K_M) before its first byte; the
// region must come in one piece, be writable to its last byte, leave malloc working, and be
// reused after wl_gguf_free. Natively this is plain malloc (the pages are never touched but two).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

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

// The region filled from a file and written back out where it lies above 2 GiB (in wasm): the CLI
// reads a large GGUF up there and may write logits from there. Under Node.js, Emscripten 3.1.6's
// readv/writev took such pointers as negative and the bytes went elsewhere (wasm/js/node_rawfs.js
// mends them). One read() and one write() each, so that a broken call fails here instead of
// leaving stdio retrying it forever.
static void test_file_io_above_2gib() {
    uint8_t* p = wl_gguf_alloc(LARGE);
    CHECK(p != nullptr);
    if (!p) return;
    std::vector<uint8_t> pattern((size_t)1 << 20);
    for (size_t i = 0; i < pattern.size(); i++) pattern[i] = (uint8_t)(i * 131 + i / 4099);
    uint8_t* high = p + LARGE - pattern.size() - 7;
    char path[64];
    snprintf(path, sizeof(path), "build/gguf_alloc_io.%d.tmp", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, pattern.data(), pattern.size()) == (ssize_t)pattern.size());
    if (fd >= 0) close(fd);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read(fd, high, pattern.size()) == (ssize_t)pattern.size());
    if (fd >= 0) close(fd);
    CHECK(memcmp(high, pattern.data(), pattern.size()) == 0);
    high[0] ^= 0xff;  // written out from up there, then read back below
    pattern[0] ^= 0xff;
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, high, pattern.size()) == (ssize_t)pattern.size());
    if (fd >= 0) close(fd);
    std::vector<uint8_t> back;
    CHECK(file_read(path, &back) && back == pattern);
    remove(path);
    wl_gguf_free(p);
}

int main() {
    test_small_region();
    test_large_region();
    test_file_io_above_2gib();
    return check_report();
}
