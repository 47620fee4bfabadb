// Streaming Brotli decode and SHA-256: known vectors (made with Python's brotli and hashlib),
// every way of splitting the input, and every kind of bad stream.
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "brotli_stream.h"
#include "sha256.h"
#include "status.h"
#include "check.h"


typedef std::vector<uint8_t> bytes;

static bytes from_hex(const char* hex) {
    bytes out;
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
        char pair[3] = {hex[i], hex[i + 1], 0};
        out.push_back((uint8_t)strtoul(pair, nullptr, 16));
    }
    return out;
}

static std::string to_hex(const uint8_t* p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; i++) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

// "The quick brown fox jumps over the lazy dog. " x 20, Brotli quality 11
static const char* FOX_BR =
    "1b8303882c0e78d3d0955d9710bb172ba9cad092cc8cad415ce6f236c8199e9e0a7b830d387048206f24be41a7"
    "15ce1c1e27aa2938c289b84f8301";
// bytes(range(256)) x 4096 (1 MiB), Brotli quality 11: back-references span many pushes
static const char* RAMP_BR =
    "5bffff8ffee2c08e958135a47ae0a861e3d60ec4c0b6ed4d56ebe0bc90fb4e71705ec979c441a8708c90f7ca32"
    "e4d1440a62824d1cbbf77774ed1f00449850c68554da58e7434cb9d4d6c75cfbdcf70110821114c30992a21996"
    "e30551921555d30dd3b21dd7f383308a9334cb8bb2aa9bb6eb87719a9775db8ff3ba9ff7fbfd01042328861324"
    "45332cc70ba2242baaa61ba6653baee7076114276996176555376dd70fe3342febb61fe7753feff7038830a18c"
    "0ba9b4b1ce076114276996176555376dd70fe3342febb61fe7753feff78358d43cb27af63e0a";

static std::string fox_text(void) {
    std::string s;
    for (int i = 0; i < 20; i++) s += "The quick brown fox jumps over the lazy dog. ";
    return s;
}

// Decodes `enc` into a region of `cap` bytes, pushing `piece` bytes at a time.
// Returns the last push status; `out` holds what was written.
static int brotli_decode(const bytes& enc, size_t cap, size_t piece, bytes* out) {
    out->assign(cap, 0);
    wl_brotli* b = wl_brotli_init(out->data(), cap);
    if (!b) return -1000;
    int r = 0;
    for (size_t at = 0; at < enc.size() && r == 0; at += piece) {
        size_t n = enc.size() - at < piece ? enc.size() - at : piece;
        r = wl_brotli_push(b, enc.data() + at, n);
    }
    out->resize(wl_brotli_written(b));
    wl_brotli_free(b);
    return r;
}

static void test_brotli_known(void) {
    std::string fox = fox_text();
    bytes enc = from_hex(FOX_BR), out;
    for (size_t piece : {(size_t)1, (size_t)3, (size_t)7, enc.size()}) {
        CHECK(brotli_decode(enc, fox.size(), piece, &out) == 1); // exact fit
        CHECK(std::string(out.begin(), out.end()) == fox);
        CHECK(brotli_decode(enc, fox.size() + 100, piece, &out) == 1); // room to spare
        CHECK(out.size() == fox.size());
    }
    bytes ramp = from_hex(RAMP_BR);
    for (size_t piece : {(size_t)1, (size_t)5, ramp.size()}) {
        CHECK(brotli_decode(ramp, 1 << 20, piece, &out) == 1);
        bool same = out.size() == (1u << 20);
        for (size_t i = 0; same && i < out.size(); i++) same = out[i] == (uint8_t)i;
        CHECK(same);
    }
    CHECK(brotli_decode(from_hex("3b"), 0, 1, &out) == 1); // the empty stream
    CHECK(out.empty());
}

static void test_brotli_errors(void) {
    bytes enc = from_hex(FOX_BR), out;
    size_t n = fox_text().size();
    CHECK(brotli_decode(enc, n - 1, 4, &out) == WL_ERR_BROTLI); // destination too small
    CHECK(strstr(status_message(), "larger than the destination") != nullptr);

    bytes truncated(enc.begin(), enc.end() - 5);
    CHECK(brotli_decode(truncated, n, 4, &out) == 0); // still waiting for input

    bytes trailing = enc;
    trailing.push_back(0);
    CHECK(brotli_decode(trailing, n, trailing.size(), &out) == WL_ERR_BROTLI);

    bytes garbage = from_hex("ffffffffffffffffffffffff");
    CHECK(brotli_decode(garbage, n, 3, &out) == WL_ERR_BROTLI);

    // Once complete, more data is an error; once failed, every push repeats the error.
    bytes dst(n);
    wl_brotli* b = wl_brotli_init(dst.data(), n);
    CHECK(wl_brotli_push(b, enc.data(), enc.size()) == 1);
    CHECK(wl_brotli_push(b, nullptr, 0) == 1);
    CHECK(wl_brotli_push(b, enc.data(), 1) == WL_ERR_BROTLI);
    CHECK(wl_brotli_push(b, nullptr, 0) == WL_ERR_BROTLI);
    wl_brotli_free(b);

    CHECK(wl_brotli_init(nullptr, 10) == nullptr);
    CHECK(status_code() == WL_ERR_ARG);
    CHECK(wl_brotli_push(nullptr, enc.data(), 1) == WL_ERR_ARG);
    wl_brotli_free(nullptr);
}

static std::string sha256_hex(const uint8_t* data, size_t n, size_t piece) {
    wl_sha256* h = wl_sha256_init();
    for (size_t at = 0; at < n; at += piece) wl_sha256_update(h, data + at, n - at < piece ? n - at : piece);
    uint8_t digest[32];
    wl_sha256_final(h, digest);
    return to_hex(digest, 32);
}

static void test_sha256(void) {
    // FIPS 180-2 examples
    const char* abc = "abc";
    CHECK(sha256_hex((const uint8_t*)abc, 3, 3) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char* two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(sha256_hex((const uint8_t*)two_blocks, 56, 56) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    bytes million_a(1000000, 'a');
    for (size_t piece : {(size_t)1000000, (size_t)1, (size_t)63, (size_t)4097})
        CHECK(sha256_hex(million_a.data(), million_a.size(), piece) ==
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

    // Lengths around the padding boundaries: data[i] = 7i mod 251, digests from hashlib.
    struct { size_t n; const char* hex; } cases[] = {
        {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
        {55, "8af594de0e003fdee5c8bb088216c824349b4137070f559574f4a4bddd27b714"},
        {56, "db81bc2bfd43620591df192139062da77d4c376f1888ea3d2190bd07c8d901f9"},
        {63, "bd535b38bf0d0d1a09d370b7e34b2696cea3767801a45d5611a4aaa6954e8527"},
        {64, "292be91abe8c0909fe3d26575af5755eee74d23816dc68c3ba41765136967654"},
        {65, "ba65aedf7884642499a59ae124894611d986cf429e69f569488048af3a99e25a"},
        {127, "770cba7b80c7615a327db5812ccd3f80895d801b587448fcd0b2c1a10f5c88a3"},
        {128, "cb5311e1d7aa8e11d6af7081f3ffc3e4efa008c7483a1a791fe170bf37546ba7"},
        {1000, "59425e4412e296fc74736673ce067027f384203f59c0d2c3e6be7b13347b3ffc"},
    };
    for (const auto& c : cases) {
        bytes data(c.n);
        for (size_t i = 0; i < c.n; i++) data[i] = (uint8_t)(i * 7 % 251);
        for (size_t piece : {(size_t)1, (size_t)13, (size_t)64, (size_t)1000})
            CHECK(sha256_hex(data.data(), c.n, piece) == c.hex);
    }
}

int main(void) {
    test_brotli_known();
    test_brotli_errors();
    test_sha256();
    return check_report();
}
