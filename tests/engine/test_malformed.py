"""Malformed GGUF files give a one-line error and exit code 1: never a crash, a signal or a
sanitizer report. Natively under AddressSanitizer + UBSan, and in wasm under Node.js.

Files: a tiny valid model (synthetic_gguf.py) truncated at many offsets, with each header byte
flipped, with huge counts, lengths and dimensions patched in, and with hyperparameters that do
not match its tensors; plus the real SmolLM2 file cut short."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader

import synthetic_gguf
from conftest import ROOT, cli_command, make, model_path, run_cli

ASAN_CLI = ROOT / "build" / "native" / "asan" / "wasmlm-cli"


def asan_cli() -> list[str]:
    make(str(ROOT / "build" / "native" / "libwasmlm-asan.a"), str(ROOT / "build" / "native" / "asan" / "cli.o"))
    inputs = [ROOT / "build" / "native" / "asan" / "cli.o", ROOT / "build" / "native" / "libwasmlm-asan.a"]
    if not ASAN_CLI.exists() or ASAN_CLI.stat().st_mtime < max(p.stat().st_mtime for p in inputs):
        link = ["g++", "-fsanitize=address,undefined", "-pthread", "-o", str(ASAN_CLI), *map(str, inputs)]
        subprocess.run(link, check=True)
    return [str(ASAN_CLI)]


@pytest.fixture(scope="module", params=["native-asan", "node"])
def checked_cli(request):
    return asan_cli() if request.param == "native-asan" else cli_command("node")


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> bytes:
    return synthetic_gguf.write_model(tmp_path_factory.mktemp("gguf") / "valid.gguf").read_bytes()


def part_offset(field, index: int) -> int:
    """Byte offset of part `index` of a GGUFReader field."""
    return field.offset + sum(p.nbytes for p in field.parts[:index])


def patch(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


def u64(v: int) -> bytes:
    return int(v).to_bytes(8, "little")


def malformed_cases(valid: bytes, path: Path) -> list[tuple[str, bytes, str]]:
    """(name, file bytes, a word the error message must contain)"""
    path.write_bytes(valid)
    reader = GGUFReader(str(path))
    data_start = min(t.data_offset for t in reader.tensors)
    cases = []
    for cut in sorted(set(np.linspace(0, data_start, 60, dtype=int)) | {len(valid) - 1, data_start + 1000}):
        cases.append((f"truncated at {cut}", valid[:cut], ""))
    for i in range(24):
        cases.append((f"header byte {i} flipped", patch(valid, i, bytes([valid[i] ^ 0xFF])), ""))
    cases.append(("bad magic", patch(valid, 0, b"GGUX"), "magic"))
    cases.append(("version 7", patch(valid, 4, (7).to_bytes(4, "little")), "version"))
    cases.append(("2^63 tensors", patch(valid, 8, u64(1 << 63)), ""))
    cases.append(("2^64-1 keys", patch(valid, 16, u64(2**64 - 1)), ""))

    name = reader.fields["general.name"]
    cases.append(("huge string length", patch(valid, part_offset(name, 3), u64(1 << 62)), ""))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    cases.append(("huge array count", patch(valid, part_offset(tokens, 3), u64(1 << 61)), ""))
    tensor = reader.tensors[3].field  # parts: name length, name, n_dims, dims, type, offset
    cases.append(("5 dimensions", patch(valid, part_offset(tensor, 2), (5).to_bytes(4, "little")), "dimension"))
    cases.append(("huge dimension", patch(valid, part_offset(tensor, 3), u64(1 << 50)), ""))
    cases.append(("overflowing shape", patch(valid, part_offset(tensor, 3), u64(1 << 39) + u64(1 << 39)), ""))
    cases.append(("unknown tensor type", patch(valid, part_offset(tensor, 4), (99).to_bytes(4, "little")), "type"))
    cases.append(("tensor past the end", patch(valid, part_offset(tensor, 5), u64(1 << 40)), ""))

    def renamed(old: bytes, new: bytes) -> bytes:
        assert len(old) == len(new) and old in valid
        return valid.replace(old, new, 1)

    cases.append(("unknown architecture", renamed(b"\x05\x00\x00\x00\x00\x00\x00\x00llama", b"\x05\x00\x00\x00\x00\x00\x00\x00llamb"), "architecture"))
    cases.append(("missing key", renamed(b"llama.block_count", b"llama.block_cound"), "llama.block_count"))
    cases.append(("missing tensor", renamed(b"blk.1.ffn_up.weight", b"blk.1.ffn_uq.weight"), "blk.1.ffn_up.weight"))
    kv_heads = reader.fields["llama.attention.head_count_kv"]
    cases.append(("kv heads vs shapes", patch(valid, part_offset(kv_heads, 3), (4).to_bytes(4, "little")), "shape"))
    return cases


def check_error(cli, path: Path, word: str) -> str | None:
    result = run_cli(cli, "info", path, timeout=60)
    lines = result.stderr.strip().splitlines()
    if result.returncode != 1:
        return f"exit code {result.returncode}: {result.stderr.strip()[-500:]}"
    if len(lines) != 1 or not lines[0].startswith("error:"):
        return f"stderr is not one error line: {result.stderr.strip()[-500:]}"
    if word.lower() not in lines[0].lower():
        return f"message lacks {word!r}: {lines[0]}"
    return None


def test_valid_synthetic_model_loads(checked_cli, tmp_path, valid):
    path = tmp_path / "valid.gguf"
    path.write_bytes(valid)
    result = run_cli(checked_cli, "info", path)
    assert result.returncode == 0, result.stderr


def test_malformed_files_give_errors(checked_cli, tmp_path, valid):
    failures = []
    for i, (name, data, word) in enumerate(malformed_cases(valid, tmp_path / "valid.gguf")):
        path = tmp_path / f"case{i}.gguf"
        path.write_bytes(data)
        problem = check_error(checked_cli, path, word)
        if problem:
            failures.append(f"{name}: {problem}")
    assert not failures, "\n".join(failures)


def test_truncated_real_model(checked_cli, tmp_path):
    data = model_path("smollm2").read_bytes()
    failures = []
    for cut in [100, 10_000, 1_000_000, len(data) // 2, len(data) - 1]:
        path = tmp_path / "cut.gguf"
        path.write_bytes(data[:cut])
        problem = check_error(checked_cli, path, "")
        if problem:
            failures.append(f"cut at {cut}: {problem}")
    assert not failures, "\n".join(failures)
