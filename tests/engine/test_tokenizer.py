"""Tokenizers through the real command line: llama.cpp's ids for the reference strings, and special
tokens parsed only when asked (chat templates) so that user text cannot inject control tokens.

Runs the native CLI and, once wasm/js/node_cli.mjs exists, the wasm build under Node.js.
The reference data lives outside the repository: set WASMLM_REFERENCE_DIR if it is not ../shared/reference.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = {
    "smollm2": ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": ROOT / "models" / "gemma-3-270m-q4_k_m.gguf",
}
REFERENCE = Path(os.environ.get("WASMLM_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
NODE_CLI = ROOT / "wasm" / "js" / "node_cli.mjs"


def make(target):
    result = subprocess.run(["make", "-C", str(ROOT / "wasm"), "-j2", target], capture_output=True, text=True)
    assert result.returncode == 0, f"make {target} failed:\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module", params=["native", "node"])
def cli(request):
    """The command prefix of one runtime: both take the same arguments."""
    if request.param == "native":
        make("native")
        return [str(ROOT / "build" / "native" / "wasmlm-cli")]
    if not NODE_CLI.exists():
        pytest.skip("wasm/js/node_cli.mjs is not there yet")
    make(str(ROOT / "build" / "wasm" / "wasmlm-simd.js"))
    return ["node", str(NODE_CLI)]


def tokenize(cli, model, text, parse_special=False):
    args = [*cli, "tokenize", str(MODELS[model]), text] + (["--parse-special"] if parse_special else [])
    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def reference_cases():
    data = json.loads((REFERENCE / "tokenizer_vectors.json").read_text())
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
