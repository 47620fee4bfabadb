// tokenizer_bpe: BPE as llama.cpp does it (SmolLM2, GPT-2, Llama 3, Qwen, DeepSeek, Gemma 4, ...).
//
// A pre-tokenizer (tokenizer_pre.cpp) cuts the text into words. Byte-level vocabularies start each
// word as the tokens of its bytes in the GPT-2 byte alphabet; Gemma 4's starts from its UTF-8
// characters (spaces written as U+2581). The adjacent pair with the best (lowest) merge rank is
// merged until no pair has a merge; what is left without a token falls back to <0xNN> tokens where
// the vocabulary has them.
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

static int bpe_pre_load(tokenizer* t, const gguf_file* f, bool gemma4) {
    gguf_str pre = {"default", 7};
    if (gemma4) pre = {"gemma4", 6};  // llama.cpp sets it from the tokenizer model
    else if (gguf_find_kv(f, "tokenizer.ggml.pre") && !gguf_get_str(f, "tokenizer.ggml.pre", &pre)) {
        return status_fail(WL_ERR_KEY, "key tokenizer.ggml.pre is not a string");
    }
    t->pre = pre_tokenizer_find(pre.data, (size_t)pre.len);
    if (!t->pre) {
        return status_fail(WL_ERR_KEY, "unsupported BPE pre-tokenizer tokenizer.ggml.pre = '%.*s'",
                           (int)std::min<uint64_t>(pre.len, 64), pre.data);
    }
    t->whole_words = pre_tokenizer_whole_words(t->pre);
    return WL_OK;
}

static uint64_t pair_key(int32_t left, int32_t right) { return (uint64_t)(uint32_t)left << 32 | (uint32_t)right; }

static void bpe_bytes_init(tokenizer* t) {
    for (int b = 0; b < 256; b++) {
        std::string c;
        utf8_append(&c, gpt2_byte_to_cpt(b));
        t->byte_token[b] = t->byte_level ? token_lookup(t, c.data(), c.size()) : -1;
        char hex[7];
        snprintf(hex, sizeof(hex), "<0x%02X>", b);
        t->byte_fallback[b] = t->byte_level ? -1 : token_lookup(t, hex, 6);
    }
}

int bpe_init(tokenizer* t, const gguf_file* f, bool gemma4) {
    t->byte_level = !gemma4;
    t->escape_spaces = gemma4;
    int rc = bpe_pre_load(t, f, gemma4);
    if (rc < 0) return rc;
    bpe_bytes_init(t);
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

// ---- merges ----

struct bpe_symbol {
    int32_t id;  // -1: no token (its bytes fall back to <0xNN>, or are dropped as in llama.cpp)
    int32_t prev, next;
    uint32_t pos, n;  // bytes [pos, pos + n) of the word
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

// The starting symbols: one per byte (byte-level) or per UTF-8 character.
static void bpe_symbols_init(const tokenizer* t, const char* s, size_t len, std::vector<bpe_symbol>* sym) {
    sym->clear();
    for (size_t pos = 0; pos < len;) {
        size_t next = pos + 1;
        int32_t id = t->byte_token[(uint8_t)s[pos]];
        if (!t->byte_level) {
            next = pos;
            utf8_next(s, len, &next);
            id = token_lookup(t, s + pos, next - pos);
        }
        int32_t i = (int32_t)sym->size();
        sym->push_back({id, i - 1, next == len ? -1 : i + 1, (uint32_t)pos, (uint32_t)(next - pos), true});
        pos = next;
    }
}

// The token a word is as a whole, without merging, or -1: any word that is a token when the
// vocabulary ignores merges (Llama 3), a run of newlines in Gemma 4 (as llama.cpp does).
static int32_t bpe_whole_word(const tokenizer* t, const char* s, size_t len) {
    if (t->whole_words == BPE_WHOLE_NEWLINE_RUNS) {
        for (size_t i = 0; i < len; i++) {
            if (s[i] != '\n') return -1;
        }
    } else if (t->whole_words != BPE_WHOLE_ANY) {
        return -1;
    }
    if (!t->byte_level) return token_lookup(t, s, len);
    std::string text;  // the word in the GPT-2 byte alphabet, as the vocabulary writes it
    for (size_t i = 0; i < len; i++) utf8_append(&text, gpt2_byte_to_cpt((uint8_t)s[i]));
    return token_lookup(t, text.data(), text.size());
}

static void bpe_word(const tokenizer* t, const char* s, size_t len, std::vector<bpe_symbol>* buf,
                     std::vector<int32_t>* out) {
    int32_t whole = bpe_whole_word(t, s, len);
    if (whole >= 0) return out->push_back(whole);
    std::vector<bpe_symbol>& sym = *buf;
    bpe_symbols_init(t, s, len, &sym);
    bpe_queue queue;
    for (int32_t i = 1; i < (int32_t)sym.size(); i++) bpe_try_bigram(t, sym, i - 1, i, &queue);
    while (!queue.empty()) {
        bpe_bigram b = queue.top();
        queue.pop();
        bpe_symbol& left = sym[b.left];
        bpe_symbol& right = sym[b.right];
        if (!left.alive || !right.alive || left.id != b.left_id || right.id != b.right_id) continue;  // stale
        left.id = b.result;
        left.n += right.n;
        right.alive = false;
        left.next = right.next;
        if (right.next >= 0) sym[right.next].prev = b.left;
        bpe_try_bigram(t, sym, left.prev, b.left, &queue);
        bpe_try_bigram(t, sym, b.left, left.next, &queue);
    }
    for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
        if (sym[i].id >= 0) {
            out->push_back(sym[i].id);
            continue;
        }
        for (uint32_t k = 0; k < sym[i].n; k++) {
            int32_t id = t->byte_fallback[(uint8_t)s[sym[i].pos + k]];
            if (id >= 0) out->push_back(id);
        }
    }
}

void bpe_encode(const tokenizer* t, const char* s, size_t len, std::vector<int32_t>* out) {
    std::string escaped;
    if (t->escape_spaces) {
        escaped = escape_spaces(s, len, false);
        s = escaped.data(), len = escaped.size();
    }
    std::vector<uint32_t> ends;
    pre_tokenizer_split(t->pre, s, len, &ends);
    std::vector<bpe_symbol> buf;
    uint32_t begin = 0;
    for (uint32_t end : ends) {
        bpe_word(t, s + begin, end - begin, &buf, out);
        begin = end;
    }
}
