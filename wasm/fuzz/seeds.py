"""Seed inputs for the fuzz targets, written into a folder per target (build/fuzz/seeds/<target>/).

Made fresh for every campaign rather than committed: tiny synthetic models (every architecture, float
and quantized weights), the real headers of both default models cut at several points (and whole, up
to their tensor data), valid and damaged Brotli streams, and sampler parameter sets. Deterministic.

    python wasm/fuzz/seeds.py build/fuzz/seeds
"""
import struct
import sys
from pathlib import Path

import brotli
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "engine"))
import synthetic_gguf  # noqa: E402  (the engine tests' tiny models)

MODELS = [ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf", ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"]


def tiny_models(out: Path) -> None:
    """The engine tests' synthetic models at fuzzing size: a few KB each, loaded and run in microseconds."""
    synthetic_gguf.N_EMBD, synthetic_gguf.N_HEAD, synthetic_gguf.N_HEAD_KV = 16, 2, 1
    synthetic_gguf.HEAD_DIM, synthetic_gguf.N_FF, synthetic_gguf.N_LAYER = 8, 32, 1
    for arch in ("llama", "phi3"):
        synthetic_gguf.write_model(out / f"tiny-{arch}.gguf", arch=arch)


def header_size(path: Path) -> int:
    """Where the tensor data starts: the header, metadata and tensor infos end there."""
    from gguf import GGUFReader
    return GGUFReader(str(path)).data_offset


def real_headers(out: Path) -> None:
    """Both default models' headers, whole and cut: their real metadata (vocabularies, templates)."""
    for path in MODELS:
        if not path.is_file():
            print(f"seeds: {path} is missing, no real header from it", file=sys.stderr)
            continue
        n = header_size(path)
        head = path.read_bytes()[:n + 4096]
        for cut in (256, 4096, 65536, n, n + 4096):
            (out / f"{path.stem}-head{cut}.gguf").write_bytes(head[:cut])


def tokenizer_seeds(out: Path) -> None:
    """A flags byte (bit 0: Gemma 3, bit 1: add BOS, bit 2: parse specials), then text."""
    texts = ["Hello world", " leading and  double  spaces\n\n\ttabs", "<|im_start|>user\nhi<|im_end|>",
             "<start_of_turn>model\n<b>x</b><eos>", "Ελληνικά 日本語 한국어 🌍🏳️‍🌈", "e\u0301 \u200b \xa0 \u3000",
             "def f(x):\n    return {'a': [1, 2]}  # c\n", "12345678901234 3.14159 1e-9", "\u2581\u2581x"]
    raw = [b"\xc3 \xe2\x82 \x80\x80 \xe0( end", b"\xf0\x9f\x91", bytes(range(256))]
    for i, text in enumerate([t.encode() for t in texts] + raw):
        for flags in (0, 1, 5, 6):
            (out / f"text{i:02d}-{flags}").write_bytes(bytes([flags]) + text)


def stream_seeds(out: Path) -> None:
    """A count of chunk lengths, the lengths, then bytes: valid Brotli streams of several shapes, one with
    bytes after its end, cut ones, and bytes that are not Brotli at all."""
    rng = np.random.default_rng(0)
    datas = [b"", b"a", b"The quick brown fox jumps over the lazy dog. " * 20, bytes(range(256)) * 64,
             rng.integers(0, 16, 20000, dtype=np.uint8).tobytes()]
    streams = [brotli.compress(d, quality=q, lgwin=18) for d in datas for q in (0, 5, 11)]
    streams += [streams[3] + b"x", streams[5][:len(streams[5]) // 2], b"\x00" * 64, bytes(range(64))]
    for i, s in enumerate(streams):
        for lens in (b"", b"\x01", b"\x07\x00\x40", b"\xff\x03\x00\x10"):
            (out / f"br{i:02d}-{len(lens)}").write_bytes(bytes([len(lens)]) + lens + s)


def sampler_seeds(out: Path) -> None:
    """temperature, top_p, min_p, repeat_penalty (f32); top_k, repeat_last_n, seed, vocabulary size (u32);
    a count of recent ids and the ids (u32 each); then logits (f32)."""
    inf, nan = float("inf"), float("nan")
    params = [(0.8, 0.95, 0.05, 1.1, 40, 64), (0.0, 1.0, 0.0, 1.0, 0, 0), (1e-30, 0.5, 0.5, inf, 1, 8),
              (inf, 1e-30, 1.0, 1e-30, 70000, 300), (1.0, 0.9, 0.0, 1.3, 65536, 64), (-1.0, nan, 0.1, 1.0, 5, 1)]
    logit_sets = [[1.0, 2.0, 3.0], [nan, 1.0, -inf, inf], [0.0] * 8, [-inf] * 4, [nan] * 3, [3e38, -3e38, 1e-45],
                  list(np.random.default_rng(1).standard_normal(64).astype(np.float32)),
                  [nan if i % 3 == 0 else x for i, x in enumerate(np.random.default_rng(2).standard_normal(3000))]]
    for i, (temp, top_p, min_p, pen, top_k, last_n) in enumerate(params):
        for j, logits in enumerate(logit_sets):
            head = struct.pack("<4f4I", temp, top_p, min_p, pen, top_k, last_n + 8, i * 7 + j, 1000 * (j + 1))
            recent = bytes([4]) + struct.pack("<4I", 0, 1, 2, 3)
            (out / f"s{i}-{j}").write_bytes(head + recent + struct.pack(f"<{len(logits)}f", *logits))


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else ROOT / "build" / "fuzz" / "seeds")
    makers = {"fuzz_gguf": [tiny_models, real_headers], "fuzz_tokenizer": [tokenizer_seeds],
              "fuzz_streams": [stream_seeds], "fuzz_sampler": [sampler_seeds]}
    for target, fns in makers.items():
        folder = out / target
        folder.mkdir(parents=True, exist_ok=True)
        for fn in fns:
            fn(folder)
        print(f"seeds: {target}: {len(list(folder.iterdir()))} files in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
