// tokenizer_impl: the tokenizer's state, shared by tokenizer.cpp (vocabulary, special tokens,
// pieces) and the two algorithms, tokenizer_bpe.cpp and tokenizer_spm.cpp.
#pragma once
#include <stdint.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer.h"

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type)
enum token_type {
    TOKEN_NORMAL = 1,
    TOKEN_UNKNOWN = 2,
    TOKEN_CONTROL = 3,
    TOKEN_USER_DEFINED = 4,
    TOKEN_UNUSED = 5,
    TOKEN_BYTE = 6,
};

enum tokenizer_kind { TOKENIZER_BPE, TOKENIZER_SPM };

// A BPE pre-tokenizer: llama.cpp's regular expressions for one tokenizer.ggml.pre (tokenizer_pre.cpp).
struct pre_tokenizer;
// nullptr for a name llama.cpp does not know either (or one of the few this engine leaves out).
const pre_tokenizer* pre_tokenizer_find(const char* name, size_t len);
// Which words BPE takes as one token, unmerged, when the vocabulary has them.
enum bpe_whole { BPE_WHOLE_NONE, BPE_WHOLE_ANY, BPE_WHOLE_NEWLINE_RUNS };
bpe_whole pre_tokenizer_whole_words(const pre_tokenizer* p);
// Cuts s into words; word_ends gets the byte offset where each word ends.
void pre_tokenizer_split(const pre_tokenizer* p, const char* s, size_t len, std::vector<uint32_t>* word_ends);

// Open-addressing map from token text to id, over the texts in tokenizer::text.
struct token_index {
    std::vector<int32_t> slots;  // -1 empty; size a power of two
    uint32_t mask = 0;
};

// Left-child / right-sibling trie over the special token texts, to find every occurrence of
// any of thousands of special tokens in one pass over the text.
struct special_trie_node {
    int32_t child = -1, sibling = -1;
    int32_t token = -1;  // the token ending here, or -1
    uint8_t byte = 0;
};

struct bpe_merge {
    int32_t rank;
    int32_t result;
};

struct tokenizer {
    tokenizer_kind kind;
    const pre_tokenizer* pre;          // BPE only
    bool byte_level;                   // BPE: bytes as GPT-2's alphabet; else UTF-8 with <0xNN> fallback
    bool escape_spaces;                // spaces written as U+2581 (SentencePiece, Gemma 4's BPE)
    bpe_whole whole_words;             // BPE: words taken whole when they are a token
    int n_vocab;
    std::string text;                  // every token's text, back to back
    std::vector<uint32_t> text_offset; // (n_vocab + 1) token i is text[offset[i], offset[i+1])
    std::vector<uint8_t> type;         // token_type per token
    std::vector<float> score;          // SentencePiece merge priority (empty for BPE)
    token_index index;                 // text -> id, control tokens left out (see tokenizer.cpp)
    std::vector<special_trie_node> trie;  // [0] is the root
    int32_t byte_token[256];           // byte-level BPE: the GPT-2 alphabet character; SPM: <0xNN> (or unk)
    int32_t byte_fallback[256];        // other BPE: <0xNN> (Gemma 4), else -1: a byte without a token
    std::unordered_map<uint64_t, bpe_merge> merges;  // (left id << 32 | right id) -> merge
    int32_t bos, eos;
    bool add_bos, add_space_prefix;
    std::vector<int32_t> eog;          // ids that end generation
};

const char* token_text(const tokenizer* t, int32_t id, uint32_t* len);
int32_t token_lookup(const tokenizer* t, const char* s, size_t len);  // -1 when absent
int byte_token_value(const char* s, uint32_t len);  // "<0x41>" -> 0x41, else -1

// Initialization of each algorithm (called by tokenizer_init once the vocabulary is loaded).
int bpe_init(tokenizer* t, const gguf_file* f, bool gemma4);
int spm_init(tokenizer* t, const gguf_file* f);

// Finds a typed array key; n > 0 also checks its length. WL_ERR_KEY with a message otherwise.
int tokenizer_require_array(const gguf_file* f, const char* key, int elem_type, uint64_t n, const gguf_kv** out);

// Encodes one fragment of plain text (no special tokens in it) and appends ids.
// prev_special: the fragment follows BOS or a special token (SentencePiece's space prefix).
void bpe_encode(const tokenizer* t, const char* s, size_t len, std::vector<int32_t>* out);
void spm_encode(const tokenizer* t, const char* s, size_t len, bool prev_special, std::vector<int32_t>* out);

// SentencePiece's spelling: spaces as U+2581, optionally one in front.
std::string escape_spaces(const char* s, size_t len, bool space_prefix);
// The text bytes of a normal BPE token (GPT-2 alphabet mapped back to bytes).
void bpe_piece(const tokenizer* t, int32_t id, std::string* out);
