// tokenizer: vocabulary loading, special-token splitting, pieces and end-of-generation ids.
// The two encoding algorithms live in tokenizer_bpe.cpp and tokenizer_spm.cpp.
#include <string.h>

#include <algorithm>
#include <string_view>

#include "status.h"
#include "tokenizer_impl.h"

// ---- token text and the text -> id index ----

const char* token_text(const tokenizer* t, int32_t id, uint32_t* len) {
    *len = t->text_offset[id + 1] - t->text_offset[id];
    return t->text.data() + t->text_offset[id];
}

static uint32_t text_hash(const char* s, size_t len) {
    uint32_t h = 2166136261u;  // FNV-1a
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

int32_t token_lookup(const tokenizer* t, const char* s, size_t len) {
    const token_index& ix = t->index;
    for (uint32_t slot = text_hash(s, len) & ix.mask;; slot = (slot + 1) & ix.mask) {
        int32_t id = ix.slots[slot];
        if (id < 0) return -1;
        uint32_t n;
        const char* text = token_text(t, id, &n);
        if (n == len && memcmp(text, s, len) == 0) return id;
    }
}

// Control tokens are left out so that plain text can never turn into one (e.g. SentencePiece
// merging "<eos>" character by character); they are reachable only through special parsing.
// Among equal texts the last id wins, as in llama.cpp.
static void index_build(tokenizer* t) {
    uint32_t size = 1;
    while (size < (uint32_t)t->n_vocab * 2) size <<= 1;
    t->index.slots.assign(size, -1);
    t->index.mask = size - 1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint32_t len;
        const char* s = token_text(t, id, &len);
        if (len == 0 || t->type[id] == TOKEN_CONTROL) continue;
        for (uint32_t slot = text_hash(s, len) & t->index.mask;; slot = (slot + 1) & t->index.mask) {
            int32_t other = t->index.slots[slot];
            uint32_t n = 0;
            const char* other_text = other >= 0 ? token_text(t, other, &n) : nullptr;
            if (other < 0 || (n == len && memcmp(other_text, s, len) == 0)) {
                t->index.slots[slot] = id;
                break;
            }
        }
    }
}

// ---- special tokens: a trie over control, user-defined and unknown token texts ----

static bool is_special_type(int type) {
    return type == TOKEN_CONTROL || type == TOKEN_USER_DEFINED || type == TOKEN_UNKNOWN;
}

static void trie_insert(tokenizer* t, const char* s, uint32_t len, int32_t id) {
    int32_t node = 0;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)s[i];
        int32_t c = t->trie[node].child;
        while (c >= 0 && t->trie[c].byte != b) c = t->trie[c].sibling;
        if (c < 0) {
            special_trie_node n;
            n.byte = b;
            n.sibling = t->trie[node].child;
            c = (int32_t)t->trie.size();
            t->trie.push_back(n);
            t->trie[node].child = c;
        }
        node = c;
    }
    t->trie[node].token = id;
}

static void trie_build(tokenizer* t) {
    t->trie.assign(1, special_trie_node());
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint32_t len;
        const char* s = token_text(t, id, &len);
        if (len > 0 && is_special_type(t->type[id])) trie_insert(t, s, len, id);
    }
}

// A piece of the text: plain text (id -1) or one special token.
struct text_fragment {
    size_t pos, len;
    int32_t id;
};

// The distinct special tokens allowed here that occur somewhere in the text, longest first.
static std::vector<int32_t> specials_present(const tokenizer* t, const char* text, size_t len, bool parse_special) {
    std::vector<int32_t> ids;
    std::vector<bool> seen;  // per trie node, so that a long run of one token is listed once
    for (size_t pos = 0; pos < len; pos++) {
        int32_t node = 0;
        for (size_t i = pos; i < len; i++) {
            int32_t c = t->trie[node].child;
            while (c >= 0 && t->trie[c].byte != (uint8_t)text[i]) c = t->trie[c].sibling;
            if (c < 0) break;
            node = c;
            int32_t id = t->trie[node].token;
            if (id < 0 || !(parse_special || t->type[id] == TOKEN_USER_DEFINED)) continue;
            if (seen.empty()) seen.resize(t->trie.size());
            if (!seen[node]) ids.push_back(id);
            seen[node] = true;
        }
    }
    std::sort(ids.begin(), ids.end());  // equal lengths: lower id first, as a stable tie-break
    std::stable_sort(ids.begin(), ids.end(), [t](int32_t a, int32_t b) {
        return t->text_offset[a + 1] - t->text_offset[a] > t->text_offset[b + 1] - t->text_offset[b];
    });
    return ids;
}

// Splits `text` on special tokens the way llama.cpp does: longest token text first, each one cut
// out of the plain fragments left to right. User-defined tokens are always cut out (they are how
// the model spells that text); control and unknown tokens only when parse_special, so that user
// text cannot inject them.
static std::vector<text_fragment> special_split(const tokenizer* t, const char* text, size_t len, bool parse_special) {
    std::vector<text_fragment> frags;
    if (len > 0) frags.push_back({0, len, -1});
    std::vector<text_fragment> next;
    for (int32_t id : specials_present(t, text, len, parse_special)) {
        uint32_t n;
        const char* s = token_text(t, id, &n);
        std::string_view token(s, n);
        next.clear();
        for (const text_fragment& f : frags) {
            if (f.id >= 0) {
                next.push_back(f);
                continue;
            }
            std::string_view plain(text + f.pos, f.len);
            size_t from = 0;
            for (size_t at; (at = plain.find(token, from)) != std::string_view::npos; from = at + n) {
                if (at > from) next.push_back({f.pos + from, at - from, -1});
                next.push_back({f.pos + at, n, id});
            }
            if (from < f.len) next.push_back({f.pos + from, f.len - from, -1});
        }
        frags.swap(next);
    }
    return frags;
}

// ---- init ----

int tokenizer_require_array(const gguf_file* f, const char* key, int elem_type, uint64_t n, const gguf_kv** out) {
    static const char* names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                  "bool", "string", "array", "uint64", "int64", "float64"};
    *out = gguf_get_array(f, key, elem_type);
    if (*out) {
        if (n && (*out)->array_len != n) {
            return status_fail(WL_ERR_KEY, "%s has %llu entries, expected %llu (one per token)", key,
                               (unsigned long long)(*out)->array_len, (unsigned long long)n);
        }
        return WL_OK;
    }
    if (!gguf_find_kv(f, key)) return status_fail(WL_ERR_KEY, "missing key %s", key);
    return status_fail(WL_ERR_KEY, "key %s is not an array of %s", key, names[elem_type]);
}

static int vocab_load(tokenizer* t, const gguf_file* f) {
    const gguf_kv* tokens;
    int rc = tokenizer_require_array(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, 0, &tokens);
    if (rc < 0) return rc;
    if (tokens->array_len == 0 || tokens->array_len > (1u << 24)) {
        return status_fail(WL_ERR_KEY, "tokenizer.ggml.tokens has %llu entries",
                           (unsigned long long)tokens->array_len);
    }
    t->n_vocab = (int)tokens->array_len;
    std::vector<gguf_str> strs;
    gguf_array_strs(tokens, &strs);
    size_t total = 0;
    for (const gguf_str& s : strs) total += s.len;
    if (total > UINT32_MAX) return status_fail(WL_ERR_KEY, "tokenizer.ggml.tokens is too large");
    t->text.reserve(total);
    t->text_offset.resize(t->n_vocab + 1);
    for (int i = 0; i < t->n_vocab; i++) {
        t->text_offset[i] = (uint32_t)t->text.size();
        t->text.append(strs[i].data, strs[i].len);
    }
    t->text_offset[t->n_vocab] = (uint32_t)t->text.size();

    t->type.assign(t->n_vocab, TOKEN_NORMAL);
    if (gguf_find_kv(f, "tokenizer.ggml.token_type")) {
        const gguf_kv* types;
        rc = tokenizer_require_array(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, t->n_vocab, &types);
        if (rc < 0) return rc;
        for (int i = 0; i < t->n_vocab; i++) {
            int32_t ty = gguf_array_i32(types, i);
            t->type[i] = (ty >= TOKEN_NORMAL && ty <= TOKEN_BYTE) ? (uint8_t)ty : (uint8_t)TOKEN_UNUSED;
        }
    }
    return WL_OK;
}

static int token_id_key(const tokenizer* t, const gguf_file* f, const char* key, int32_t* id) {
    if (!gguf_find_kv(f, key)) return WL_OK;  // keep the default
    uint32_t v;
    if (!gguf_get_u32(f, key, &v)) return status_fail(WL_ERR_KEY, "key %s is not an integer", key);
    if (v >= (uint32_t)t->n_vocab) {
        return status_fail(WL_ERR_KEY, "%s = %u is outside the vocabulary (%d tokens)", key, v, t->n_vocab);
    }
    *id = (int32_t)v;
    return WL_OK;
}

static int bool_key(const gguf_file* f, const char* key, bool* out) {
    if (gguf_find_kv(f, key) && !gguf_get_bool(f, key, out)) {
        return status_fail(WL_ERR_KEY, "key %s is not a bool", key);
    }
    return WL_OK;
}

static void eog_collect(tokenizer* t, int32_t eot, int32_t eom) {
    // Turn and sequence ends that llama.cpp also recognizes by their text.
    static const char* names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
                                  "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
                                  "<|end_of_text|>", "<end_of_utterance>"};
    for (int32_t id : {t->eos, eot, eom}) {
        if (id >= 0) t->eog.push_back(id);
    }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->type[id] != TOKEN_CONTROL && t->type[id] != TOKEN_USER_DEFINED) continue;
        uint32_t len;
        const char* s = token_text(t, id, &len);
        for (const char* name : names) {
            if (len == strlen(name) && memcmp(s, name, len) == 0) t->eog.push_back(id);
        }
    }
}

static int tokenizer_load(tokenizer* t, const gguf_file* f) {
    gguf_str model;
    if (!gguf_get_str(f, "tokenizer.ggml.model", &model)) {
        return status_fail(WL_ERR_KEY, gguf_find_kv(f, "tokenizer.ggml.model")
                                           ? "key tokenizer.ggml.model is not a string"
                                           : "missing key tokenizer.ggml.model");
    }
    bool gemma4 = gguf_str_eq(model, "gemma4");  // BPE over UTF-8 with SentencePiece's spaces
    if (gguf_str_eq(model, "gpt2") || gemma4) {
        t->kind = TOKENIZER_BPE;
    } else if (gguf_str_eq(model, "llama")) {
        t->kind = TOKENIZER_SPM;
    } else {
        return status_fail(WL_ERR_KEY, "unsupported tokenizer.ggml.model '%.*s' (supported: gpt2, llama, gemma4)",
                           (int)std::min<uint64_t>(model.len, 64), model.data);
    }
    int rc = vocab_load(t, f);
    if (rc < 0) return rc;

    // Defaults as in llama.cpp when the keys are absent.
    bool spm = t->kind == TOKENIZER_SPM;
    t->bos = spm ? 1 : -1;
    t->eos = spm ? 2 : -1;
    t->add_bos = spm;
    t->add_space_prefix = spm;
    int32_t eot = -1, eom = -1;
    if ((rc = token_id_key(t, f, "tokenizer.ggml.bos_token_id", &t->bos)) < 0) return rc;
    if ((rc = token_id_key(t, f, "tokenizer.ggml.eos_token_id", &t->eos)) < 0) return rc;
    if ((rc = token_id_key(t, f, "tokenizer.ggml.eot_token_id", &eot)) < 0) return rc;
    if ((rc = token_id_key(t, f, "tokenizer.ggml.eom_token_id", &eom)) < 0) return rc;
    if ((rc = bool_key(f, "tokenizer.ggml.add_bos_token", &t->add_bos)) < 0) return rc;
    if (gemma4) t->add_bos = true;  // as llama.cpp: Gemma 4 files may say false, the model needs it
    if ((rc = bool_key(f, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix)) < 0) return rc;
    if (t->add_bos && (t->bos < 0 || t->bos >= t->n_vocab)) {
        return status_fail(WL_ERR_KEY, "tokenizer.ggml.add_bos_token is set but there is no valid bos_token_id");
    }
    eog_collect(t, eot, eom);
    index_build(t);
    trie_build(t);
    return spm ? spm_init(t, f) : bpe_init(t, f, gemma4);
}

int tokenizer_init(tokenizer** out, const gguf_file* f) {
    if (!out || !f) return status_fail(WL_ERR_ARG, "tokenizer_init: null argument");
    *out = nullptr;
    tokenizer* t = new (std::nothrow) tokenizer();
    if (!t) return status_fail(WL_ERR_NO_MEMORY, "out of memory for the tokenizer");
    int rc = tokenizer_load(t, f);
    if (rc < 0) {
        delete t;
        return rc;
    }
    *out = t;
    return WL_OK;
}

void tokenizer_free(tokenizer* t) { delete t; }

// ---- encode / pieces ----

int tokenizer_encode(const tokenizer* t, const char* text, int len, bool add_bos, bool parse_special,
                     std::vector<int32_t>* out) {
    if (!t || !out || len < 0 || (!text && len > 0)) return status_fail(WL_ERR_ARG, "tokenizer_encode: bad arguments");
    size_t start = out->size();
    if (add_bos && t->add_bos) out->push_back(t->bos);
    bool prev_special = true;  // SentencePiece prefixes a space at the start and after specials
    for (const text_fragment& f : special_split(t, text, (size_t)len, parse_special)) {
        if (f.id >= 0) {
            out->push_back(f.id);
            prev_special = true;
        } else if (t->kind == TOKENIZER_BPE) {
            bpe_encode(t, text + f.pos, f.len, out);
        } else {
            spm_encode(t, text + f.pos, f.len, prev_special, out);
            prev_special = false;
        }
    }
    return (int)(out->size() - start);
}

int byte_token_value(const char* s, uint32_t len) {
    auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>' || hex(s[3]) < 0 || hex(s[4]) < 0) return -1;
    return hex(s[3]) * 16 + hex(s[4]);
}

// SentencePiece writes spaces as U+2581 (LOWER ONE EIGHTH BLOCK, E2 96 81).
static void spm_unescape(const char* s, uint32_t len, std::string* out) {
    for (uint32_t i = 0; i < len; i++) {
        if (i + 2 < len && (uint8_t)s[i] == 0xE2 && (uint8_t)s[i + 1] == 0x96 && (uint8_t)s[i + 2] == 0x81) {
            out->push_back(' ');
            i += 2;
        } else {
            out->push_back(s[i]);
        }
    }
}

int tokenizer_piece(const tokenizer* t, int32_t id, bool render_special, std::string* out) {
    if (!t || !out) return status_fail(WL_ERR_ARG, "tokenizer_piece: null argument");
    if (id < 0 || id >= t->n_vocab) {
        return status_fail(WL_ERR_ARG, "token id %d is outside the vocabulary (%d tokens)", id, t->n_vocab);
    }
    out->clear();
    uint32_t len;
    const char* s = token_text(t, id, &len);
    switch (t->type[id]) {
        case TOKEN_CONTROL:
        case TOKEN_UNKNOWN:
            if (render_special) out->assign(s, len);
            break;
        case TOKEN_USER_DEFINED:
            out->assign(s, len);
            break;
        case TOKEN_NORMAL:
            if (t->kind == TOKENIZER_BPE && t->byte_level) {
                bpe_piece(t, id, out);
            } else {
                spm_unescape(s, len, out);
            }
            break;
        case TOKEN_BYTE: {
            int b = byte_token_value(s, len);
            if (b >= 0) out->push_back((char)b);
            break;
        }
        default:  // unused tokens stand for no text
            break;
    }
    return (int)out->size();
}

int32_t tokenizer_bos(const tokenizer* t) { return t->bos; }
int32_t tokenizer_eos(const tokenizer* t) { return t->eos; }
bool tokenizer_add_bos(const tokenizer* t) { return t->add_bos; }
int tokenizer_n_vocab(const tokenizer* t) { return t->n_vocab; }

bool tokenizer_is_eog(const tokenizer* t, int32_t id) {
    return std::find(t->eog.begin(), t->eog.end(), id) != t->eog.end();
}
