"""Per-layer hidden states (`layers`, wl_capture_positions) against the numpy float32 pass on tiny
synthetic models of each architecture (llama, phi3, gemma3, qwen2, qwen3, and the rope-scaled llama3
and phi3.5), natively and under Node; and a deliberately perturbed layer (wl_debug_perturb) found at
that layer by the comparison.

Tolerances, per state (embeddings, then each layer), relative L2 averaged over positions, against
numpy with the same dequantized weights and q/K/V rounded to fp16 as the engine's KV cache is:
- F32 weights: the engine keeps activations in float, so summation order differs (~1e-7), but
  a value that lands near an fp16 rounding boundary of q/K/V then flips by one fp16 step
  (2^-11), and gemma3's GELU goes through llama.cpp's fp16 table (input rounded to fp16) where
  numpy computes it exactly. Measured after 3 layers: llama 2.2e-5, phi3 6.4e-5, gemma3 3.5e-4
  (the GELU table): 1e-3.
- Q4_0 weights: the engine rounds each matmul input to 8 bits per block of 32 (q8_0: step
  max|x|/127, so a relative error of about 2.5/127/sqrt(12) ~ 0.6% for Gaussian blocks, per matmul),
  and a layer has 4 matmuls in sequence, partly damped by the norms: 3e-2 per state. Measured
  on 4-layer models (native = node): after layer 0 1.0-1.6e-2, after layer 3 1.6-2.4e-2
  (gemma3 lowest, phi3 highest), cosine >= 0.9997.
The perturbation (layer 2's attention output scaled by 1.2) lifts state 3 to 8.6e-2 (gemma3) -
1.2e-1 (phi3) while states 0-2 stay exactly as without it.
"""

import json

import numpy as np
import pytest
from gguf import GGMLQuantizationType

import synthetic_gguf
from conftest import cli_command, node_cli, run_cli, run_json
from wasmlm.fidelity import reference
from wasmlm.fidelity.metrics import first_bad_layer, layer_errors

IDS = [1] + [int(i) for i in np.random.default_rng(11).integers(3, synthetic_gguf.N_VOCAB, 79)]
ARCHS = ["llama", "phi3", "gemma3", "qwen2", "qwen3", "llama3", "phi3.5"]
TOLERANCE = {GGMLQuantizationType.F32: 1e-3, GGMLQuantizationType.Q4_0: 3e-2}


def engine_states(cli, path, ids, *extra) -> np.ndarray:
    out = run_json(cli, "layers", path, "--ids", json.dumps(ids), *extra)
    assert out["positions"] == list(range(len(ids)))
    return np.asarray(out["states"], dtype=np.float32)


@pytest.mark.parametrize("qtype", list(TOLERANCE), ids=lambda q: q.name)
@pytest.mark.parametrize("arch", ARCHS)
def test_layers_match_numpy(cli, tmp_path, arch, qtype):
    path = synthetic_gguf.write_model(tmp_path / f"{arch}.gguf", arch, n_layer=3, qtype=qtype)
    ours = engine_states(cli, path, IDS)
    hp, weights = reference.load(str(path))
    ref = reference.forward(hp, weights, IDS, kv_f16=True)
    assert ours.shape == ref.states.shape == (len(IDS), 4, synthetic_gguf.N_EMBD)
    errors = layer_errors(ours, ref.states)
    assert first_bad_layer(errors["rel_l2"], TOLERANCE[qtype]) is None, errors["rel_l2"]
    assert min(errors["cosine"]) > 1 - TOLERANCE[qtype]


def test_positions_subset_and_logits(cli, tmp_path):
    """--positions picks rows; --logits writes those positions' full logits, the same as `logits` prints."""
    path = synthetic_gguf.write_model(tmp_path / "llama.gguf")
    every = engine_states(cli, path, IDS)
    logits_path = tmp_path / "logits.f32"
    out = run_json(cli, "layers", path, "--ids", json.dumps(IDS), "--positions", "[79, 0, 40]", "--logits", logits_path)
    assert out["positions"] == [79, 0, 40]
    np.testing.assert_array_equal(np.asarray(out["states"], dtype=np.float32), every[[79, 0, 40]])
    logits = np.fromfile(logits_path, dtype="<f4").reshape(3, synthetic_gguf.N_VOCAB)
    top = run_json(cli, "logits", path, "--ids", json.dumps(IDS), "--top", 1)
    for row, p in zip(logits, [79, 0, 40]):
        assert int(np.argmax(row)) == top[p][0][0]
        assert abs(float(row.max()) - top[p][0][1]) < 1e-4


@pytest.mark.parametrize("arch", ARCHS)
def test_perturbed_layer_is_located(cli, tmp_path, arch):
    """A 20% change to layer 2's attention output of 4 (applied after gemma3's post-attention norm,
    which would cancel a plain scale before it): states 0-2 (embeddings, layers 0 and 1) still
    agree, state 3 (layer 2) is the first to fail."""
    path = synthetic_gguf.write_model(tmp_path / f"{arch}.gguf", arch, n_layer=4, qtype=GGMLQuantizationType.Q4_0)
    hp, weights = reference.load(str(path))
    ref = reference.forward(hp, weights, IDS, kv_f16=True).states
    tolerance = TOLERANCE[GGMLQuantizationType.Q4_0]
    broken = engine_states(cli, path, IDS, "--perturb-layer", 2, "--perturb", 0.2)
    assert first_bad_layer(layer_errors(broken, ref)["rel_l2"], tolerance) == 3
    healthy = engine_states(cli, path, IDS, "--perturb-layer", -1)
    assert first_bad_layer(layer_errors(healthy, ref)["rel_l2"], tolerance) is None


def test_bad_arguments(cli, tmp_path):
    path = synthetic_gguf.write_model(tmp_path / "llama.gguf")
    for args, message in ((["--ids", "[1, 2]", "--positions", "[2]"], "--positions: 2 is not a position"),
                          (["--ids", "[1, 2]", "--positions", "x"], "--positions expects a JSON list"),
                          (["--ids", "[1, 2]", "--perturb-layer", 9], "perturb: layer 9 is outside")):
        result = run_cli(cli, "layers", path, *args)
        assert result.returncode in (1, 2) and message in result.stderr, result.stderr


def test_every_build_gives_the_same_states(tmp_path):
    """Native and each wasm build (mt on 2 threads) give bit-identical states, as they give
    bit-identical logits (test_builds.py): one build checked against numpy checks them all."""
    path = synthetic_gguf.write_model(tmp_path / "gemma3.gguf", "gemma3", n_layer=2, qtype=GGMLQuantizationType.Q4_0)
    builds = ["simd", "mt", "scalar", "debug"]
    native = engine_states(cli_command("native"), path, IDS)
    for build in builds:
        threads = ["--threads", 2] if build == "mt" else []
        ours = engine_states(node_cli(build), path, IDS, *threads)
        np.testing.assert_array_equal(ours, native, err_msg=build)
