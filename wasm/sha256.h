// sha256: streaming SHA-256 (FIPS 180-4), to check shards against the manifest inside wasm
// while they arrive, without a second pass over the bytes in JavaScript.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct wl_sha256 wl_sha256;

#ifdef __cplusplus
extern "C" {
#endif

wl_sha256* wl_sha256_init(void); // NULL (and a message in wl_last_error) when out of memory
void wl_sha256_update(wl_sha256* h, const uint8_t* data, size_t n);
void wl_sha256_final(wl_sha256* h, uint8_t out[32]); // writes the digest and frees h

#ifdef __cplusplus
}
#endif
