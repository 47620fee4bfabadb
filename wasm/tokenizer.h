// tokenizer: text <-> token ids from a GGUF file's tokenizer.ggml.* metadata.
//
// Two families, as llama.cpp implements them:
//   - byte-level BPE (tokenizer.ggml.model = "gpt2"): a pre-tokenizer regex splits the text, each
//     piece's bytes are mapped to the GPT-2 byte alphabet and merged by merge rank (SmolLM2).
//   - SentencePiece (tokenizer.ggml.model = "llama"): spaces become U+2581, UTF-8 characters are
//     merged greedily by token score, bytes without a token fall back to <0xNN> (Gemma 3).
// The tokenizer copies what it needs out of the GGUF region, so it may outlive the file view.
#pragma once
#include <stdint.h>

#include <string>
#include <vector>

#include "gguf.h"

struct tokenizer;

// Builds the tokenizer. Returns WL_OK or a negative wl_status (message in status_message()),
// e.g. WL_ERR_KEY for a missing or mistyped tokenizer.ggml.* key.
int tokenizer_init(tokenizer** out, const gguf_file* f);
void tokenizer_free(tokenizer* t);

// Appends the ids of `text` (`len` bytes, any UTF-8, invalid bytes included) to `out`.
// add_bos: prepend BOS when the model wants one (tokenizer_add_bos).
// parse_special: control tokens written literally in the text (e.g. "<|im_start|>") become their
// ids; without it they are tokenized as plain text, so user text cannot inject them. User-defined
// tokens (Gemma's runs of spaces and newlines, HTML tags) are matched in both modes, as in llama.cpp:
// they are ordinary text that the model spells with one token.
// Returns the number of ids appended or a negative wl_status.
int tokenizer_encode(const tokenizer* t, const char* text, int len, bool add_bos, bool parse_special,
                     std::vector<int32_t>* out);

// The bytes that token `id` stands for in text (may be a partial UTF-8 sequence). Control tokens
// give "" unless render_special. Returns the byte count or a negative wl_status (bad id).
int tokenizer_piece(const tokenizer* t, int32_t id, bool render_special, std::string* out);

int32_t tokenizer_bos(const tokenizer* t);   // -1 when the model has none
int32_t tokenizer_eos(const tokenizer* t);
bool tokenizer_add_bos(const tokenizer* t);  // whether the model expects BOS before a prompt
int tokenizer_n_vocab(const tokenizer* t);
bool tokenizer_is_eog(const tokenizer* t, int32_t id);  // eos, eot, <|im_end|>, <end_of_turn>, ...
