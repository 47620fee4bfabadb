"""phi3 (fused qkv and gate/up matrices) on a tiny random GGUF against the independent numpy
forward pass; llama on the same kind of file as a control. The weights are F32, so the engine
keeps activations in float and the two agree to float rounding. 80 tokens span two batches
(64 + 16), so the second batch attends to keys cached by the first."""

import json

import numpy as np
import pytest

import synthetic_gguf
from conftest import run_json
from wasmlm.fidelity import reference

IDS = [1] + [int(i) for i in np.random.default_rng(7).integers(3, synthetic_gguf.N_VOCAB, 79)]


@pytest.mark.parametrize("arch", ["phi3", "llama"])
def test_synthetic_model_matches_numpy(cli, tmp_path, arch):
    path = synthetic_gguf.write_model(tmp_path / f"{arch}.gguf", arch)
    rows = run_json(cli, "logits", path, "--ids", json.dumps(IDS), "--top", synthetic_gguf.N_VOCAB)
    ours = np.zeros((len(IDS), synthetic_gguf.N_VOCAB), dtype=np.float32)
    for t, row in enumerate(rows):
        for token, logit in row:
            ours[t, token] = logit

    hp, weights = reference.load(str(path))
    expected = reference.forward(hp, weights, IDS, kv_f16=True).logits
    np.testing.assert_allclose(ours, expected, atol=2e-3, rtol=1e-3)
