// tokenizer_bpe: GPT-2 style byte-level BPE as llama.cpp does it (SmolLM2, GPT-2, StarCoder).
//
// A pre-tokenizer cuts the text into words (GPT-2's regex, written out by hand); each byte of a
// word starts as the token of its character in the GPT-2 byte alphabet, and the adjacent pair with
// the best (lowest) merge rank is merged until no pair has a merge.
#include <string.h>

#include <algorithm>
#include <queue>

#include "status.h"
#include "tokenizer_impl.h"
#include "unicode.h"

// ---- the GPT-2 byte alphabet: printable bytes stand for themselves, the others for 256 + n ----

static bool gpt2_byte_is_printable(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint32_t gpt2_byte_to_cpt(int b) {
    if (gpt2_byte_is_printable(b)) return (uint32_t)b;
    uint32_t n = 0;
    for (int k = 0; k < b; k++) n += !gpt2_byte_is_printable(k);
    return 256 + n;
}

static int gpt2_cpt_to_byte(uint32_t cpt) {
    static int table[256 + 68];
    static bool ready = [] {
        memset(table, -1, sizeof(table));
        for (int b = 0; b < 256; b++) table[gpt2_byte_to_cpt(b)] = b;
        return true;
    }();
    (void)ready;
    return cpt < sizeof(table) / sizeof(table[0]) ? table[cpt] : -1;
}

void bpe_piece(const tokenizer* t, int32_t id, std::string* out) {
    uint32_t len;
    const char* s = token_text(t, id, &len);
    for (size_t pos = 0; pos < len;) {
        size_t start = pos;
        uint32_t cpt = utf8_next(s, len, &pos);
        int b = cpt == UNICODE_INVALID ? -1 : gpt2_cpt_to_byte(cpt);
        if (b >= 0) {
            out->push_back((char)b);
        } else {
            out->append(s + start, pos - start);  // not in the alphabet: keep as written
        }
    }
}

// ---- init: pre-tokenizer, byte tokens, merges ----

static int bpe_pre_load(tokenizer* t, const gguf_file* f) {
    gguf_str pre;
    if (!gguf_find_kv(f, "tokenizer.ggml.pre")) {
        t->pre = BPE_PRE_GPT2;
        return WL_OK;
    }
    if (!gguf_get_str(f, "tokenizer.ggml.pre", &pre)) return status_fail(WL_ERR_KEY, "key tokenizer.ggml.pre is not a string");
    static const char* digits[] = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"};
    static const char* gpt2[] = {"gpt2", "mpt", "olmo", "jais"};
    for (const char* name : digits) {
        if (gguf_str_eq(pre, name)) return t->pre = BPE_PRE_DIGITS, WL_OK;
    }
    for (const char* name : gpt2) {
        if (gguf_str_eq(pre, name)) return t->pre = BPE_PRE_GPT2, WL_OK;
    }
    return status_fail(WL_ERR_KEY, "unsupported BPE pre-tokenizer tokenizer.ggml.pre = '%.*s' (supported: gpt2, smollm, starcoder, ...)",
                       (int)std::min<uint64_t>(pre.len, 64), pre.data);
}

static uint64_t pair_key(int32_t left, int32_t right) { return (uint64_t)(uint32_t)left << 32 | (uint32_t)right; }

int bpe_init(tokenizer* t, const gguf_file* f) {
    int rc = bpe_pre_load(t, f);
    if (rc < 0) return rc;
    for (int b = 0; b < 256; b++) {
        std::string c;
        utf8_append(&c, gpt2_byte_to_cpt(b));
        t->byte_token[b] = token_lookup(t, c.data(), c.size());
    }
    const gguf_kv* merges;
    if ((rc = tokenizer_require_array(f, "tokenizer.ggml.merges", GGUF_TYPE_STRING, 0, &merges)) < 0) return rc;
    std::vector<gguf_str> strs;
    gguf_array_strs(merges, &strs);
    t->merges.reserve(strs.size());
    std::string joined;
    for (size_t rank = 0; rank < strs.size(); rank++) {
        const char* s = strs[rank].data;
        size_t len = strs[rank].len;
        const char* space = len > 1 ? (const char*)memchr(s + 1, ' ', len - 1) : nullptr;
        if (!space) return status_fail(WL_ERR_KEY, "tokenizer.ggml.merges[%zu] is not two tokens separated by a space", rank);
        size_t left_len = space - s;
        joined.assign(s, left_len).append(space + 1, len - left_len - 1);
        int32_t left = token_lookup(t, s, left_len);
        int32_t right = token_lookup(t, space + 1, len - left_len - 1);
        int32_t result = token_lookup(t, joined.data(), joined.size());
        // A merge of pieces that are not tokens can never apply; the first of duplicates wins.
        if (left >= 0 && right >= 0 && result >= 0) t->merges.emplace(pair_key(left, right), bpe_merge{(int32_t)rank, result});
    }
    return WL_OK;
}

// ---- pre-tokenizer ----

enum {
    CPT_LETTER = 1,
    CPT_NUMBER = 2,
    CPT_SPACE = 4,
    CPT_ANY = 8,  // set for every code point inside the fragment; 0 means "past the end"
};

struct bpe_text {
    std::vector<uint32_t> cpt;     // code points (UNICODE_INVALID for a stray byte)
    std::vector<uint8_t> flags;    // CPT_* per code point
    std::vector<uint32_t> offset;  // byte offset of each code point, plus the end
};

static void bpe_text_decode(const char* s, size_t len, bpe_text* x) {
    x->cpt.clear(), x->flags.clear(), x->offset.clear();
    for (size_t pos = 0; pos < len;) {
        x->offset.push_back((uint32_t)pos);
        uint32_t cpt = utf8_next(s, len, &pos);
        unicode_class cls = cpt == UNICODE_INVALID ? UNICODE_OTHER : unicode_classify(cpt);
        uint8_t flags = CPT_ANY | (cls == UNICODE_LETTER ? CPT_LETTER : 0) | (cls == UNICODE_NUMBER ? CPT_NUMBER : 0) |
                        (cpt != UNICODE_INVALID && unicode_is_space(cpt) ? CPT_SPACE : 0);
        x->cpt.push_back(cpt);
        x->flags.push_back(flags);
    }
    x->offset.push_back((uint32_t)len);
}

// GPT-2's  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  over code
// points [begin, end), as llama.cpp's unicode_regex_split_custom_gpt2. Appends word ends.
static void gpt2_split(const bpe_text& x, size_t begin, size_t end, std::vector<size_t>* ends) {
    auto cpt = [&](size_t i) { return i < end ? x.cpt[i] : UNICODE_INVALID - 1; };
    auto flags = [&](size_t i) { return i < end ? x.flags[i] : (uint8_t)0; };
    auto other = [&](uint8_t f) { return (f & CPT_ANY) && !(f & (CPT_LETTER | CPT_NUMBER | CPT_SPACE)); };
    size_t pos = begin;
    while (pos < end) {
        uint32_t c = cpt(pos);
        if (c == '\'' && pos + 1 < end) {
            uint32_t c1 = cpt(pos + 1), c2 = cpt(pos + 2);
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                ends->push_back(pos += 2);
                continue;
            }
            if (pos + 2 < end && ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))) {
                ends->push_back(pos += 3);
                continue;
            }
        }
        uint8_t f = c == ' ' ? flags(pos + 1) : flags(pos);  // an optional leading space joins the run
        if (f & (CPT_LETTER | CPT_NUMBER)) {
            uint8_t cls = f & (CPT_LETTER | CPT_NUMBER);
            pos += c == ' ';
            while (flags(pos) & cls) pos++;
            ends->push_back(pos);
            continue;
        }
        if (other(f)) {
            pos += c == ' ';
            while (other(flags(pos))) pos++;
            ends->push_back(pos);
            continue;
        }
        size_t n_space = 0;
        while (flags(pos + n_space) & CPT_SPACE) n_space++;
        if (n_space > 1 && pos + n_space < end) {
            ends->push_back(pos += n_space - 1);  // \s+(?!\S): leave the last space to the next word
        } else if (n_space > 0) {
            ends->push_back(pos += n_space);
        } else {
            ends->push_back(++pos);
        }
    }
}

// Word ends (code point indices) of the whole fragment.
static void bpe_pre_split(const tokenizer* t, const bpe_text& x, std::vector<size_t>* ends) {
    size_t n = x.cpt.size();
    if (t->pre == BPE_PRE_GPT2) {
        gpt2_split(x, 0, n, ends);
        return;
    }
    // BPE_PRE_DIGITS: \p{N} alone first, then GPT-2 inside the runs between digits.
    size_t begin = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && !(x.flags[i] & CPT_NUMBER)) continue;
        if (i > begin) gpt2_split(x, begin, i, ends);
        if (i < n) ends->push_back(i + 1);
        begin = i + 1;
    }
}

// ---- merges ----

struct bpe_symbol {
    int32_t id;  // -1: a byte without a token (dropped, as llama.cpp does)
    int32_t prev, next;
    bool alive;
};

struct bpe_bigram {
    int32_t rank, left, right, left_id, right_id, result;
};

// Lowest rank first; among equal ranks the leftmost pair.
struct bpe_bigram_order {
    bool operator()(const bpe_bigram& a, const bpe_bigram& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

typedef std::priority_queue<bpe_bigram, std::vector<bpe_bigram>, bpe_bigram_order> bpe_queue;

static void bpe_try_bigram(const tokenizer* t, const std::vector<bpe_symbol>& sym, int32_t left, int32_t right,
                           bpe_queue* queue) {
    if (left < 0 || right < 0 || sym[left].id < 0 || sym[right].id < 0) return;
    auto it = t->merges.find(pair_key(sym[left].id, sym[right].id));
    if (it != t->merges.end()) queue->push({it->second.rank, left, right, sym[left].id, sym[right].id, it->second.result});
}

static void bpe_word(const tokenizer* t, const uint8_t* s, size_t len, std::vector<bpe_symbol>* buf,
                     std::vector<int32_t>* out) {
    std::vector<bpe_symbol>& sym = *buf;
    sym.clear();
    for (size_t i = 0; i < len; i++) {
        sym.push_back({t->byte_token[s[i]], (int32_t)i - 1, i + 1 == len ? -1 : (int32_t)i + 1, true});
    }
    bpe_queue queue;
    for (int32_t i = 1; i < (int32_t)len; i++) bpe_try_bigram(t, sym, i - 1, i, &queue);
    while (!queue.empty()) {
        bpe_bigram b = queue.top();
        queue.pop();
        bpe_symbol& left = sym[b.left];
        bpe_symbol& right = sym[b.right];
        if (!left.alive || !right.alive || left.id != b.left_id || right.id != b.right_id) continue;  // stale
        left.id = b.result;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) sym[right.next].prev = b.left;
        bpe_try_bigram(t, sym, left.prev, b.left, &queue);
        bpe_try_bigram(t, sym, b.left, left.next, &queue);
    }
    for (int32_t i = len ? 0 : -1; i >= 0; i = sym[i].next) {
        if (sym[i].id >= 0) out->push_back(sym[i].id);
    }
}

void bpe_encode(const tokenizer* t, const char* s, size_t len, std::vector<int32_t>* out) {
    bpe_text x;
    bpe_text_decode(s, len, &x);
    std::vector<size_t> ends;
    bpe_pre_split(t, x, &ends);
    std::vector<bpe_symbol> buf;
    size_t begin = 0;
    for (size_t end : ends) {
        uint32_t from = x.offset[begin], to = x.offset[end];
        bpe_word(t, (const uint8_t*)s + from, to - from, &buf, out);
        begin = end;
    }
}
