"""Randomized comparison with llama.cpp's tokenizer, where llama-cpp-python is installed (the optional
extra): seeded strings of mixed scripts, emoji, digits, white space runs and contractions give the
same ids from the engine (native C API) and from llama.cpp, for every vocabulary of llama.cpp's test
suite. The long form with figures is `python3 scripts/tokenizer_compare.py` (docs/tokenizers.md).
"""

import sys

import pytest

from conftest import ROOT, make

llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (optional extra)")
sys.path.insert(0, str(ROOT / "scripts"))
import tokenizer_compare  # noqa: E402


@pytest.mark.parametrize("name", tokenizer_compare.VOCABS)
def test_random_strings_match_llama_cpp(name, capsys):
    make("native", "third_party/llama-vocab/LICENSE")
    strings = tokenizer_compare.random_strings(seed=12, count=300)
    mismatches, _, _ = tokenizer_compare.compare(name, strings, show=3)
    assert mismatches == 0, capsys.readouterr().out
