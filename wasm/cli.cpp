// wasmlm-cli: the command line over the C API (api.h), for people, tests and benchmarks. The same
// source is built natively (build/native/wasmlm-cli) and for Node.js with each wasm build
// (build/node/wasmlm-cli-<build>.js, files through NODERAWFS: wasm/Makefile).
//
//   wasmlm-cli defaults
//   wasmlm-cli info GGUF
//   wasmlm-cli tokenize GGUF TEXT [--parse-special]
//   wasmlm-cli logits GGUF --ids JSON [--top K] [--ctx N]
//   wasmlm-cli perplexity GGUF FILE [--ctx 512]
//   wasmlm-cli generate GGUF PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
//                                   [--repeat-penalty R] [--seed S]
//   wasmlm-cli bench GGUF [--prompt 128] [--gen 64] [--depth 0]
//   wasmlm-cli layers GGUF --ids JSON [--positions JSON] [--logits FILE] [--perturb-layer L [--perturb A]]
// Every command also takes --threads N (default 1), --ctx N where it makes sense, and
// --cache-type f16|q8_0 (the KV cache: q8_0 needs half the memory of f16). The sampler's
// defaults are the engine's (wl_defaults_json). Errors: one line on stderr, exit 1 (bad
// arguments: exit 2).
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "api.h"

// ---------------------------------------------------------------------------------------------
// failing

[[noreturn]] static void die(int code, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fprintf(stderr, "error: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
    exit(code);
}

[[noreturn]] static void die_engine(const char* what) { die(1, "%s: %s", what, wl_last_error()); }

static double now_ms(void) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------------------------------------
// arguments: positionals, then --name value options

struct args {
    std::vector<std::string> pos;
    std::vector<std::pair<std::string, const char*>> opts;  // values point into argv
    std::vector<std::string> flags;
};

static const char* FLAGS[] = {"--parse-special"};

static args args_parse(int argc, char** argv) {
    args a;
    for (int i = 2; i < argc; i++) {
        std::string s = argv[i];
        bool is_flag = std::find_if(std::begin(FLAGS), std::end(FLAGS), [&](const char* f) { return s == f; }) !=
                       std::end(FLAGS);
        if (is_flag) a.flags.push_back(s);
        else if (s.size() > 1 && s[0] == '-' && !isdigit((unsigned char)s[1])) {
            if (i + 1 >= argc) die(2, "option %s needs a value", s.c_str());
            a.opts.push_back({s, argv[++i]});
        } else a.pos.push_back(s);
    }
    return a;
}

static const char* opt_str(args* a, const char* name, const char* fallback) {
    for (auto it = a->opts.begin(); it != a->opts.end(); ++it)
        if (it->first == name) {
            const char* value = it->second;
            a->opts.erase(it);
            return value;
        }
    return fallback;
}

static double opt_num(args* a, const char* name, double fallback) {
    const char* s = opt_str(a, name, nullptr);
    if (!s) return fallback;
    char* end;
    double v = strtod(s, &end);
    if (end == s || *end) die(2, "option %s expects a number, got '%s'", name, s);
    return v;
}

static bool flag(args* a, const char* name) { return std::find(a->flags.begin(), a->flags.end(), name) != a->flags.end(); }

// After a command took its options: anything left is a mistake.
static void args_done(const args& a, size_t n_pos, const char* usage) {
    if (!a.opts.empty()) die(2, "unknown option %s (usage: %s)", a.opts[0].first.c_str(), usage);
    if (a.pos.size() != n_pos) die(2, "usage: %s", usage);
}

// ---------------------------------------------------------------------------------------------
// files and the engine

static std::string file_read(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) die(1, "cannot open %s: %s", path, strerror(errno));
    std::string data;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) data.append(buf, n);
    bool failed = ferror(f);
    fclose(f);
    if (failed) die(1, "cannot read %s", path);
    return data;
}

struct loaded {
    uint8_t* bytes;  // the GGUF file (wl_gguf_alloc: may be above 2 GiB in wasm); the engine uses its weights in place
    wl_engine* e;
    double load_ms;
};

static int g_kv_type = 1;  // --cache-type, taken before each command parses its own options (1: f16)

// --cache-type f16|q8_0 as the ggml type id wl_engine_init_kv takes.
static void kv_type_take(args* a) {
    const char* s = opt_str(a, "--cache-type", "f16");
    if (!strcmp(s, "f16")) g_kv_type = 1;
    else if (!strcmp(s, "q8_0")) g_kv_type = 8;
    else die(2, "--cache-type must be f16 or q8_0, got '%s'", s);
}

// The whole file in one wl_gguf_alloc region, read in pieces of at most 1 GiB (fread's count and
// Node.js's reads stay well inside 32 bits). In wasm the region is the engine's own memory.
static uint8_t* gguf_read(const char* path, size_t* size) {
    FILE* f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) die(1, "cannot open %s: %s", path, strerror(errno));
    if ((unsigned long long)st.st_size > SIZE_MAX) die(1, "%s: %lld bytes do not fit in memory", path, (long long)st.st_size);
    *size = (size_t)st.st_size;
    uint8_t* p = wl_gguf_alloc(*size);
    if (!p && *size) die(1, "%s: cannot reserve %zu bytes of memory", path, *size);
    for (size_t at = 0; at < *size;) {
        size_t n = fread(p + at, 1, std::min(*size - at, (size_t)1 << 30), f);
        if (n == 0) die(1, "cannot read %s", path);
        at += n;
    }
    fclose(f);
    return p;
}

static loaded engine_load(const char* path, int n_ctx, int n_threads) {
    loaded l;
    double t0 = now_ms();
    size_t size = 0;
    l.bytes = gguf_read(path, &size);
    l.e = wl_engine_init_kv(l.bytes, size, n_ctx, n_threads, g_kv_type);
    if (!l.e) die(1, "%s: %s", path, wl_last_error());
    l.load_ms = now_ms() - t0;
    return l;
}

static void engine_free(loaded* l) {
    wl_engine_free(l->e);
    wl_gguf_free(l->bytes);
}

static std::string info_json(wl_engine* e) {
    std::string s(4096, '\0');
    int n = wl_engine_info_json(e, &s[0], (int)s.size());
    if (n < 0) die_engine("info");
    s.resize(std::min<size_t>((size_t)n, s.size() - 1));
    return s;
}

static std::string defaults_json(void) {
    std::string s(512, '\0');
    int n = wl_defaults_json(&s[0], (int)s.size());
    if (n < 0 || n >= (int)s.size()) die(1, "defaults: %s", wl_last_error());
    s.resize((size_t)n);
    return s;
}

static std::string stats_json(wl_engine* e) {
    std::string s(4096, '\0');
    int n = wl_stats_json(e, &s[0], (int)s.size());
    if (n < 0) die_engine("stats");
    s.resize(std::min<size_t>((size_t)n, s.size() - 1));
    return s;
}

// The value after "key": in a flat JSON text of ours (info and stats), as a number or a word.
static double json_number(const std::string& json, const char* key) {
    std::string k = std::string("\"") + key + "\": ";
    size_t at = json.find(k);
    return at == std::string::npos ? NAN : strtod(json.c_str() + at + k.size(), nullptr);
}

static std::string json_word(const std::string& json, const char* key) {
    std::string k = std::string("\"") + key + "\": ";
    size_t at = json.find(k);
    if (at == std::string::npos) return "";
    at += k.size();
    size_t end = json.find_first_of(",}", at);
    return json.substr(at, end - at);
}

static std::vector<int32_t> tokenize(wl_engine* e, const std::string& text, bool add_bos, bool parse_special) {
    std::vector<int32_t> ids(text.size() + 8);
    int n = wl_tokenize(e, text.data(), (int)text.size(), add_bos, parse_special, ids.data(), (int)ids.size());
    if (n < 0) die_engine("tokenize");
    if ((size_t)n > ids.size()) {
        ids.resize((size_t)n);
        n = wl_tokenize(e, text.data(), (int)text.size(), add_bos, parse_special, ids.data(), (int)ids.size());
    }
    ids.resize((size_t)n);
    return ids;
}

static std::string piece(wl_engine* e, int32_t id) {
    char buf[256];
    int n = wl_token_piece(e, id, buf, sizeof(buf));
    if (n < 0) die_engine("token piece");
    return std::string(buf, (size_t)std::min<int>(n, sizeof(buf)));
}

static void eval(wl_engine* e, const int32_t* ids, int n, bool all_logits) {
    if (wl_eval(e, ids, n, all_logits) < 0) die_engine("eval");
}

// "[1, 2, 3]" -> ids (or the values of another option `name`)
static std::vector<int32_t> ids_parse(const char* s, const char* name = "--ids") {
    std::vector<int32_t> ids;
    const char* p = s;
    while (*p == ' ') p++;
    if (*p++ != '[') die(2, "%s expects a JSON list of integers, got '%s'", name, s);
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ']') break;
        char* end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX) die(2, "%s expects a JSON list of integers, got '%s'", name, s);
        ids.push_back((int32_t)v);
        p = end;
    }
    if (ids.empty()) die(2, "%s needs at least one id", name);
    return ids;
}

// ---------------------------------------------------------------------------------------------
// commands

static int cmd_info(args a) {
    int threads = (int)opt_num(&a, "--threads", 1);
    int n_ctx = (int)opt_num(&a, "--ctx", 0);
    args_done(a, 1, "info GGUF");
    loaded l = engine_load(a.pos[0].c_str(), n_ctx, threads);
    printf("%s\n", info_json(l.e).c_str());
    engine_free(&l);
    return 0;
}

static int cmd_tokenize(args a) {
    bool special = flag(&a, "--parse-special");
    args_done(a, 2, "tokenize GGUF TEXT [--parse-special]");
    loaded l = engine_load(a.pos[0].c_str(), 1, 1);
    std::vector<int32_t> ids = tokenize(l.e, a.pos[1], true, special);
    printf("[");
    for (size_t i = 0; i < ids.size(); i++) printf("%s%d", i ? ", " : "", ids[i]);
    printf("]\n");
    engine_free(&l);
    return 0;
}

// Top-K [id, logit] pairs of every position, highest first.
static int cmd_logits(args a) {
    const char* ids_text = opt_str(&a, "--ids", nullptr);
    int top = (int)opt_num(&a, "--top", 5);
    int threads = (int)opt_num(&a, "--threads", 1);
    int n_ctx = (int)opt_num(&a, "--ctx", 0);  // the context the model is set up for (rope factors depend on it)
    args_done(a, 1, "logits GGUF --ids JSON [--top K] [--ctx N]");
    if (!ids_text) die(2, "logits needs --ids JSON");
    std::vector<int32_t> ids = ids_parse(ids_text);
    loaded l = engine_load(a.pos[0].c_str(), std::max(n_ctx, (int)ids.size()), threads);
    eval(l.e, ids.data(), (int)ids.size(), true);
    int n_vocab = wl_n_vocab(l.e);
    top = std::max(1, std::min(top, n_vocab));
    const float* logits = wl_logits(l.e);
    std::vector<int32_t> order((size_t)n_vocab);
    printf("[");
    for (size_t t = 0; t < ids.size(); t++) {
        const float* row = logits + t * (size_t)n_vocab;
        for (int i = 0; i < n_vocab; i++) order[(size_t)i] = i;
        std::partial_sort(order.begin(), order.begin() + top, order.end(),
                          [&](int32_t x, int32_t y) { return row[x] > row[y]; });
        printf("%s[", t ? ",\n " : "");
        for (int i = 0; i < top; i++) printf("%s[%d, %.5f]", i ? ", " : "", order[(size_t)i], row[order[(size_t)i]]);
        printf("]");
    }
    printf("]\n");
    engine_free(&l);
    return 0;
}

// -log p(target) under a row of logits
static double nll(const float* row, int n_vocab, int32_t target) {
    float max = row[0];
    for (int i = 1; i < n_vocab; i++) max = std::max(max, row[i]);
    double sum = 0;
    for (int i = 0; i < n_vocab; i++) sum += exp((double)(row[i] - max));
    return log(sum) - (double)(row[target] - max);
}

// llama.cpp's protocol: the whole file tokenized once, cut into chunks of ctx tokens, each chunk
// starting with BOS (replacing its first token) where the model adds one, evaluated from an
// empty cache; the logits of its second half (but the last) score the token that follows.
static int cmd_perplexity(args a) {
    int ctx = (int)opt_num(&a, "--ctx", 512);
    int threads = (int)opt_num(&a, "--threads", 1);
    args_done(a, 2, "perplexity GGUF FILE [--ctx 512]");
    if (ctx < 4) die(2, "--ctx must be at least 4");
    std::string text = file_read(a.pos[1].c_str());
    loaded l = engine_load(a.pos[0].c_str(), ctx, threads);
    std::string info = info_json(l.e);
    bool add_bos = json_word(info, "add_bos") == "true";
    int32_t bos = (int32_t)json_number(info, "bos");
    std::vector<int32_t> tokens = tokenize(l.e, text, true, false);
    int n_chunks = (int)(tokens.size() / (size_t)ctx);
    if (n_chunks == 0) die(1, "%s has %zu tokens, fewer than one chunk of %d", a.pos[1].c_str(), tokens.size(), ctx);

    const int first = ctx / 2, piece_len = 64, n_vocab = wl_n_vocab(l.e);
    double nll_sum = 0;
    long count = 0;
    for (int c = 0; c < n_chunks; c++) {
        std::vector<int32_t> chunk(tokens.begin() + (long)c * ctx, tokens.begin() + (long)(c + 1) * ctx);
        if (add_bos) chunk[0] = bos;
        if (wl_kv_truncate(l.e, 0) < 0) die_engine("kv truncate");
        eval(l.e, chunk.data(), first, false);
        for (int start = first; start < ctx; start += piece_len) {  // logits a piece at a time
            int n = std::min(piece_len, ctx - start);
            eval(l.e, chunk.data() + start, n, true);
            const float* logits = wl_logits(l.e);
            for (int i = 0; i < n && start + i < ctx - 1; i++) {
                nll_sum += nll(logits + (size_t)i * n_vocab, n_vocab, chunk[(size_t)(start + i + 1)]);
                count++;
            }
        }
        fprintf(stderr, "chunk %d/%d: perplexity so far %.4f\n", c + 1, n_chunks, exp(nll_sum / (double)count));
    }
    printf("{\"perplexity\": %.4f, \"chunks\": %d, \"tokens_scored\": %ld}\n", exp(nll_sum / (double)count), n_chunks,
           count);
    engine_free(&l);
    return 0;
}

static wl_sampler* sampler_from(args* a) {
    std::string d = defaults_json();
    float temp = (float)opt_num(a, "--temp", json_number(d, "temperature"));
    int top_k = (int)opt_num(a, "--top-k", json_number(d, "top_k"));
    float top_p = (float)opt_num(a, "--top-p", json_number(d, "top_p"));
    float min_p = (float)opt_num(a, "--min-p", json_number(d, "min_p"));
    float penalty = (float)opt_num(a, "--repeat-penalty", json_number(d, "repeat_penalty"));
    uint64_t seed = (uint64_t)opt_num(a, "--seed", json_number(d, "seed"));
    wl_sampler* s = wl_sampler_init(temp, top_k, top_p, min_p, penalty, (int)json_number(d, "repeat_last_n"), seed);
    if (!s) die(2, "sampler: %s", wl_last_error());
    return s;
}

static int cmd_generate(args a) {
    int n_gen = (int)opt_num(&a, "-n", 64);
    int threads = (int)opt_num(&a, "--threads", 1);
    int n_ctx = (int)opt_num(&a, "--ctx", 0);
    wl_sampler* s = sampler_from(&a);
    args_done(a, 2, "generate GGUF PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] "
                    "[--repeat-penalty R] [--seed S]");
    loaded l = engine_load(a.pos[0].c_str(), n_ctx, threads);
    // the prompt is the user's own text on their machine: template tokens written in it count
    std::vector<int32_t> prompt = tokenize(l.e, a.pos[1], true, true);
    if (prompt.empty()) die(2, "the prompt gives no tokens");
    for (int32_t id : prompt) wl_sampler_accept(s, id);
    eval(l.e, prompt.data(), (int)prompt.size(), false);
    for (int i = 0; i < n_gen; i++) {
        int32_t id = wl_sample(s, l.e);
        if (id < 0) die_engine("sample");
        if (wl_is_eog(l.e, id)) break;
        std::string p = piece(l.e, id);
        fwrite(p.data(), 1, p.size(), stdout);
        fflush(stdout);
        if (i + 1 == n_gen) break;
        int rc = wl_eval(l.e, &id, 1, false);
        if (rc == WL_ERR_CONTEXT_FULL) break;
        if (rc < 0) die_engine("eval");
    }
    printf("\n");
    fprintf(stderr, "%s\n", stats_json(l.e).c_str());
    wl_sampler_free(s);
    engine_free(&l);
    return 0;
}

// A fixed English text, repeated as needed, gives the prompt tokens.
static const char* BENCH_TEXT =
    "The old lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a lamp and a "
    "notebook in which he wrote down the ships he saw, the colour of the sea, and the direction of the wind. ";

static const int BENCH_FILL_BATCH = 256;

static int cmd_bench(args a) {
    int n_prompt = (int)opt_num(&a, "--prompt", 128);
    int n_gen = (int)opt_num(&a, "--gen", 64);
    int threads = (int)opt_num(&a, "--threads", 1);
    int depth = (int)opt_num(&a, "--depth", 0);
    args_done(a, 1, "bench GGUF [--prompt 128] [--gen 64] [--depth 0]");
    if (n_prompt < 1 || n_gen < 1) die(2, "--prompt and --gen must be positive");
    if (depth < 0) die(2, "--depth must not be negative");
    loaded l = engine_load(a.pos[0].c_str(), depth + n_prompt + n_gen, threads);
    std::string text;
    std::vector<int32_t> prompt;
    while ((int)prompt.size() < depth + n_prompt) {
        text += BENCH_TEXT;
        prompt = tokenize(l.e, text, true, false);
    }
    prompt.resize((size_t)(depth + n_prompt));
    // --depth: the cache holds that many tokens before the timed prompt (llama-bench's -d), untimed,
    // in batches as a chat would have sent them, so the figures are those at that position
    for (int done = 0; done < depth; done += BENCH_FILL_BATCH)
        eval(l.e, prompt.data() + done, std::min(BENCH_FILL_BATCH, depth - done), false);
    wl_sampler* greedy = wl_sampler_init(0, 0, 1, 0, 1, 0, 0);

    double t0 = now_ms();
    eval(l.e, prompt.data() + depth, n_prompt, false);
    double t_prefill = now_ms() - t0;
    int32_t id = wl_sample(greedy, l.e);
    double ttft = now_ms() - t0;
    double t1 = now_ms();
    for (int i = 0; i < n_gen; i++) {
        eval(l.e, &id, 1, false);
        id = wl_sample(greedy, l.e);
    }
    double t_decode = now_ms() - t1;

    std::string info = info_json(l.e), stats = stats_json(l.e);
    printf("{\"prefill_tps\": %.2f, \"decode_tps\": %.2f, \"ttft_ms\": %.2f, \"load_ms\": %.2f, \"depth\": %d, "
           "\"memory_bytes\": %.0f, \"weights_bytes\": %.0f, \"kv_bytes\": %.0f, \"threads\": %d, \"simd\": %s, "
           "\"stats\": %s}\n",
           n_prompt * 1000.0 / t_prefill, n_gen * 1000.0 / t_decode, ttft, l.load_ms, depth, json_number(stats, "heap"),
           json_number(info, "weights_bytes"), json_number(info, "kv_bytes"), (int)json_number(info, "threads"),
           json_word(info, "simd").c_str(), stats.c_str());
    wl_sampler_free(greedy);
    engine_free(&l);
    return 0;
}

// The residual stream after the embeddings and after every layer at chosen positions (default:
// all) of one sequence, as exact float32 values (%.9g); --logits FILE also writes the logits of
// those positions as raw little-endian float32 (n_positions, n_vocab). --perturb-layer is the
// test-only fault of wl_debug_perturb. docs/fidelity.md.
static int cmd_layers(args a) {
    const char* ids_text = opt_str(&a, "--ids", nullptr);
    const char* positions_text = opt_str(&a, "--positions", nullptr);
    const char* logits_path = opt_str(&a, "--logits", nullptr);
    int perturb_layer = (int)opt_num(&a, "--perturb-layer", -1);
    float perturb = (float)opt_num(&a, "--perturb", 0.05);
    int threads = (int)opt_num(&a, "--threads", 1);
    args_done(a, 1, "layers GGUF --ids JSON [--positions JSON] [--logits FILE] [--perturb-layer L [--perturb A]]");
    if (!ids_text) die(2, "layers needs --ids JSON");
    std::vector<int32_t> ids = ids_parse(ids_text);
    std::vector<int32_t> positions;
    if (positions_text) positions = ids_parse(positions_text, "--positions");
    else
        for (size_t t = 0; t < ids.size(); t++) positions.push_back((int32_t)t);
    for (int32_t p : positions)
        if ((size_t)p >= ids.size()) die(2, "--positions: %d is not a position of the %zu ids", p, ids.size());
    loaded l = engine_load(a.pos[0].c_str(), (int)ids.size(), threads);
    if (wl_debug_perturb(l.e, perturb_layer, perturb) < 0) die_engine("perturb");
    if (wl_capture_positions(l.e, positions.data(), (int)positions.size()) < 0) die_engine("capture");
    eval(l.e, ids.data(), (int)ids.size(), logits_path != nullptr);
    std::string info = info_json(l.e);
    int n_layer = (int)json_number(info, "n_layer"), n_embd = (int)json_number(info, "n_embd");
    const float* states = wl_captured_states(l.e);
    printf("{\"n_layer\": %d, \"n_embd\": %d, \"positions\": [", n_layer, n_embd);
    for (size_t i = 0; i < positions.size(); i++) printf("%s%d", i ? ", " : "", positions[i]);
    printf("],\n \"states\": [");
    for (size_t i = 0; i < positions.size(); i++) {
        printf("%s[", i ? ",\n  " : "");
        for (int r = 0; r <= n_layer; r++) {
            const float* row = states + (i * (size_t)(n_layer + 1) + (size_t)r) * (size_t)n_embd;
            printf("%s[", r ? ", " : "");
            for (int c = 0; c < n_embd; c++) printf("%s%.9g", c ? ", " : "", row[c]);
            printf("]");
        }
        printf("]");
    }
    printf("]}\n");
    if (logits_path) {
        FILE* f = fopen(logits_path, "wb");
        if (!f) die(1, "cannot open %s: %s", logits_path, strerror(errno));
        size_t n_vocab = (size_t)wl_n_vocab(l.e);
        bool ok = true;
        for (int32_t p : positions) ok = ok && fwrite(wl_logits(l.e) + (size_t)p * n_vocab, sizeof(float), n_vocab, f) == n_vocab;
        if (fclose(f) != 0 || !ok) die(1, "cannot write %s", logits_path);
    }
    engine_free(&l);
    return 0;
}

static int cmd_defaults(args a) {
    args_done(a, 0, "defaults");
    printf("%s\n", defaults_json().c_str());
    return 0;
}

int main(int argc, char** argv) {
    const char* usage = "usage: wasmlm-cli {defaults|info|tokenize|logits|perplexity|generate|bench|layers} GGUF ...";
    if (argc < 2) die(2, "%s", usage);
    std::string cmd = argv[1];
    args a = args_parse(argc, argv);
    kv_type_take(&a);
    if (cmd == "defaults") return cmd_defaults(a);
    if (cmd == "info") return cmd_info(a);
    if (cmd == "tokenize") return cmd_tokenize(a);
    if (cmd == "logits") return cmd_logits(a);
    if (cmd == "perplexity") return cmd_perplexity(a);
    if (cmd == "generate") return cmd_generate(a);
    if (cmd == "bench") return cmd_bench(a);
    if (cmd == "layers") return cmd_layers(a);
    die(2, "unknown command '%s' (%s)", cmd.c_str(), usage);
}
