// brotli_stream: streaming Brotli decode straight into a caller's region of engine memory.
//
// The worker pushes each network chunk of a shard as it arrives; decoded bytes land in place,
// so a model is never held twice (compressed and decoded) in full. Google's decoder does the work.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct wl_brotli wl_brotli;

#ifdef __cplusplus
extern "C" {
#endif

// Decodes into [dst, dst + dst_cap). NULL (and a message in wl_last_error) on failure.
wl_brotli* wl_brotli_init(uint8_t* dst, size_t dst_cap);
// Feeds n more compressed bytes: 0 = needs more input, 1 = the stream is complete,
// < 0 = WL_ERR_BROTLI (corrupt data, output larger than dst_cap, bytes after the end).
int wl_brotli_push(wl_brotli* b, const uint8_t* src, size_t n);
size_t wl_brotli_written(wl_brotli* b); // decoded bytes so far
void wl_brotli_free(wl_brotli* b);

#ifdef __cplusplus
}
#endif
