#!/usr/bin/env python3
"""Randomized comparison of the engine's tokenizers with llama.cpp's (llama-cpp-python).

Generates seeded strings that mix scripts, emoji, digits, white space runs, contractions and
punctuation; tokenizes each with the engine (build/native/libwasmlm.so through its C API) and with
llama.cpp (the `llama_cpp` module, vocabulary-only load), without BOS and without special-token
parsing, as llama.cpp's own tokenizer tests do; prints every mismatch with its string and a table.

    python3 scripts/tokenizer_compare.py [--count 2000] [--seed 1] [--vocab NAME ...]

Needs `llama_cpp` importable (the optional extra) and the test vocabularies
(make -C wasm third_party/llama-vocab/LICENSE). Exits 1 on any mismatch.
"""

import argparse
import ctypes
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOCAB_DIR = ROOT / "wasm" / "third_party" / "llama-vocab"
LIBRARY = ROOT / "build" / "native" / "libwasmlm.so"
VOCABS = ["llama-spm", "llama-bpe", "phi-3", "qwen2", "qwen35", "gpt-2", "deepseek-llm", "deepseek-coder",
          "starcoder", "falcon", "command-r", "mpt", "refact", "gemma-4"]

# ---- strings ----

WORDS = ["Hello", "world", "the", "ünïcödé", "naïve", "café", "Straße", "ΑΘΗΝΑ", "привет", "Москва", "日本語",
         "我想在", "工作", "한국어", "ภาษาไทย", "हिन्दी", "مرحبا", "שלום", "ελληνικά", "ǅemal", "ﬁne", "Ｆｕｌｌ"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'x"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\u00a0", "\u3000", "\u2009", "\u2028", "\u0085",
          "\v", "\f", "\r"]
PUNCT = list("!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~") + ["…", "—", "“", "”", "‘", "’", "。", "，", "、", "！", "（", "）",
                                                     "«", "»", "¿", "¡", "§", "€", "£", "¥", "©", "°", "±"]
EMOJI = ["😀", "😁", "🦙", "🚀", "✅", "❤️", "👍🏽", "👨‍👩‍👧‍👦", "😶‍🌫️", "🇫🇷", "🏳️‍🌈", "🤖", "⭐", "☕"]
MARKS = ["\u0301", "\u0308", "\u0327", "\u093f", "\u0e31", "\u05b7", "\u20dd", "\ufe0f"]


def random_codepoint(rng: random.Random) -> str:
    while True:
        cpt = rng.choice([rng.randrange(0x20, 0x800), rng.randrange(0x800, 0x10000), rng.randrange(0x10000, 0x30000)])
        if not 0xD800 <= cpt < 0xE000:
            return chr(cpt)


def random_piece(rng: random.Random) -> str:
    kind = rng.randrange(10)
    if kind == 0:
        return "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 13)))
    if kind == 1:
        return rng.choice(CONTRACTIONS)
    if kind == 2:
        return "".join(rng.choice(SPACES) for _ in range(rng.randrange(1, 4)))
    if kind == 3:
        return "".join(rng.choice(PUNCT) for _ in range(rng.randrange(1, 4)))
    if kind == 4:
        return rng.choice(EMOJI)
    if kind == 5:
        return rng.choice(WORDS) + rng.choice(MARKS)
    if kind == 6:
        return "".join(random_codepoint(rng) for _ in range(rng.randrange(1, 4)))
    if kind == 7:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randrange(1, 9)))
    return rng.choice(WORDS)


def random_strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(random_piece(rng) for _ in range(rng.randrange(1, 25))) for _ in range(count)]


# ---- the two tokenizers ----


class Engine:
    """The engine's C API over one vocabulary file."""

    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(LIBRARY))
        lib.wl_engine_init.restype = ctypes.c_void_p
        lib.wl_engine_init.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]
        lib.wl_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_int32), ctypes.c_int]
        lib.wl_last_error.restype = ctypes.c_char_p
        lib.wl_engine_free.argtypes = [ctypes.c_void_p]
        self.lib, self.data = lib, path.read_bytes()
        self.e = lib.wl_engine_init(self.data, len(self.data), 0, 1)
        if not self.e:
            raise RuntimeError(lib.wl_last_error().decode())

    def tokenize(self, text: bytes) -> list[int]:
        cap = len(text) * 2 + 16
        out = (ctypes.c_int32 * cap)()
        n = self.lib.wl_tokenize(self.e, text, len(text), 0, 0, out, cap)
        if n < 0:
            raise RuntimeError(self.lib.wl_last_error().decode())
        return list(out[:n])

    def close(self):
        self.lib.wl_engine_free(self.e)


class LlamaCpp:
    """llama.cpp's tokenizer (llama-cpp-python's low-level API), vocabulary only."""

    def __init__(self, path: Path):
        import llama_cpp

        self.llama_cpp = llama_cpp
        llama_cpp.llama_backend_init()
        # The callback must outlive every call into llama.cpp: kept on the class.
        LlamaCpp.quiet = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(LlamaCpp.quiet, ctypes.c_void_p())
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not self.model:
            raise RuntimeError(f"llama.cpp cannot load {path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)

    def tokenize(self, text: bytes) -> list[int]:
        cap = len(text) * 2 + 16
        out = (self.llama_cpp.llama_token * cap)()
        n = self.llama_cpp.llama_tokenize(self.vocab, text, len(text), out, cap, False, False)
        return list(out[:n])

    def close(self):
        self.llama_cpp.llama_model_free(self.model)


def compare(name: str, strings: list[str], show: int) -> tuple[int, float, float]:
    path = VOCAB_DIR / f"ggml-vocab-{name}.gguf"
    ours, theirs = Engine(path), LlamaCpp(path)
    mismatches, t_ours, t_theirs = 0, 0.0, 0.0
    for s in strings:
        b = s.encode()
        t0 = time.perf_counter()
        a = ours.tokenize(b)
        t1 = time.perf_counter()
        r = theirs.tokenize(b)
        t_theirs += time.perf_counter() - t1
        t_ours += t1 - t0
        if a != r:
            mismatches += 1
            if mismatches <= show:
                print(f"  {name}: {s!r}\n    engine    {a}\n    llama.cpp {r}")
    ours.close()
    theirs.close()
    return mismatches, t_ours, t_theirs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--vocab", nargs="*", default=VOCABS)
    p.add_argument("--show", type=int, default=5, help="mismatches printed per vocabulary")
    args = p.parse_args(argv)
    strings = random_strings(args.seed, args.count)
    size = sum(len(s.encode()) for s in strings)
    print(f"{args.count} strings ({size} bytes), seed {args.seed}")
    print(f"| vocabulary | mismatches | engine ms | llama.cpp ms |\n|---|---|---|---|")
    total = 0
    for name in args.vocab:
        n, t_ours, t_theirs = compare(name, strings, args.show)
        total += n
        print(f"| {name} | {n} / {len(strings)} | {t_ours * 1000:.0f} | {t_theirs * 1000:.0f} |")
    print(f"{total} mismatches in {len(args.vocab) * len(strings)} comparisons")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
