"""Perplexity of Debian's GPL-3 text at context 512, llama.cpp's protocol (models.md), against
llama.cpp's figures for the same files: within 1%."""

from pathlib import Path

import pytest

from conftest import model_path, run_json

TEXT = Path("/usr/share/common-licenses/GPL-3")
LLAMA_CPP = {"smollm2": 18.3914, "gemma3": 13.9062}


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(LLAMA_CPP))
def test_perplexity_matches_llama_cpp(cli, model):
    assert TEXT.exists(), f"{TEXT} is missing (Debian package base-files)"
    result = run_json(cli, "perplexity", model_path(model), TEXT, "--ctx", 512, timeout=1800)
    assert result["chunks"] == 14
    assert result["perplexity"] == pytest.approx(LLAMA_CPP[model], rel=0.01)
