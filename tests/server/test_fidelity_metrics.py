"""wasmlm.fidelity's distances and ladder helpers on known inputs (the end-to-end run is
tests/engine/test_fidelity.py)."""

import numpy as np
import pytest

from wasmlm.cli import main
from wasmlm.fidelity.metrics import first_bad_layer, layer_errors, logit_metrics
from wasmlm.fidelity.requantize import format_quantizable


def test_layer_errors_per_position_then_mean():
    ref = np.ones((2, 3, 4), dtype=np.float32)
    ours = ref.copy()
    ours[0, 2] *= 1.1   # 10% on position 0 of state 2
    ours[1, 2, 0] = -1  # one sign flip on position 1
    e = layer_errors(ours, ref)
    assert e["rel_l2"][:2] == [0, 0] and e["cosine"][:2] == [1, 1]
    assert e["rel_l2"][2] == pytest.approx((0.1 + 1.0) / 2)
    assert e["cosine"][2] == pytest.approx((1 + 0.5) / 2)
    assert e["max_abs"] == [0, 0, 2]


def test_first_bad_layer():
    assert first_bad_layer([0, 0.01, 0.02], 0.03) is None
    assert first_bad_layer([0, 0.01, 0.05, 0.01], 0.03) == 2
    assert first_bad_layer([0, float("nan")], 0.03) == 1  # NaN is never within tolerance


def test_logit_metrics():
    ref = np.log(np.array([[0.5, 0.25, 0.125, 0.0625, 0.0625, 1e-9]] * 2))
    same = logit_metrics(ref, ref, [0, 1])
    assert same["kl"] == pytest.approx(0, abs=1e-12) and same["top1"] == 1 and same["top5"] == 1
    assert same["perplexity"] == pytest.approx(4)  # position 0 gives id 1 probability 1/4
    flat = logit_metrics(np.zeros_like(ref), ref, [0, 1])
    p = np.exp(ref[0]) / np.exp(ref[0]).sum()
    assert flat["kl"] == pytest.approx(float(np.sum(p * np.log(p * 6))), rel=1e-6)
    assert flat["perplexity"] == pytest.approx(6)


def test_quantizable_formats():
    """The gguf package writes the legacy formats; its K-quants only dequantize."""
    assert all(format_quantizable(f) for f in ("F32", "F16", "Q8_0", "Q5_0", "Q4_1", "Q4_0"))
    assert not format_quantizable("Q6_K")


def test_unknown_format_is_refused(capsys):
    assert main(["fidelity", "x.gguf", "--formats", "IQ2_XXS"]) == 2
    assert "unknown format IQ2_XXS" in capsys.readouterr().err
