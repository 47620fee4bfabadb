#include "unicode.h"

#include "unicode_ranges.h"

static bool utf8_is_continuation(const char* s, size_t len, size_t i) {
    return i < len && ((uint8_t)s[i] & 0xC0) == 0x80;
}

uint32_t utf8_next(const char* s, size_t len, size_t* pos) {
    size_t i = *pos;
    uint8_t c = (uint8_t)s[i];
    int n = 0;
    uint32_t cpt = 0;
    if (c < 0x80) {
        *pos = i + 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, cpt = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cpt = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, cpt = c & 0x07;
    } else {
        *pos = i + 1;
        return UNICODE_INVALID;
    }
    for (int k = 1; k < n; k++) {
        if (!utf8_is_continuation(s, len, i + k)) {
            *pos = i + 1;
            return UNICODE_INVALID;
        }
        cpt = (cpt << 6) | ((uint8_t)s[i + k] & 0x3F);
    }
    *pos = i + n;
    return cpt;
}

void utf8_append(std::string* out, uint32_t cpt) {
    if (cpt < 0x80) {
        out->push_back((char)cpt);
    } else if (cpt < 0x800) {
        out->push_back((char)(0xC0 | (cpt >> 6)));
        out->push_back((char)(0x80 | (cpt & 0x3F)));
    } else if (cpt < 0x10000) {
        out->push_back((char)(0xE0 | (cpt >> 12)));
        out->push_back((char)(0x80 | ((cpt >> 6) & 0x3F)));
        out->push_back((char)(0x80 | (cpt & 0x3F)));
    } else {
        out->push_back((char)(0xF0 | (cpt >> 18)));
        out->push_back((char)(0x80 | ((cpt >> 12) & 0x3F)));
        out->push_back((char)(0x80 | ((cpt >> 6) & 0x3F)));
        out->push_back((char)(0x80 | (cpt & 0x3F)));
    }
}

static unicode_class unicode_search(uint32_t cpt) {
    size_t lo = 0, hi = sizeof(UNICODE_RANGES) / sizeof(UNICODE_RANGES[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cpt < UNICODE_RANGES[mid].first) {
            hi = mid;
        } else if (cpt > UNICODE_RANGES[mid].last) {
            lo = mid + 1;
        } else {
            return UNICODE_RANGES[mid].cls;
        }
    }
    return UNICODE_OTHER;
}

unicode_class unicode_classify(uint32_t cpt) {
    // Latin-1 is most of the text: answer it from a table without the search.
    static unicode_class latin1[256];
    static bool ready = [] {
        for (uint32_t c = 0; c < 256; c++) latin1[c] = unicode_search(c);
        return true;
    }();
    (void)ready;
    return cpt < 256 ? latin1[cpt] : unicode_search(cpt);
}

// \s as llama.cpp's unicode tables define it (White_Space property).
bool unicode_is_space(uint32_t cpt) {
    switch (cpt) {
        case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
        case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
            return true;
        default:
            return cpt >= 0x2000 && cpt <= 0x200A;
    }
}
