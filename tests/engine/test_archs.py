"""What the new architectures refuse, natively and under Node: each file is a valid tiny synthetic model
(wasmlm.synth) but for one detail, and the error names that detail. (Their numbers are checked against
llama.cpp in test_oracle.py and against numpy in test_layers.py.) And a synthetic model that copies a
real tokenizer tokenizes as its source."""

import pytest

from conftest import ROOT, make, run_cli, run_json
from wasmlm import synth
from wasmlm.synth_families import FAMILIES, shape_scaled


def write(tmp_path, family: str, monkeypatch, extra_keys=(), drop=()):
    """A tiny model of `family` with extra string keys and without the tensors named in `drop`."""
    hparams_write, tensors_list = synth.hparams_write, synth.tensors_list

    def hparams_plus(w, s):
        hparams_write(w, s)
        for key, value in extra_keys:
            w.add_string(key, value)

    monkeypatch.setattr(synth, "hparams_write", hparams_plus)
    monkeypatch.setattr(synth, "tensors_list", lambda s: [t for t in tensors_list(s) if t.name not in drop])
    shape = shape_scaled(FAMILIES[family], layers=1, width=64, vocab=300)
    return synth.model_write(tmp_path / f"{family}.gguf", shape)


def error_of(cli, path) -> str:
    result = run_cli(cli, "logits", path, "--ids", "[1, 5, 9]")
    assert result.returncode == 1, result.stdout
    return result.stderr


def test_yarn_rope_scaling_is_refused_by_name(cli, tmp_path, monkeypatch):
    path = write(tmp_path, "qwen2.5-0.5b", monkeypatch, extra_keys=[("qwen2.rope.scaling.type", "yarn")])
    assert "key qwen2.rope.scaling.type = 'yarn' is not supported (none, linear, longrope are)" in error_of(cli, path)


def test_linear_rope_scaling_is_run(cli, tmp_path, monkeypatch):
    path = write(tmp_path, "qwen2.5-0.5b", monkeypatch, extra_keys=[("qwen2.rope.scaling.type", "linear")])
    assert run_cli(cli, "logits", path, "--ids", "[1, 5, 9]").returncode == 0


@pytest.mark.parametrize("family, tensor", [("qwen2.5-0.5b", "blk.0.attn_k.bias"),
                                            ("qwen3-0.6b", "blk.0.attn_q_norm.weight")])
def test_missing_architecture_tensor_is_named(cli, tmp_path, monkeypatch, family, tensor):
    path = write(tmp_path, family, monkeypatch, drop={tensor})
    assert f"missing tensor {tensor}" in error_of(cli, path)


def test_unsupported_architecture_lists_the_supported_ones(cli, tmp_path, monkeypatch):
    path = write(tmp_path, "smollm2-135m", monkeypatch)
    data = path.read_bytes().replace(b"\x05\x00\x00\x00\x00\x00\x00\x00llama", b"\x05\x00\x00\x00\x00\x00\x00\x00mamba", 1)
    path.write_bytes(data)
    assert "architecture 'mamba' is not supported (llama, qwen2, qwen3, gemma3, phi3 are)" in error_of(cli, path)


def test_zero_rope_factor_is_refused(cli, tmp_path, monkeypatch):
    freqs = synth.llama3_rope_freqs
    monkeypatch.setattr(synth, "llama3_rope_freqs", lambda s: freqs(s) * 0)
    path = write(tmp_path, "llama3.2-1b", monkeypatch)
    assert "tensor rope_freqs.weight holds 0 at 0: rope factors must be positive" in error_of(cli, path)


def test_synth_copies_a_real_tokenizer(cli, tmp_path):
    """`wasmlm synth --vocab`: the model tokenizes as the vocabulary file it copied (llama.cpp's own
    Phi-3 test vocabulary, padded to the family's 32064 tokens)."""
    make("third_party/llama-vocab/LICENSE")
    vocab = ROOT / "wasm" / "third_party" / "llama-vocab" / "ggml-vocab-phi-3.gguf"
    path = synth.synth_run("phi3-mini", tmp_path / "phi3.gguf", layers=1, width=64, vocab=vocab)[0]
    text = "Hello world, y'all! 1314"
    assert run_json(cli, "tokenize", path, text) == run_json(cli, "tokenize", vocab, text)
    assert run_json(cli, "info", path)["n_vocab"] == 32064
