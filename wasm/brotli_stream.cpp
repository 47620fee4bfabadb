#include "brotli_stream.h"

#include <brotli/decode.h>

#include <new>

#include "status.h"

struct wl_brotli {
    BrotliDecoderState* decoder;
    uint8_t* dst;
    size_t cap;
    size_t written;
    int state; // 0 while decoding, 1 once complete, < 0 after an error
};

wl_brotli* wl_brotli_init(uint8_t* dst, size_t dst_cap) {
    if (!dst && dst_cap > 0) {
        status_fail(WL_ERR_ARG, "brotli: no destination for %zu bytes", dst_cap);
        return nullptr;
    }
    wl_brotli* b = new (std::nothrow) wl_brotli{};
    if (b) b->decoder = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (!b || !b->decoder) {
        delete b;
        status_fail(WL_ERR_NO_MEMORY, "brotli: out of memory for the decoder");
        return nullptr;
    }
    b->dst = dst;
    b->cap = dst_cap;
    return b;
}

static int brotli_fail(wl_brotli* b, const char* why) {
    b->state = status_fail(WL_ERR_BROTLI, "brotli: %s after %zu decoded bytes", why, b->written);
    return b->state;
}

int wl_brotli_push(wl_brotli* b, const uint8_t* src, size_t n) {
    if (!b) return status_fail(WL_ERR_ARG, "brotli: no decoder");
    if (b->state < 0) return b->state;
    if (b->state == 1) return n ? brotli_fail(b, "data after the end of the stream") : 1;
    size_t avail_in = n;
    size_t avail_out = b->cap - b->written;
    uint8_t* next_out = b->dst + b->written;
    BrotliDecoderResult r = BrotliDecoderDecompressStream(b->decoder, &avail_in, &src, &avail_out,
                                                          &next_out, nullptr);
    b->written = b->cap - avail_out;
    switch (r) {
    case BROTLI_DECODER_RESULT_SUCCESS:
        if (avail_in) return brotli_fail(b, "data after the end of the stream");
        b->state = 1;
        return 1;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
        return 0;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        return brotli_fail(b, "decoded data larger than the destination");
    default:
        return brotli_fail(b, BrotliDecoderErrorString(BrotliDecoderGetErrorCode(b->decoder)));
    }
}

size_t wl_brotli_written(wl_brotli* b) { return b ? b->written : 0; }

void wl_brotli_free(wl_brotli* b) {
    if (!b) return;
    BrotliDecoderDestroyInstance(b->decoder);
    delete b;
}
