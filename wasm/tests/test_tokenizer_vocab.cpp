// llama.cpp's own tokenizer test suite: for each vocabulary-only GGUF of its models/ folder, every
// string of the .inp file must give exactly the ids of the .out file (no BOS, special tokens not
// parsed, as test-tokenizer-0 runs them), and the ids must give the string back where the
// tokenizer is lossless. The files come from the pinned llama-cpp-python sdist
// (wasm/fetch_llama_vocab.sh, run by the Makefile). Run from the repository root.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "check.h"
#include "file_read.h"
#include "gguf.h"
#include "status.h"
#include "tokenizer.h"

struct vocab_test {
    const char* name;
    // SentencePiece puts a space in front of any text, so its pieces give " " + text back.
    bool space_prefix;
};

// Every one is lossless on its strings: byte-level vocabularies have a token for every byte, the
// others fall back to <0xNN> tokens.
static const vocab_test VOCABS[] = {
    {"llama-spm", true},  {"phi-3", true},           {"llama-bpe", false}, {"qwen2", false},
    {"qwen35", false},    {"gpt-2", false},          {"deepseek-llm", false}, {"deepseek-coder", false},
    {"starcoder", false}, {"falcon", false},         {"command-r", false}, {"mpt", false},
    {"refact", false},    {"gemma-4", false},
};

// test-tokenizer-0's format: strings separated by "\n__ggml_vocab_test__\n"; one line of ids each.
static std::vector<std::string> inputs_parse(const std::string& raw) {
    static const std::string SEP = "\n__ggml_vocab_test__\n";
    std::vector<std::string> out;
    for (size_t pos = 0; pos < raw.size();) {
        size_t next = raw.find(SEP, pos);
        if (next == std::string::npos) {
            out.push_back(raw.substr(pos));
            break;
        }
        out.push_back(raw.substr(pos, next - pos));
        pos = next + SEP.size();
    }
    return out;
}

static std::vector<std::vector<int32_t>> outputs_parse(const std::string& raw) {
    std::vector<std::vector<int32_t>> out;
    for (size_t pos = 0; pos < raw.size();) {
        size_t eol = raw.find('\n', pos);
        if (eol == std::string::npos) eol = raw.size();
        std::vector<int32_t> ids;
        const char* p = raw.c_str() + pos;
        const char* end = raw.c_str() + eol;
        while (p < end) {
            char* after;
            long v = strtol(p, &after, 10);
            if (after == p) break;
            ids.push_back((int32_t)v);
            p = after;
        }
        out.push_back(ids);
        pos = eol + 1;
    }
    return out;
}

static std::string decode(const tokenizer* t, const std::vector<int32_t>& ids) {
    std::string text, piece;
    for (int32_t id : ids) {
        if (tokenizer_piece(t, id, false, &piece) < 0) return "<bad id>";
        text += piece;
    }
    return text;
}

static void test_vocab(const std::string& dir, const vocab_test& v) {
    std::string path = dir + "/ggml-vocab-" + v.name + ".gguf";
    std::vector<uint8_t> gguf, inp, out;
    if (!file_read(path.c_str(), &gguf) || !file_read((path + ".inp").c_str(), &inp) ||
        !file_read((path + ".out").c_str(), &out)) {
        fprintf(stderr, "FAIL cannot read %s{,.inp,.out} (run wasm/fetch_llama_vocab.sh)\n", path.c_str());
        g_failed++;
        return;
    }
    gguf_file f;
    tokenizer* t = nullptr;
    CHECK(gguf_open(&f, gguf.data(), gguf.size()) == WL_OK && f.tensors.empty());
    CHECK(tokenizer_init(&t, &f) == WL_OK);
    if (!t) return;
    std::vector<std::string> texts = inputs_parse(std::string(inp.begin(), inp.end()));
    std::vector<std::vector<int32_t>> expected = outputs_parse(std::string(out.begin(), out.end()));
    CHECK(texts.size() == expected.size() && texts.size() > 30);
    int failed = 0, round_trips = 0;
    for (size_t i = 0; i < texts.size() && i < expected.size(); i++) {
        std::vector<int32_t> ids;
        tokenizer_encode(t, texts[i].data(), (int)texts[i].size(), false, false, &ids);
        CHECK(ids == expected[i]);
        if (ids != expected[i] && failed++ < 5) {
            fprintf(stderr, "  %s: '%s'\n    got      %s\n    expected %s\n", v.name, texts[i].c_str(),
                    ids_str(ids).c_str(), ids_str(expected[i]).c_str());
        }
        std::string back = decode(t, ids), want = (v.space_prefix && !texts[i].empty() ? " " : "") + texts[i];
        CHECK(back == want);
        if (back != want) fprintf(stderr, "  %s: '%s' decodes to '%s'\n", v.name, want.c_str(), back.c_str());
        round_trips++;
    }
    printf("%-15s %zu strings, %d differ from llama.cpp, %d round trips\n", v.name, texts.size(), failed, round_trips);
    tokenizer_free(t);
}

int main(int argc, char** argv) {
    std::string dir = argc > 1 ? argv[1] : "wasm/third_party/llama-vocab";
    for (const vocab_test& v : VOCABS) test_vocab(dir, v);
    return check_report();
}
