// tokenizer_pre: the BPE pre-tokenizers, llama.cpp's regular expressions for each
// tokenizer.ggml.pre value, written out as small matchers over the engine's Unicode tables.
//
// llama.cpp applies a list of expressions in turn: each one cuts every piece left by the one
// before into its matches and the text between them (std::regex on a text where every non-ASCII
// code point stands for its category). Hand-written equivalents give the same pieces without a
// regex engine: a `match_*` function is one expression (the length of the match starting at a
// position, 0 for none), a `split_*` function cuts a whole piece where matching position by
// position would not do (GPT-2's and Llama 3's expressions, whose look-ahead and alternation
// order llama.cpp also writes out by hand). PRE_TOKENIZERS, at the end, is the one table.
#include <string.h>

#include "tokenizer_impl.h"
#include "unicode.h"

// ---- the text as code points with their classes ----

enum {
    CPT_LETTER = 1,
    CPT_NUMBER = 2,
    CPT_SPACE = 4,
    CPT_MARK = 8,
    CPT_PUNCT = 16,
    CPT_SYMBOL = 32,
    CPT_ANY = 64,  // set for every code point inside the piece; 0 means "outside"
};

struct pre_text {
    std::vector<uint32_t> cpt;     // code points (UNICODE_INVALID for a stray byte)
    std::vector<uint8_t> flags;    // CPT_* per code point
    std::vector<uint32_t> offset;  // byte offset of each code point, plus the end
};

static uint8_t cpt_flags(uint32_t cpt) {
    static const uint8_t CLASS_FLAGS[] = {0, CPT_LETTER, CPT_NUMBER, CPT_MARK, CPT_PUNCT, CPT_SYMBOL};
    // A stray byte is kept as text (never replaced); it counts as "other", like a symbol.
    if (cpt == UNICODE_INVALID) return CPT_ANY;
    return CPT_ANY | CLASS_FLAGS[unicode_classify(cpt)] | (unicode_is_space(cpt) ? CPT_SPACE : 0);
}

static void pre_text_decode(const char* s, size_t len, pre_text* x) {
    x->cpt.clear(), x->flags.clear(), x->offset.clear();
    for (size_t pos = 0; pos < len;) {
        x->offset.push_back((uint32_t)pos);
        uint32_t cpt = utf8_next(s, len, &pos);
        x->cpt.push_back(cpt);
        x->flags.push_back(cpt_flags(cpt));
    }
    x->offset.push_back((uint32_t)len);
}

// One piece [begin, end) of the text; positions outside it read as "nothing" (flags 0).
struct piece {
    const pre_text& x;
    size_t begin, end;
    uint32_t cpt(size_t i) const { return i >= begin && i < end ? x.cpt[i] : UNICODE_INVALID - 1; }
    uint8_t flags(size_t i) const { return i >= begin && i < end ? x.flags[i] : (uint8_t)0; }
    bool is(size_t i, uint8_t f) const { return (flags(i) & f) != 0; }
};

typedef std::vector<size_t> piece_ends;  // end of each piece, in code points

// ---- whole-piece splitters ----

// 's|'t|'re|'ve|'m|'ll|'d at pos: its length, or 0. Llama 3 and Qwen match it in any case.
static size_t contraction_len(const piece& p, size_t pos, bool any_case) {
    if (p.cpt(pos) != '\'' || pos + 1 >= p.end) return 0;
    // Only ASCII letters fold to these: no other code point lowercases to s, t, m, d, r, v, e, l.
    auto lower = [&](size_t i) { uint32_t c = p.cpt(i); return any_case && c >= 'A' && c <= 'Z' ? c + 32 : c; };
    uint32_t c1 = lower(pos + 1), c2 = pos + 2 < p.end ? lower(pos + 2) : 0;
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    return 0;
}

// GPT-2's  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as llama.cpp's unicode_regex_split_custom_gpt2.
static void split_gpt2(const piece& p, piece_ends* ends) {
    auto other = [](uint8_t f) { return (f & CPT_ANY) && !(f & (CPT_LETTER | CPT_NUMBER | CPT_SPACE)); };
    size_t pos = p.begin;
    while (pos < p.end) {
        uint32_t c = p.cpt(pos);
        if (size_t n = contraction_len(p, pos, false)) {
            ends->push_back(pos += n);
            continue;
        }
        uint8_t f = c == ' ' ? p.flags(pos + 1) : p.flags(pos);  // an optional leading space joins the run
        if (f & (CPT_LETTER | CPT_NUMBER)) {
            uint8_t cls = f & (CPT_LETTER | CPT_NUMBER);
            pos += c == ' ';
            while (p.is(pos, cls)) pos++;
            ends->push_back(pos);
            continue;
        }
        if (other(f)) {
            pos += c == ' ';
            while (other(p.flags(pos))) pos++;
            ends->push_back(pos);
            continue;
        }
        size_t n_space = 0;
        while (p.is(pos + n_space, CPT_SPACE)) n_space++;
        if (n_space > 1 && pos + n_space < p.end) {
            ends->push_back(pos += n_space - 1);  // \s+(?!\S): leave the last space to the next word
        } else if (n_space > 0) {
            ends->push_back(pos += n_space);
        } else {
            ends->push_back(++pos);
        }
    }
}

// Llama 3's  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
//            |\s*[\r\n]+|\s+(?!\S)|\s+
// and its variants: Qwen2 takes digits one at a time (\p{N}), Qwen 3.5 also counts marks as
// letters ([\p{L}\p{M}]+). As llama.cpp's unicode_regex_split_custom_llama3 / qwen2 / qwen35.
static void split_llama3_style(const piece& p, piece_ends* ends, size_t max_digits, bool marks_are_letters) {
    const uint8_t letter = CPT_LETTER | (marks_are_letters ? CPT_MARK : 0);
    auto newline = [](uint32_t c) { return c == '\r' || c == '\n'; };
    size_t pos = p.begin;
    while (pos < p.end) {
        uint32_t c = p.cpt(pos);
        uint8_t f = p.flags(pos);
        if (size_t n = contraction_len(p, pos, true)) {
            ends->push_back(pos += n);
            continue;
        }
        if (!newline(c) && !(f & CPT_NUMBER) && ((f & letter) || p.is(pos + 1, letter))) {
            pos++;
            while (p.is(pos, letter)) pos++;
            ends->push_back(pos);
            continue;
        }
        if (f & CPT_NUMBER) {
            size_t start = pos;
            while (p.is(pos, CPT_NUMBER) && pos - start < max_digits) pos++;
            ends->push_back(pos);
            continue;
        }
        uint8_t f2 = c == ' ' ? p.flags(pos + 1) : f;
        if (!(f2 & (CPT_SPACE | letter | CPT_NUMBER))) {
            pos += c == ' ';
            while (p.flags(pos) && !(p.flags(pos) & (CPT_SPACE | letter | CPT_NUMBER))) pos++;
            while (newline(p.cpt(pos))) pos++;
            ends->push_back(pos);
            continue;
        }
        size_t n_space = 0, last_newline_end = 0;
        for (; p.is(pos + n_space, CPT_SPACE); n_space++) {
            if (newline(p.cpt(pos + n_space))) last_newline_end = pos + n_space + 1;
        }
        if (last_newline_end) {
            ends->push_back(pos = last_newline_end);  // \s*[\r\n]+
        } else if (n_space > 1 && pos + n_space < p.end) {
            ends->push_back(pos += n_space - 1);  // \s+(?!\S)
        } else if (n_space > 0) {
            ends->push_back(pos += n_space);
        } else {
            ends->push_back(++pos);
        }
    }
}

static void split_llama3(const piece& p, piece_ends* ends) { split_llama3_style(p, ends, 3, false); }
static void split_qwen2(const piece& p, piece_ends* ends) { split_llama3_style(p, ends, 1, false); }
static void split_qwen35(const piece& p, piece_ends* ends) { split_llama3_style(p, ends, 1, true); }

// [^\n]+|[\n]+  (Gemma 4: spaces are already U+2581, only newlines cut)
static void split_newline_runs(const piece& p, piece_ends* ends) {
    for (size_t pos = p.begin; pos < p.end;) {
        bool newline = p.cpt(pos) == '\n';
        while (pos < p.end && (p.cpt(pos) == '\n') == newline) pos++;
        ends->push_back(pos);
    }
}

// \s+$ : the white space that ends the piece, cut off.
static void split_trailing_space(const piece& p, piece_ends* ends) {
    size_t start = p.end;
    while (start > p.begin && p.is(start - 1, CPT_SPACE)) start--;
    if (start > p.begin) ends->push_back(start);
    ends->push_back(p.end);
}

// ---- matchers: one expression each, the length of the match at pos (0: none) ----

struct cpt_range {
    uint32_t first, last;
};

// An explicit character class of an expression without \p{..}: llama.cpp matches it on the code
// points with every non-ASCII space replaced by \v, so spaces are never in such a class.
template <size_t N>
static bool in_class(const piece& p, size_t i, const cpt_range (&ranges)[N]) {
    if (!p.flags(i) || p.is(i, CPT_SPACE)) return false;
    uint32_t c = p.cpt(i);
    for (const cpt_range& r : ranges) {
        if (c >= r.first && c <= r.last) return true;
    }
    return false;
}

// \s?X+ where X is a test of one position.
template <typename F>
static size_t space_then_run(const piece& p, size_t pos, F is_x) {
    size_t start = pos;
    if (p.is(pos, CPT_SPACE) && is_x(pos + 1)) pos++;  // \s? is greedy, but only with an X after it
    while (is_x(pos)) pos++;
    return pos - start;
}

template <typename F>
static size_t run(const piece& p, size_t pos, F is_x) {
    size_t start = pos;
    while (is_x(pos)) pos++;
    return pos - start;
}

static size_t match_number(const piece& p, size_t pos) { return p.is(pos, CPT_NUMBER) ? 1 : 0; }  // \p{N}

static size_t match_numbers(const piece& p, size_t pos) {  // \p{N}+
    return run(p, pos, [&](size_t i) { return p.is(i, CPT_NUMBER); });
}

static size_t match_three_digits(const piece& p, size_t pos) {  // [0-9][0-9][0-9]
    for (size_t i = pos; i < pos + 3; i++) {
        if (p.cpt(i) < '0' || p.cpt(i) > '9') return 0;
    }
    return 3;
}

static size_t match_newline(const piece& p, size_t pos) {  // [\r\n]
    return p.cpt(pos) == '\r' || p.cpt(pos) == '\n' ? 1 : 0;
}

static size_t match_space_letters(const piece& p, size_t pos) {  // \s?\p{L}+
    return space_then_run(p, pos, [&](size_t i) { return p.is(i, CPT_LETTER); });
}

static size_t match_space_punct(const piece& p, size_t pos) {  // \s?\p{P}+
    return space_then_run(p, pos, [&](size_t i) { return p.is(i, CPT_PUNCT); });
}

// [一-龥ࠀ-一가-퟿]+ (CJK ideographs, everything from Samaritan to them, Hangul)
static size_t match_cjk(const piece& p, size_t pos) {
    static const cpt_range CJK[] = {{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}};
    return run(p, pos, [&](size_t i) { return in_class(p, i, CJK); });
}

// DeepSeek LLM's \s?[A-Za-zµÀ-ÖØ-öø-ƺ...𞤀-𞥃]+ : cased letters of many scripts, as written there.
static size_t match_deepseek_letters(const piece& p, size_t pos) {
    static const cpt_range LETTERS[] = {
        {0x0041, 0x005A}, {0x0061, 0x007A}, {0x00B5, 0x00B5}, {0x00C0, 0x00D6}, {0x00D8, 0x00F6}, {0x00F8, 0x01BA},
        {0x01BC, 0x01BF}, {0x01C4, 0x0293}, {0x0295, 0x02AF}, {0x0370, 0x0373}, {0x0376, 0x0377}, {0x037B, 0x037D},
        {0x037F, 0x037F}, {0x0386, 0x0386}, {0x0388, 0x038A}, {0x038C, 0x038C}, {0x038E, 0x03A1}, {0x03A3, 0x03F5},
        {0x03F7, 0x0481}, {0x048A, 0x052F}, {0x0531, 0x0556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD},
        {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15},
        {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
        {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4},
        {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC},
        {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124},
        {0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F},
        {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
        {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E},
        {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F},
        {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF},
        {0x1E900, 0x1E943},
    };
    return space_then_run(p, pos, [&](size_t i) { return in_class(p, i, LETTERS); });
}

// DeepSeek LLM's \s?[!-/:-~！-／：-～‘-‟　-。]+ : ASCII and full-width punctuation, quotes.
static size_t match_deepseek_punct(const piece& p, size_t pos) {
    static const cpt_range PUNCT[] = {{0x0021, 0x002F}, {0x003A, 0x007E}, {0xFF01, 0xFF0F},
                                      {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002}};
    return space_then_run(p, pos, [&](size_t i) { return in_class(p, i, PUNCT); });
}

// [\p{P}\$\+<=>\^~\|`]+ (Falcon) and [\p{P}\$\+<=>\^~\|]+ (llama.cpp's default)
static size_t punct_and(const piece& p, size_t pos, const char* ascii) {
    return run(p, pos, [&](size_t i) {
        uint32_t c = p.cpt(i);
        return p.is(i, CPT_PUNCT) || (c > 0 && c < 0x80 && strchr(ascii, (int)c));
    });
}
static size_t match_falcon_punct(const piece& p, size_t pos) { return punct_and(p, pos, "$+<=>^~|`"); }
static size_t match_default_punct(const piece& p, size_t pos) { return punct_and(p, pos, "$+<=>^~|"); }

// A matcher as a splitter: each match is a piece, and so is the text between matches.
template <size_t (*match)(const piece&, size_t)>
static void split_matches(const piece& p, piece_ends* ends) {
    size_t gap = p.begin;
    for (size_t pos = p.begin; pos < p.end;) {
        size_t n = match(p, pos);
        if (n == 0) {
            pos++;
            continue;
        }
        if (pos > gap) ends->push_back(pos);
        ends->push_back(gap = pos += n);
    }
    if (gap < p.end) ends->push_back(p.end);
}

// ---- the table ----

typedef void (*split_fn)(const piece&, piece_ends*);

struct pre_tokenizer {
    const char* names;  // tokenizer.ggml.pre values, space-separated
    split_fn passes[6];  // applied in turn to every piece; nullptr ends the list
    bpe_whole whole_words;  // which words are taken whole when they are a token
};

static const pre_tokenizer PRE_TOKENIZERS[] = {
    {"default", {split_matches<match_default_punct>, split_gpt2, split_matches<match_numbers>, split_matches<match_three_digits>}, BPE_WHOLE_NONE},
    {"gpt2 gpt-2 mpt olmo jais phi-2 jina-es jina-de gigachat jina-v2-es jina-v2-de a.x-4.0 mellum modern-bert exaone4 "
     "trillion granite-docling",
     {split_gpt2}, BPE_WHOLE_NONE},
    {"smollm starcoder refact command-r codeshell exaone minerva mellum2", {split_matches<match_number>, split_gpt2}, BPE_WHOLE_NONE},
    {"llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano", {split_llama3}, BPE_WHOLE_ANY},
    {"dbrx smaug-bpe", {split_llama3}, BPE_WHOLE_NONE},
    {"qwen2 deepseek-r1-qwen kormo f2llmv2 stablelm2", {split_qwen2}, BPE_WHOLE_NONE},
    {"qwen35", {split_qwen35}, BPE_WHOLE_NONE},
    {"deepseek-llm",
     {split_matches<match_newline>, split_matches<match_deepseek_letters>, split_matches<match_deepseek_punct>,
      split_trailing_space, split_matches<match_cjk>, split_matches<match_numbers>}, BPE_WHOLE_NONE},
    {"deepseek-coder",
     {split_matches<match_newline>, split_matches<match_space_letters>, split_matches<match_space_punct>,
      split_matches<match_cjk>, split_matches<match_number>}, BPE_WHOLE_NONE},
    {"falcon", {split_matches<match_falcon_punct>, split_gpt2, split_matches<match_three_digits>}, BPE_WHOLE_NONE},
    {"gemma4", {split_newline_runs}, BPE_WHOLE_NEWLINE_RUNS},
};

static bool name_listed(const char* names, const char* name, size_t len) {
    for (const char* s = names; *s;) {
        size_t n = strcspn(s, " ");
        if (n == len && memcmp(s, name, len) == 0) return true;
        s += n + (s[n] == ' ');
    }
    return false;
}

const pre_tokenizer* pre_tokenizer_find(const char* name, size_t len) {
    for (const pre_tokenizer& p : PRE_TOKENIZERS) {
        if (name_listed(p.names, name, len)) return &p;
    }
    return nullptr;
}

bpe_whole pre_tokenizer_whole_words(const pre_tokenizer* p) { return p->whole_words; }

void pre_tokenizer_split(const pre_tokenizer* pre, const char* s, size_t len, std::vector<uint32_t>* word_ends) {
    pre_text x;
    pre_text_decode(s, len, &x);
    piece_ends ends = {x.cpt.size()}, next;
    for (split_fn pass : pre->passes) {
        if (!pass) break;
        next.clear();
        size_t begin = 0;
        for (size_t end : ends) {
            if (end > begin) pass(piece{x, begin, end}, &next);
            begin = end;
        }
        ends.swap(next);
    }
    word_ends->clear();
    for (size_t end : ends) word_ends->push_back(x.offset[end]);
}
