// Both real tokenizers (SmolLM2's byte-level BPE, Gemma 3's SentencePiece) on any bytes: ids stay in
// the vocabulary, and the pieces concatenate back to the text, valid UTF-8 or not. Where the round
// trip cannot hold: a byte the vocabulary cannot spell is dropped (SmolLM2 has no token for 21 byte
// values: 04 06 13 14 16 1d c0 c1 f1 f2 f5-ff; Gemma 3 spells every byte), so the text comes back
// without it; and SentencePiece writes spaces as U+2581, so a text that already contains U+2581
// comes back with a space there (not compared).
//
// Input: one byte of flags (model, add_bos, parse_special), then the text. The models are read once
// from models/ under the working directory (or $WASMLM_MODELS).
#include <string.h>

#include <string>

#include "fuzz.h"
#include "gguf.h"
#include "status.h"
#include "tokenizer.h"

struct fuzz_model {
    std::vector<uint8_t> bytes;
    gguf_file file;
    tokenizer* tok = nullptr;
    bool spm = false;
    bool spellable[256];  // the byte, alone, comes back from its tokens
};

static fuzz_model g_models[2];

static void model_load(fuzz_model* m, const char* name, bool spm) {
    const char* dir = getenv("WASMLM_MODELS") ? getenv("WASMLM_MODELS") : "models";
    std::string path = std::string(dir) + "/" + name;
    if (!file_read(path.c_str(), &m->bytes) || gguf_open(&m->file, m->bytes.data(), m->bytes.size()) != WL_OK ||
        tokenizer_init(&m->tok, &m->file) != WL_OK) {
        fprintf(stderr, "fuzz_tokenizer: cannot load %s (%s); run in the repository root after set-up\n",
                path.c_str(), status_message());
        exit(1);
    }
    m->spm = spm;
    for (int b = 0; b < 256; b++) {
        std::string one(1, (char)b), back, piece;
        std::vector<int32_t> ids;
        tokenizer_encode(m->tok, one.data(), 1, false, false, &ids);
        for (int32_t id : ids) tokenizer_piece(m->tok, id, false, &piece), back += piece;
        m->spellable[b] = back == one;
    }
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    model_load(&g_models[0], "SmolLM2-135M-Instruct.Q4_1.gguf", false);
    model_load(&g_models[1], "gemma-3-270m-q4_k_m.gguf", true);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_input in = {data, size};
    uint8_t flags = in.u8();
    const fuzz_model& m = g_models[flags & 1];
    bool add_bos = flags & 2, parse_special = flags & 4;
    std::string text((const char*)in.p, in.n);

    std::vector<int32_t> ids;
    int n = tokenizer_encode(m.tok, text.data(), (int)text.size(), add_bos, parse_special, &ids);
    FUZZ_CHECK(n >= 0 && (size_t)n == ids.size());
    int n_vocab = tokenizer_n_vocab(m.tok);
    // Pieces as text (specials spelled out when they were parsed), the BOS that add_bos put first left out.
    std::string back, piece;
    bool bos_first = add_bos && tokenizer_add_bos(m.tok);
    for (size_t i = 0; i < ids.size(); i++) {
        FUZZ_CHECK(ids[i] >= 0 && ids[i] < n_vocab);
        FUZZ_CHECK(tokenizer_piece(m.tok, ids[i], parse_special, &piece) >= 0);
        if (i == 0 && bos_first) FUZZ_CHECK(ids[0] == tokenizer_bos(m.tok));
        else back += piece;
    }
    std::string expected;
    for (unsigned char c : text) {
        if (m.spellable[c]) expected += (char)c;
    }
    bool exact = !(m.spm && text.find("\xE2\x96\x81") != std::string::npos);
    if (exact && back != expected) {
        fprintf(stderr, "fuzz_tokenizer: round trip broken (%s, parse_special %d)\n  text %zu bytes\n  back %zu bytes\n",
                m.spm ? "spm" : "bpe", parse_special, text.size(), back.size());
        abort();
    }
    return 0;
}
