"""Perplexity against llama.cpp's figures for the same files, llama.cpp's protocol (models.md):
within 1%.

- Debian's GPL-3 text at context 512, both models, both runtimes.
- Debian's Apache-2.0 text at context 1024, Gemma 3, natively: the positions past 512 are where
  Gemma 3's sliding-window layers (window 512) first mask a key, so only this run sees the window.
  With the window disabled the figure is 163.6 instead of 7.96 (planted in tests/planted/bugs.json);
  the reference runs are <= 49 tokens and the GPL-3 run never passes 512. Native alone, on two threads
  (~15 s): the builds and thread counts give the same logits (test_reference.py::test_builds_agree,
  test_builds.py::test_threads_change_no_logit).
"""

from pathlib import Path

import pytest

from conftest import cli_command, model_path, run_json

TEXT = Path("/usr/share/common-licenses/GPL-3")
LLAMA_CPP = {"smollm2": 18.3914, "gemma3": 13.9062}
LONG_TEXT = Path("/usr/share/common-licenses/Apache-2.0")
LLAMA_CPP_GEMMA3_LONG = 7.9547  # llama.cpp, context 1024, the same GGUF (issue 17); ours: 7.9608


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(LLAMA_CPP))
def test_perplexity_matches_llama_cpp(cli, model):
    assert TEXT.exists(), f"{TEXT} is missing (Debian package base-files)"
    result = run_json(cli, "perplexity", model_path(model), TEXT, "--ctx", 512, timeout=1800)
    assert result["chunks"] == 14
    assert result["perplexity"] == pytest.approx(LLAMA_CPP[model], rel=0.01)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the planted bug (window off) runs slower still, on a machine that may be busy
def test_gemma3_perplexity_past_the_sliding_window():
    assert LONG_TEXT.exists(), f"{LONG_TEXT} is missing (Debian package base-files)"
    result = run_json(cli_command("native"), "perplexity", model_path("gemma3"), LONG_TEXT, "--ctx", 1024,
                      "--threads", 2, timeout=1800)
    assert result["chunks"] == 2
    assert result["perplexity"] == pytest.approx(LLAMA_CPP_GEMMA3_LONG, rel=0.01)
