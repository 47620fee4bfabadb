// unicode: the little of Unicode the tokenizers need: UTF-8 decoding that never fails, the
// general category class of a code point (\p{L}, \p{N}, \p{M}, \p{P}, \p{S}) and white space (\s).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <string>

enum unicode_class {
    UNICODE_OTHER = 0,  // separators, controls, unassigned, ...
    UNICODE_LETTER,
    UNICODE_NUMBER,
    UNICODE_MARK,
    UNICODE_PUNCT,
    UNICODE_SYMBOL,
};

struct unicode_range {
    uint32_t first, last;
    unicode_class cls;
};

// Decodes the code point at s[*pos] and advances *pos. An invalid or truncated sequence yields
// UNICODE_INVALID and advances one byte, so arbitrary bytes still round-trip through the
// tokenizers (they are kept as bytes, never replaced).
static const uint32_t UNICODE_INVALID = 0xFFFFFFFF;
uint32_t utf8_next(const char* s, size_t len, size_t* pos);

void utf8_append(std::string* out, uint32_t cpt);

unicode_class unicode_classify(uint32_t cpt);
bool unicode_is_space(uint32_t cpt);
