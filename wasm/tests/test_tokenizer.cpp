// Tokenizers of both real models: llama.cpp's ids for the reference strings, round trips of
// varied text through ids and pieces, special-token parsing on and off, and clear errors.
// Run from the repository root (models/ and the reference data are found from there).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chrono>
#include <string>
#include <vector>

#include "gguf.h"
#include "status.h"
#include "tokenizer.h"
#include "check.h"


// ---- just enough JSON for tokenizer_vectors.json: {"models": {name: [{"text": s, "ids": [..]}]}} ----

struct json_reader {
    const char* p;
    const char* end;
};

static void json_space(json_reader* r) {
    while (r->p < r->end && strchr(" \t\r\n", *r->p)) r->p++;
}

static void utf8_put(std::string* out, uint32_t c) {
    if (c < 0x80) {
        *out += (char)c;
    } else if (c < 0x800) {
        *out += (char)(0xC0 | c >> 6), *out += (char)(0x80 | (c & 63));
    } else if (c < 0x10000) {
        *out += (char)(0xE0 | c >> 12), *out += (char)(0x80 | (c >> 6 & 63)), *out += (char)(0x80 | (c & 63));
    } else {
        *out += (char)(0xF0 | c >> 18), *out += (char)(0x80 | (c >> 12 & 63));
        *out += (char)(0x80 | (c >> 6 & 63)), *out += (char)(0x80 | (c & 63));
    }
}

static std::string json_string(json_reader* r) {
    std::string s;
    json_space(r);
    r->p++;  // opening quote
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;
        if (c != '\\') {
            s += c;
            continue;
        }
        c = *r->p++;
        if (c == 'n') s += '\n';
        else if (c == 't') s += '\t';
        else if (c == 'r') s += '\r';
        else if (c == 'u') {
            uint32_t u = (uint32_t)strtoul(std::string(r->p, 4).c_str(), nullptr, 16);
            r->p += 4;
            if (u >= 0xD800 && u < 0xDC00 && r->p[0] == '\\' && r->p[1] == 'u') {
                uint32_t lo = (uint32_t)strtoul(std::string(r->p + 2, 4).c_str(), nullptr, 16);
                r->p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            utf8_put(&s, u);
        } else s += c;  // \" \\ \/
    }
    r->p++;
    return s;
}

struct vector_case {
    std::string model, text;
    std::vector<int32_t> ids;
};

// Walks the file looking for "text" / "ids" pairs, remembering the model key they sit under.
static std::vector<vector_case> vectors_load(const std::vector<uint8_t>& bytes) {
    std::vector<vector_case> cases;
    json_reader r = {(const char*)bytes.data(), (const char*)bytes.data() + bytes.size()};
    std::string model;
    while (r.p < r.end) {
        if (*r.p != '"') {
            r.p++;
            continue;
        }
        std::string key = json_string(&r);
        json_space(&r);
        if (r.p >= r.end || *r.p != ':') continue;
        r.p++;
        json_space(&r);
        if (key == "text") {
            cases.push_back({model, json_string(&r), {}});
        } else if (key == "ids" && !cases.empty()) {
            while (*r.p != ']') {
                r.p++;
                json_space(&r);
                if (*r.p != ']') cases.back().ids.push_back((int32_t)strtol(r.p, (char**)&r.p, 10));
                json_space(&r);
            }
        } else if (*r.p == '[' && key != "models") {
            model = key;
        }
    }
    return cases;
}

// ---- helpers ----

struct loaded_model {
    std::vector<uint8_t> bytes;
    gguf_file file;
    tokenizer* tok = nullptr;
};

static bool model_load(const char* path, loaded_model* m) {
    if (!file_read(path, &m->bytes)) {
        fprintf(stderr, "FAIL cannot read %s (run: bash scripts/dev.sh setup)\n", path);
        g_failed++;
        return false;
    }
    int rc = gguf_open(&m->file, m->bytes.data(), m->bytes.size());
    CHECK(rc == WL_OK);
    if (rc != WL_OK) return false;
    auto t0 = std::chrono::steady_clock::now();
    rc = tokenizer_init(&m->tok, &m->file);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    CHECK(rc == WL_OK);
    printf("%s: tokenizer_init %.1f ms, %d tokens\n", path, ms, rc == WL_OK ? tokenizer_n_vocab(m->tok) : 0);
    return rc == WL_OK;
}

static std::vector<int32_t> encode(const tokenizer* t, const std::string& s, bool add_bos, bool special) {
    std::vector<int32_t> ids;
    int n = tokenizer_encode(t, s.data(), (int)s.size(), add_bos, special, &ids);
    CHECK(n == (int)ids.size());
    return ids;
}

static std::string decode(const tokenizer* t, const std::vector<int32_t>& ids, bool render_special) {
    std::string text, piece;
    bool ok = true;
    for (int32_t id : ids) {
        ok = ok && tokenizer_piece(t, id, render_special, &piece) >= 0;
        text += piece;
    }
    CHECK(ok);
    return text;
}

static bool contains(const std::vector<int32_t>& ids, int32_t id) {
    for (int32_t x : ids) {
        if (x == id) return true;
    }
    return false;
}

// ---- tests ----

static void test_vectors(const char* model, const tokenizer* t, const std::vector<vector_case>& cases) {
    int n = 0;
    for (const vector_case& c : cases) {
        if (c.model != model) continue;
        n++;
        std::vector<int32_t> ids = encode(t, c.text, true, true);
        CHECK(ids == c.ids);
        if (ids != c.ids) fprintf(stderr, "  got      %s\n  expected %s\n", ids_str(ids).c_str(), ids_str(c.ids).c_str());
        CHECK(decode(t, ids, false) == c.text);
    }
    CHECK(n == 3);
}

static const char* ROUND_TRIPS[] = {
    "",
    " ",
    "   leading and trailing spaces   ",
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "it's we're they've I'm you'll he'd 'S 'RE",
    "numbers 1234567890 3.14159 -42 1,000,000 ٣٤٥ Ⅻ ½",
    "tabs\tand\t\tnewlines\n\n\nand\r\nwindows\n \n\t \t",
    "我喜欢学习中文。北京是中国的首都，人口超过两千万。",
    "emoji 👋🌍🏳️‍🌈 👨‍👩‍👧‍👦 and flags 🇫🇷",
    "Ελληνικά, русский, עברית, العربية, हिन्दी, 日本語のテキスト, 한국어",
    "code: def f(x):\n    return {'a': [1, 2, 3]}  # comment\n",
    "<|im_start|>user\nhi<|im_end|>\n<start_of_turn>model\n<b>bold</b> <eos>",
    "combining: e\xCC\x81 a\xCC\x8A, zero width:\xE2\x80\x8B|, nbsp:\xC2\xA0|, ideographic space:\xE3\x80\x80|",
    "invalid utf-8: \xc3 \xe2\x82 \x80\x80 \xe0( end",  // bytes SmolLM2 has tokens for
    "\xF0\x9F\x91",  // an emoji cut short
};

static void test_round_trips(const tokenizer* t) {
    for (const char* text : ROUND_TRIPS) {
        for (bool special : {false, true}) {
            std::vector<int32_t> ids = encode(t, text, false, special);
            std::string back = decode(t, ids, true);
            CHECK(back == text);
            if (back != text) fprintf(stderr, "  text %s\n  back %s\n", text, back.c_str());
        }
    }
}

// A string of pieces cut inside UTF-8 sequences still concatenates back to the text.
static void test_split_utf8(const tokenizer* t) {
    std::string text = "🌍🏳️‍🌈 \xE2\x9C\x93 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀";
    std::vector<int32_t> ids = encode(t, text, false, false);
    int partial = 0;
    std::string piece, joined;
    for (int32_t id : ids) {
        tokenizer_piece(t, id, false, &piece);
        joined += piece;
        for (unsigned char c : piece) partial += (c & 0xC0) == 0x80 && piece.size() < 4;
    }
    CHECK(joined == text);
    CHECK(partial > 0);  // some token really carried a fragment of a character
}

static void test_smollm2_specials(const tokenizer* t) {
    std::string chat = "<|im_start|>user\nHi<|im_end|>\n";
    std::vector<int32_t> parsed = encode(t, chat, true, true);
    CHECK(parsed.size() > 2 && parsed[0] == 1 && contains(parsed, 2));  // <|im_start|>, <|im_end|>
    std::vector<int32_t> plain = encode(t, chat, true, false);
    CHECK(!contains(plain, 1) && !contains(plain, 2));
    CHECK(decode(t, plain, false) == chat);
    CHECK(decode(t, parsed, false) == "user\nHi\n");  // control tokens render as nothing
    CHECK(decode(t, parsed, true) == chat);
    CHECK(encode(t, "<|im_start|><|im_start|>", false, true) == std::vector<int32_t>({1, 1}));
    CHECK(encode(t, "<|im_start", false, true).size() > 1);
    CHECK(!tokenizer_add_bos(t) && tokenizer_eos(t) == 2);
    CHECK(tokenizer_is_eog(t, 2) && tokenizer_is_eog(t, 0) && !tokenizer_is_eog(t, 1) && !tokenizer_is_eog(t, 100));
    CHECK(encode(t, "digits 2024", false, false).size() == 6);  // " 2024" is split digit by digit
}

static void test_gemma_specials(const tokenizer* t) {
    // user-defined tokens (runs of newlines, spaces, tabs, HTML tags) are always matched, longest first
    CHECK(encode(t, "\n\n", false, false) == std::vector<int32_t>({108}));
    CHECK(encode(t, "\n\n\n", false, true) == std::vector<int32_t>({109}));
    CHECK(encode(t, "  ", false, false) == std::vector<int32_t>({138}));
    std::vector<int32_t> tab = encode(t, "\t", false, false);
    CHECK(tab.size() == 1 && decode(t, tab, false) == "\t");
    std::string turn = "<start_of_turn>user\nHi<end_of_turn>\n";
    std::vector<int32_t> parsed = encode(t, turn, true, true);
    CHECK(parsed.size() > 3 && parsed[0] == 2 && parsed[1] == 105 && contains(parsed, 106));
    std::vector<int32_t> plain = encode(t, turn, true, false);
    CHECK(plain[0] == 2 && !contains(plain, 105) && !contains(plain, 106));
    CHECK(decode(t, plain, false) == turn);
    CHECK(encode(t, "<eos>", false, false) != std::vector<int32_t>({1}));
    CHECK(encode(t, "<eos>", false, true) == std::vector<int32_t>({1}));
    CHECK(tokenizer_add_bos(t) && tokenizer_bos(t) == 2 && tokenizer_eos(t) == 1);
    CHECK(tokenizer_is_eog(t, 1) && tokenizer_is_eog(t, 106) && !tokenizer_is_eog(t, 2));
    // byte fallback: a character without its own token comes out as <0xNN> byte tokens
    std::vector<int32_t> bytes = encode(t, "\xF3\xA0\x80\x81", false, false);  // U+E0001 LANGUAGE TAG
    CHECK(bytes.size() == 4 && bytes[0] >= 238 && bytes[0] <= 493);
}

static void test_pieces(const tokenizer* t) {
    std::string piece = "unchanged";
    CHECK(tokenizer_piece(t, -1, false, &piece) == WL_ERR_ARG);
    CHECK(tokenizer_piece(t, tokenizer_n_vocab(t), false, &piece) == WL_ERR_ARG);
    CHECK(tokenizer_piece(t, tokenizer_eos(t), false, &piece) == 0 && piece.empty());
    CHECK(tokenizer_piece(t, tokenizer_eos(t), true, &piece) > 0);
    std::vector<int32_t> ids;
    CHECK(tokenizer_encode(t, nullptr, 3, false, false, &ids) == WL_ERR_ARG);
    CHECK(tokenizer_encode(t, "abc", -1, false, false, &ids) == WL_ERR_ARG);
}

static void test_speed(const char* name, const tokenizer* t) {
    std::vector<uint8_t> gpl;
    if (!file_read("/usr/share/common-licenses/GPL-3", &gpl)) return;
    std::string text(gpl.begin(), gpl.end());
    auto t0 = std::chrono::steady_clock::now();
    std::vector<int32_t> ids = encode(t, text, true, false);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    printf("%s: GPL-3 (%zu bytes) -> %zu tokens in %.1f ms\n", name, text.size(), ids.size(), ms);
    CHECK(decode(t, ids, false) == text);

    // long runs of one character: special tokens, whitespace words, one huge word
    std::string runs = std::string(65536, '\n') + std::string(65536, ' ') + std::string(65536, 'a') + std::string(65536, '<');
    t0 = std::chrono::steady_clock::now();
    ids = encode(t, runs, false, true);
    ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    printf("%s: 256 KiB of runs -> %zu tokens in %.1f ms\n", name, ids.size(), ms);
    CHECK(decode(t, ids, false) == runs);
}

// Missing and mistyped keys are reported by name.
static void test_bad_metadata(const gguf_file& real) {
    gguf_file f = real;
    tokenizer* t = nullptr;
    f.kvs.clear();
    CHECK(tokenizer_init(&t, &f) == WL_ERR_KEY && t == nullptr && strstr(status_message(), "tokenizer.ggml.model"));
    f = real;
    for (gguf_kv& kv : f.kvs) {
        if (gguf_str_eq(kv.key, "tokenizer.ggml.tokens")) kv.array_type = GGUF_TYPE_INT32;
    }
    CHECK(tokenizer_init(&t, &f) == WL_ERR_KEY && strstr(status_message(), "tokenizer.ggml.tokens"));
    f = real;
    for (gguf_kv& kv : f.kvs) {
        if (gguf_str_eq(kv.key, "tokenizer.ggml.token_type")) kv.array_len--;
    }
    CHECK(tokenizer_init(&t, &f) == WL_ERR_KEY && strstr(status_message(), "token_type"));
    CHECK(tokenizer_init(nullptr, &real) == WL_ERR_ARG);
}

int main(int argc, char** argv) {
    const char* models = argc > 1 ? argv[1] : "models";
    const char* reference = getenv("WASMLM_REFERENCE_DIR") ? getenv("WASMLM_REFERENCE_DIR") : "tests/data/reference";
    std::vector<uint8_t> json;
    std::string vectors_path = std::string(reference) + "/tokenizer_vectors.json";
    if (!file_read(vectors_path.c_str(), &json)) {
        fprintf(stderr, "FAIL cannot read %s (committed under tests/data/reference/)\n", vectors_path.c_str());
        g_failed++;
    }
    std::vector<vector_case> cases = vectors_load(json);

    loaded_model smol, gemma;
    std::string smol_path = std::string(models) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
    std::string gemma_path = std::string(models) + "/gemma-3-270m-q4_k_m.gguf";
    if (model_load(smol_path.c_str(), &smol)) {
        test_vectors("smollm2", smol.tok, cases);
        test_round_trips(smol.tok);
        test_split_utf8(smol.tok);
        test_smollm2_specials(smol.tok);
        test_pieces(smol.tok);
        test_speed("smollm2", smol.tok);
        test_bad_metadata(smol.file);
        tokenizer_free(smol.tok);
    }
    if (model_load(gemma_path.c_str(), &gemma)) {
        test_vectors("gemma3", gemma.tok, cases);
        test_round_trips(gemma.tok);
        test_split_utf8(gemma.tok);
        test_gemma_specials(gemma.tok);
        test_pieces(gemma.tok);
        test_speed("gemma3", gemma.tok);
        tokenizer_free(gemma.tok);
    }
    return check_report();
}
