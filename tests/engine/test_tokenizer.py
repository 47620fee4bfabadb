"""Tokenizers through the real command line: llama.cpp's ids for the reference strings, and special
tokens parsed only when asked (chat templates) so that user text cannot inject control tokens.

Runs the native CLI and the wasm build under Node.js (the `cli` fixture of conftest.py).
"""

import json

import pytest

from conftest import model_path, reference_file, run_json


def tokenize(cli, model, text, parse_special=False):
    return run_json(cli, "tokenize", model_path(model), text, *(["--parse-special"] if parse_special else []))


def reference_cases():
    data = json.loads(reference_file("tokenizer_vectors.json").read_text())
    return [(model, case["text"], case["ids"]) for model, cases in data["models"].items() for case in cases]


@pytest.mark.parametrize("model,text,ids", reference_cases())
def test_reference_ids(cli, model, text, ids):
    assert tokenize(cli, model, text, parse_special=True) == ids
    # none of the reference strings holds a control token, so both modes agree
    assert tokenize(cli, model, text) == ids


def test_chatml_control_tokens_only_when_parsed(cli):
    text = "<|im_start|>user\nHi<|im_end|>\n"
    parsed = tokenize(cli, "smollm2", text, parse_special=True)
    plain = tokenize(cli, "smollm2", text)
    assert parsed[0] == 1 and 2 in parsed  # <|im_start|>, <|im_end|>
    assert 1 not in plain and 2 not in plain
    assert len(plain) > len(parsed)


def test_gemma_turn_tokens_and_user_defined_runs(cli):
    text = "<start_of_turn>user\nHi<end_of_turn>\n"
    parsed = tokenize(cli, "gemma3", text, parse_special=True)
    plain = tokenize(cli, "gemma3", text)
    assert parsed[:2] == [2, 105] and 106 in parsed  # BOS, <start_of_turn>, <end_of_turn>
    assert plain[0] == 2 and 105 not in plain and 106 not in plain
    # runs of newlines and spaces are user-defined tokens: matched in both modes
    assert tokenize(cli, "gemma3", "\n\n\n") == [2, 109]
    assert tokenize(cli, "gemma3", "a  b") == tokenize(cli, "gemma3", "a  b", parse_special=True)


def test_empty_text_is_just_bos(cli):
    assert tokenize(cli, "gemma3", "") == [2]
    assert tokenize(cli, "smollm2", "") == []
