// tokenizer_spm: SentencePiece encoding as llama.cpp does it (Gemma, Llama 2).
//
// The text (spaces written as U+2581) starts as one symbol per UTF-8 character; the adjacent pair
// whose concatenation is the token with the highest score is merged, again and again. Symbols left
// that are not tokens are written as byte tokens <0xNN>.
#include <queue>

#include "status.h"
#include "tokenizer_impl.h"
#include "unicode.h"

int spm_init(tokenizer* t, const gguf_file* f) {
    t->score.assign(t->n_vocab, 0.0f);
    if (gguf_find_kv(f, "tokenizer.ggml.scores")) {
        const gguf_kv* scores;
        int rc = tokenizer_require_array(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, t->n_vocab, &scores);
        if (rc < 0) return rc;
        for (int i = 0; i < t->n_vocab; i++) t->score[i] = gguf_array_f32(scores, i);
    }
    uint32_t unk = 0;
    if (!gguf_get_u32(f, "tokenizer.ggml.unknown_token_id", &unk) || unk >= (uint32_t)t->n_vocab) unk = 0;
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        int32_t single = token_lookup(t, &c, 1);
        t->byte_token[b] = single >= 0 ? single : (int32_t)unk;
    }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint32_t len;
        const char* s = token_text(t, id, &len);
        int b = t->type[id] == TOKEN_BYTE ? byte_token_value(s, len) : -1;
        if (b >= 0) t->byte_token[b] = id;
    }
    return WL_OK;
}

struct spm_symbol {
    int32_t prev, next;
    uint32_t pos, n;  // bytes [pos, pos + n) of the escaped text; n = 0 once merged away
};

struct spm_bigram {
    int32_t left, right;
    float score;
    uint32_t size;
};

// Highest score first; among equal scores the leftmost pair.
struct spm_bigram_order {
    bool operator()(const spm_bigram& a, const spm_bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

typedef std::priority_queue<spm_bigram, std::vector<spm_bigram>, spm_bigram_order> spm_queue;

static void spm_try_bigram(const tokenizer* t, const std::string& text, const std::vector<spm_symbol>& sym,
                           int32_t left, int32_t right, spm_queue* queue) {
    if (left < 0 || right < 0) return;
    uint32_t size = sym[left].n + sym[right].n;
    int32_t id = token_lookup(t, text.data() + sym[left].pos, size);
    if (id >= 0) queue->push({left, right, t->score[id], size});
}

std::string escape_spaces(const char* s, size_t len, bool space_prefix) {
    std::string text;
    text.reserve(len + len / 2 + 3);
    if (space_prefix) text += "\xE2\x96\x81";
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            text += "\xE2\x96\x81";
        } else {
            text.push_back(s[i]);
        }
    }
    return text;
}

void spm_encode(const tokenizer* t, const char* s, size_t len, bool prev_special, std::vector<int32_t>* out) {
    std::string text = escape_spaces(s, len, t->add_space_prefix && prev_special);
    std::vector<spm_symbol> sym;
    sym.reserve(text.size());
    // One symbol per UTF-8 character; a byte that starts no valid sequence is a symbol of its own
    // (llama.cpp would swallow the following bytes, spaces included, into byte tokens).
    for (size_t pos = 0; pos < text.size();) {
        size_t next = pos;
        utf8_next(text.data(), text.size(), &next);
        int32_t index = (int32_t)sym.size();
        sym.push_back({index - 1, next == text.size() ? -1 : index + 1, (uint32_t)pos, (uint32_t)(next - pos)});
        pos = next;
    }
    spm_queue queue;
    for (int32_t i = 1; i < (int32_t)sym.size(); i++) spm_try_bigram(t, text, sym, i - 1, i, &queue);
    while (!queue.empty()) {
        spm_bigram b = queue.top();
        queue.pop();
        spm_symbol& left = sym[b.left];
        spm_symbol& right = sym[b.right];
        if (left.n == 0 || right.n == 0 || left.n + right.n != b.size) continue;  // stale pair
        left.n += right.n;
        right.n = 0;
        left.next = right.next;
        if (right.next >= 0) sym[right.next].prev = b.left;
        spm_try_bigram(t, text, sym, left.prev, b.left, &queue);
        spm_try_bigram(t, text, sym, b.left, left.next, &queue);
    }
    for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
        int32_t id = token_lookup(t, text.data() + sym[i].pos, sym[i].n);
        if (id >= 0) {
            out->push_back(id);
            continue;
        }
        for (uint32_t k = 0; k < sym[i].n; k++) out->push_back(t->byte_token[(uint8_t)text[sym[i].pos + k]]);
    }
}
