"""Vocabulary-only GGUF files (tokenizer metadata, no tensors) through the real command line, native
and under Node.js: they open whatever their architecture, tokenize as llama.cpp does, refuse to run
a model, and a file with neither tensors nor a usable tokenizer gets one clear error.

The files are llama.cpp's own tokenizer test suite (wasm/fetch_llama_vocab.sh); every string of it
is checked in wasm/tests/test_tokenizer_vocab.cpp, here one per tokenizer kind through the CLI.
"""

import pytest
from gguf import GGUFWriter

from conftest import ROOT, make, run_cli, run_json

VOCAB_DIR = ROOT / "wasm" / "third_party" / "llama-vocab"
SEPARATOR = "\n__ggml_vocab_test__\n"
# SentencePiece, Llama 3 (whole words), Qwen 3.5 (marks as letters), DeepSeek (regex passes), Gemma 4 (UTF-8 BPE)
VOCABS = ["llama-spm", "llama-bpe", "qwen35", "deepseek-llm", "gemma-4"]
TEXT = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～"


def vocab_path(name: str):
    make("third_party/llama-vocab/LICENSE")  # fetches the suite once
    return VOCAB_DIR / f"ggml-vocab-{name}.gguf"


def expected_ids(name: str, text: str) -> list[int]:
    path = vocab_path(name)
    texts = path.with_name(path.name + ".inp").read_text(encoding="utf-8").split(SEPARATOR)
    lines = path.with_name(path.name + ".out").read_text(encoding="utf-8").splitlines()
    return [int(x) for x in lines[texts.index(text)].split()]


@pytest.mark.parametrize("name", VOCABS)
def test_vocab_only_tokenizes_as_llama_cpp(cli, name):
    info = run_json(cli, "info", vocab_path(name))
    assert info["vocab_only"] is True and info["n_vocab"] > 30000
    bos = [info["bos"]] if info["add_bos"] else []
    assert run_json(cli, "tokenize", vocab_path(name), TEXT) == bos + expected_ids(name, TEXT)


def test_vocab_only_keeps_its_architecture(cli):
    # qwen35's file says "qwen2", an architecture the engine does not run: the tokenizer is enough
    info = run_json(cli, "info", vocab_path("qwen35"))
    assert info["arch"] == "qwen2" and info["n_vocab"] == 151936


def test_vocab_only_refuses_to_run_the_model(cli):
    result = run_cli(cli, "generate", vocab_path("llama-bpe"), "Hello", "-n", "2")
    assert result.returncode == 1
    assert "only a vocabulary" in result.stderr


def test_no_tensors_and_no_tokenizer_is_one_clear_error(cli, tmp_path):
    path = tmp_path / "empty.gguf"
    w = GGUFWriter(str(path), "bert")
    w.add_tokenizer_model("bert")
    w.add_token_list(["[PAD]", "[UNK]", "hello"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    result = run_cli(cli, "tokenize", path, "hello")
    assert result.returncode == 1
    assert "no tensors and no tokenizer this engine can use" in result.stderr
    assert "unsupported tokenizer.ggml.model 'bert'" in result.stderr
