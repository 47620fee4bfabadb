// Streaming Brotli and SHA-256 fed in random chunkings: the result must equal one-shot decoding
// (Google's decoder given everything in one call) and a one-shot hash of the same bytes.
//
// Input: a count of chunk lengths (first byte, mod 16), those lengths (a byte each), then the data. The data is hashed as it is, and
// decoded as a Brotli stream (mostly corrupt, which must fail the same way streamed and one-shot).
#include <string.h>

#include <brotli/decode.h>

#include "brotli_stream.h"
#include "fuzz.h"
#include "sha256.h"
#include "status.h"

static const size_t OUT_CAP = 1 << 20;

// Chunk lengths from the input's first bytes: 0..255 each, reused cyclically (0 = an empty push,
// followed by a one-byte push so that the data always moves on).
static size_t chunk_next(const uint8_t* lens, size_t n_lens, size_t* k) {
    if (!n_lens) return 1 << 30;
    return lens[(*k)++ % n_lens];
}

static void check_sha256(const uint8_t* lens, size_t n_lens, const uint8_t* data, size_t size) {
    uint8_t one[32], streamed[32];
    wl_sha256* h = wl_sha256_init();
    wl_sha256_update(h, data, size);
    wl_sha256_final(h, one);
    h = wl_sha256_init();
    size_t k = 0;
    for (size_t at = 0; at < size;) {
        size_t n = chunk_next(lens, n_lens, &k);
        if (n == 0) wl_sha256_update(h, data + at, 0), n = 1;
        if (n > size - at) n = size - at;
        wl_sha256_update(h, data + at, n);
        at += n;
    }
    wl_sha256_final(h, streamed);
    FUZZ_CHECK(memcmp(one, streamed, 32) == 0);
}

// The reference: Google's decoder given all the input at once, in one call.
struct brotli_oneshot {
    BrotliDecoderResult result;
    size_t size;      // decoded bytes
    size_t left_in;   // input bytes after the end of the stream
};

static brotli_oneshot brotli_decode_once(const uint8_t* data, size_t size, uint8_t* out) {
    BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    FUZZ_CHECK(s != nullptr);
    size_t avail_in = size, avail_out = OUT_CAP;
    uint8_t* next_out = out;
    brotli_oneshot r;
    r.result = BrotliDecoderDecompressStream(s, &avail_in, &data, &avail_out, &next_out, nullptr);
    r.size = OUT_CAP - avail_out;
    r.left_in = avail_in;
    BrotliDecoderDestroyInstance(s);
    return r;
}

static void check_brotli(const uint8_t* lens, size_t n_lens, const uint8_t* data, size_t size) {
    static uint8_t one[OUT_CAP], streamed[OUT_CAP];
    brotli_oneshot ref = brotli_decode_once(data, size, one);

    wl_brotli* b = wl_brotli_init(streamed, OUT_CAP);
    FUZZ_CHECK(b != nullptr);
    int rc = 0;
    size_t k = 0, at = 0;
    while (at < size && rc >= 0) {  // pushes go on after the end: any byte then is an error
        size_t n = chunk_next(lens, n_lens, &k);
        if (n == 0 && (rc = wl_brotli_push(b, data + at, 0)) < 0) break;
        if (n == 0) n = 1;
        if (n > size - at) n = size - at;
        rc = wl_brotli_push(b, data + at, n);
        at += n;
    }
    size_t written = wl_brotli_written(b);
    FUZZ_CHECK(written <= OUT_CAP);
    // Whatever happened, the bytes both decoded are the same. (On corrupt data either may have
    // written more before the error: the decoder flushes its ring buffer at different points.)
    FUZZ_CHECK(memcmp(one, streamed, written < ref.size ? written : ref.size) == 0);
    switch (ref.result) {
    case BROTLI_DECODER_RESULT_SUCCESS:
        FUZZ_CHECK(written == ref.size);
        FUZZ_CHECK(ref.left_in == 0 ? rc == 1 : rc == WL_ERR_BROTLI);
        break;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
        FUZZ_CHECK(rc == 0);
        break;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        FUZZ_CHECK(rc == WL_ERR_BROTLI && written == OUT_CAP);
        break;
    default:
        FUZZ_CHECK(rc == WL_ERR_BROTLI);
    }
    wl_brotli_free(b);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_input in = {data, size};
    size_t n_lens = in.u8() % 16;
    if (n_lens > in.n) n_lens = in.n;
    const uint8_t* lens = in.p;
    in.p += n_lens, in.n -= n_lens;
    check_sha256(lens, n_lens, in.p, in.n);
    check_brotli(lens, n_lens, in.p, in.n);
    return 0;
}
