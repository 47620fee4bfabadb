"""The default models (wasmlm/defaults.py): one map from id or short name to the GGUF, and one way of saying
that a model is missing, which every suite (engine, server, e2e, benchmark) shows as it is."""
import pytest

from wasmlm.defaults import DEFAULT_MODEL_ID, DEFAULT_MODELS, ModelMissing, default_model, gguf_path


def test_ids_and_short_names_name_the_same_model():
    for model in DEFAULT_MODELS:
        assert default_model(model.id) is default_model(model.short) is model
    assert default_model("smollm2").id == DEFAULT_MODEL_ID
    with pytest.raises(KeyError, match="not a default model"):
        default_model("no-such-model")


def test_a_missing_model_says_how_to_get_it(tmp_path):
    with pytest.raises(ModelMissing, match=r"SmolLM2-135M-Instruct\.Q4_1\.gguf is missing: run `wasmlm setup-models`"):
        gguf_path("smollm2", models_dir=tmp_path)
    (tmp_path / "gemma-3-270m-q4_k_m.gguf").write_bytes(b"GGUF")
    assert gguf_path("gemma3", models_dir=tmp_path) == tmp_path / "gemma-3-270m-q4_k_m.gguf"
