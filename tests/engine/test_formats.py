"""The six formats of the models people download beyond Q4_K/Q6_K/Q8_0 (Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K,
IQ4_XS) through a whole model, natively and under Node (the relaxed build; test_builds.py shows every
build gives the same kernel floats).

1. In every run: tiny llama models (2 layers, widths 256) whose matrices are blocks of the format
   (synthetic_gguf: gguf-py's quantizer for Q5_1, random valid blocks for the others), per-layer
   states against the numpy float32 pass on the same weights dequantized by gguf-py (as test_layers.py).
   Relative L2 per state; the engine rounds each matmul input to 8 bits (q8_0 per 32 values, q8_K per
   256), about 0.6-1% per matmul. Measured (native = node), worst state: Q5_1 0.021, IQ4_NL 0.012,
   Q2_K 0.015, Q3_K 0.031, Q5_K 0.011, IQ4_XS 0.028 (Q4_0 0.018 and Q8_0 0.020 on the same model);
   cosine >= 0.9995. Tolerance 5e-2: a block read wrongly gives errors of order 1.
2. Where llama-cpp-python is installed (the optional extra `llamacpp`; CI has not): the same kind of
   model quantized by llama.cpp itself (formats_reference.py), teacher-forced logits against
   llama.cpp's, committed in tests/data/formats/llamacpp_logits.json, with test_reference.py's rules:
   top-1 equal wherever llama.cpp's margin exceeds 0.1, top-5 within LOGIT_TOLERANCE once centred.
   Measured: worst centred top-5 difference 0.043 (Q5_1), 0.047 (IQ4_NL), 0.075 (Q2_K), 0.053 (Q3_K),
   0.060 (Q5_K), 0.080 (IQ4_XS); what the quantization itself moves llama.cpp's logits from its F32
   ones is 0.52-2.1, so a kernel reading a block wrong cannot hide under the tolerance.
"""

import json

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader

import formats_reference
import synthetic_gguf
from conftest import run_json
from test_layers import engine_states
from test_malformed import check_error, part_offset, patch
from wasmlm.fidelity import reference
from wasmlm.fidelity.metrics import first_bad_layer, layer_errors

FORMATS = ["Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q5_K", "IQ4_XS"]
IDS = [1] + [int(i) for i in np.random.default_rng(13).integers(3, synthetic_gguf.N_VOCAB, 39)]
TOLERANCE = 5e-2
MARGIN = 0.1
LOGIT_TOLERANCE = 0.2


def matrix_types(path) -> set[str]:
    return {t.tensor_type.name for t in GGUFReader(path).tensors if len(t.shape) == 2}


@pytest.mark.parametrize("fmt", FORMATS)
def test_layers_match_numpy(cli, tmp_path, fmt):
    path = synthetic_gguf.write_model(tmp_path / f"{fmt}.gguf", "llama", seed=5, qtype=GGMLQuantizationType[fmt],
                                      n_embd=formats_reference.WIDTH, n_ff=formats_reference.WIDTH)
    assert matrix_types(path) == {fmt}
    ours = engine_states(cli, path, IDS)
    hp, weights = reference.load(str(path))
    ref = reference.forward(hp, weights, IDS, kv_f16=True)
    errors = layer_errors(ours, ref.states)
    assert first_bad_layer(errors["rel_l2"], TOLERANCE) is None, errors["rel_l2"]
    assert min(errors["cosine"]) > 1 - TOLERANCE


def test_unsupported_type_is_named(cli, tmp_path):
    """A format still without kernels (IQ3_S: the size of Q3_K's blocks, so the file is otherwise
    valid) is refused in one error line that names it and the tensor."""
    path = synthetic_gguf.write_model(tmp_path / "q3_K.gguf", "llama", qtype=GGMLQuantizationType.Q3_K,
                                      n_embd=formats_reference.WIDTH, n_ff=formats_reference.WIDTH)
    tensor = next(t for t in GGUFReader(path).tensors if t.name == "blk.0.attn_k.weight")
    iq3_s = int(GGMLQuantizationType.IQ3_S).to_bytes(4, "little")
    path.write_bytes(patch(path.read_bytes(), part_offset(tensor.field, 4), iq3_s))
    assert matrix_types(path) == {"Q3_K", "IQ3_S"}
    assert check_error(cli, path, "blk.0.attn_k.weight has type IQ3_S, which is not supported") is None


@pytest.fixture(scope="module")
def llama_cpp_files(tmp_path_factory):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (the optional extra `llamacpp`) quantizes the files")
    return formats_reference.quantize_all(tmp_path_factory.mktemp("formats"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_logits_match_llama_cpp(cli, llama_cpp_files, fmt):
    ref = json.loads(formats_reference.JSON_PATH.read_text())
    path = llama_cpp_files[fmt]
    assert formats_reference.sha256(path) == ref["formats"][fmt]["sha256"], \
        "llama.cpp quantized another file than the reference's: rerun tests/engine/formats_reference.py"
    assert matrix_types(path) == {fmt}
    rows = run_json(cli, "logits", path, "--ids", json.dumps(ref["ids"]), "--top", synthetic_gguf.N_VOCAB)
    assert len(rows) == len(ref["ids"])
    problems = []
    for step, (row, top5) in enumerate(zip(rows, ref["formats"][fmt]["top5"])):
        ours = dict((i, logit) for i, logit in row)
        if top5[0][1] - top5[1][1] > MARGIN and row[0][0] != top5[0][0]:
            problems.append(f"step {step}: top-1 {row[0][0]}, llama.cpp {top5[0][0]}")
        ours_mean = np.mean([ours[i] for i, _ in top5])
        ref_mean = np.mean([logit for _, logit in top5])
        for token, logit in top5:
            diff = (ours[token] - ours_mean) - (logit - ref_mean)
            if abs(diff) > LOGIT_TOLERANCE:
                problems.append(f"step {step}: token {token} centred logit differs by {diff:+.3f}")
    assert not problems, "\n".join(problems)
