"""`wasmlm synth` (server/wasmlm/synth.py): the families' shapes are the real models' (their published
parameter counts, to the parameter), the files are a function of seed and shape only (not of how
they are streamed), the engine runs what it writes (tests/engine/test_oracle.py runs every
architecture against llama.cpp), and bad requests get one clear error."""

import sys

import numpy as np
import pytest
from gguf import GGUFReader

from wasmlm import synth
from wasmlm.cli import main
from wasmlm.synth_families import FAMILIES, shape_scaled

# Parameter counts as the model cards and llama.cpp's loader print them (tied embeddings counted once).
PUBLISHED = {
    "smollm2-135m": 134_515_008, "smollm2-360m": 361_821_120, "smollm2-1.7b": 1_711_376_384,
    "qwen2.5-0.5b": 494_032_768, "qwen2.5-1.5b": 1_543_714_304, "qwen3-0.6b": 596_049_920,
    "qwen3-1.7b": 1_720_574_976, "llama3.2-1b": 1_235_814_400, "llama3.2-3b": 3_212_749_824,
    "gemma3-270m": 268_098_176, "gemma3-1b": 999_885_952, "phi3-mini": 3_821_079_552,
}


@pytest.mark.parametrize("family", PUBLISHED)
def test_family_has_the_real_parameter_count(family):
    tensors = synth.tensors_list(FAMILIES[family])
    learned = sum(t.count for t in tensors if t.kind != "const")   # rope factors are computed, not learned
    assert learned == PUBLISHED[family]


def write(tmp_path, name="m.gguf", **kw):
    args = {"family": "qwen2.5-0.5b", "layers": 2, "width": 64, "vocab_size": 300, "seed": 3, **kw}
    family = args.pop("family")
    return synth.synth_run(family, tmp_path / name, **args)[0]


def test_same_seed_same_bytes_whatever_the_slab(tmp_path, monkeypatch):
    first = write(tmp_path, "a.gguf").read_bytes()
    monkeypatch.setattr(synth, "SLAB", 100)   # rows drawn a few at a time
    assert write(tmp_path, "b.gguf").read_bytes() == first
    assert write(tmp_path, "c.gguf", seed=4).read_bytes() != first


def test_file_holds_the_shape_and_the_architecture_tensors(tmp_path):
    path = write(tmp_path, family="qwen3-0.6b", dtype="f16")
    r = GGUFReader(str(path))
    names = {t.name: t for t in r.tensors}
    assert r.fields["general.architecture"].contents() == "qwen3"
    assert r.fields["qwen3.attention.key_length"].contents() == 32   # q twice as wide as the embedding
    assert names["blk.1.attn_q.weight"].tensor_type.name == "F16"
    assert names["blk.1.attn_q_norm.weight"].tensor_type.name == "F32"
    assert list(names["blk.0.attn_q.weight"].shape) == [64, 128]
    assert "output.weight" not in names                          # tied, as Qwen3 0.6B


def test_llama3_and_longrope_factors(tmp_path):
    r = GGUFReader(str(write(tmp_path, family="llama3.2-1b")))
    freqs = {t.name: t for t in r.tensors}["rope_freqs.weight"].data
    assert freqs[0] == 1.0 and freqs[-1] == 32.0 and np.all(np.diff(freqs) >= 0)
    r = GGUFReader(str(write(tmp_path, "p.gguf", family="phi3.5-mini", context=1024)))
    assert r.fields["phi3.rope.scaling.original_context_length"].contents() == 32
    assert r.fields["phi3.rope.scaling.attn_factor"].contents() == pytest.approx((1 + np.log(32) / np.log(32)) ** 0.5)
    long = {t.name: t for t in r.tensors}["rope_factors_long.weight"].data
    assert long[0] == 1.0 and long[-1] == pytest.approx(32.0)


def test_width_keeps_the_kind_of_attention():
    s = shape_scaled(FAMILIES["phi3-mini"], width=64)
    assert (s.n_head, s.n_head_kv, s.head_dim, s.n_ff) == (4, 4, 16, 128)   # phi3: no grouped heads
    s = shape_scaled(FAMILIES["llama3.2-1b"], width=256, ff=512)
    assert (s.n_head, s.n_head_kv, s.head_dim, s.n_ff) == (4, 2, 64, 512)


def test_cli_errors(tmp_path, capsys, monkeypatch):
    assert main(["synth", "mistral-7b", "--out", str(tmp_path / "x.gguf")]) == 1
    assert "unknown family 'mistral-7b'" in capsys.readouterr().err
    assert main(["synth", "qwen3-0.6b", "--out", str(tmp_path / "x.gguf"), "--width", "60"]) == 2
    assert "multiple of 8" in capsys.readouterr().err
    assert main(["synth", "qwen3-0.6b", "--out", str(tmp_path / "x.gguf"), "--width", "64",
                 "--vocab-size", "100"]) == 1
    assert "cannot hold the 4 special and 256 byte tokens" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "llama_cpp", None)   # as where the optional extra is not installed
    assert main(["synth", "qwen3-0.6b", "--out", str(tmp_path / "x.gguf"), "--width", "64", "--layers", "1",
                 "--vocab-size", "300", "--quantize", "Q4_K_M"]) == 1
    assert "pip install 'wasmlm[llamacpp]'" in capsys.readouterr().err


def test_cli_writes_and_quantizes_with_llama_cpp(tmp_path, capsys):
    pytest.importorskip("llama_cpp", reason="the optional extra wasmlm[llamacpp] is not installed")
    out = tmp_path / "m.gguf"
    assert main(["synth", "llama3.2-1b", "--out", str(out), "--width", "256", "--ff", "256", "--layers", "1",
                 "--vocab-size", "260", "--quantize", "Q4_K_M"]) == 0
    types = {t.name: t.tensor_type.name for t in GGUFReader(str(tmp_path / "m.Q4_K_M.gguf")).tensors}
    assert types["blk.0.attn_q.weight"] == "Q4_K" and types["blk.0.ffn_down.weight"] == "Q6_K"
