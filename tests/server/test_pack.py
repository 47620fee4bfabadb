"""Packing: the shards give back the GGUF byte for byte, packing is deterministic, bad input fails cleanly."""
import hashlib
import json
import subprocess
import sys

import brotli
import pytest

from wasmlm.defaults import DEFAULT_MODELS
from wasmlm.ggufinfo import reader_open, tensor_starts
from wasmlm.pack import DEFAULT_SHARD_SIZE, PackError, pack, shard_plan

IDS = [m.id for m in DEFAULT_MODELS]
SMOLLM2 = "smollm2-135m-instruct-q4_1"


def manifest_of(chunks, model_id):
    return json.loads((chunks / model_id / "manifest.json").read_text())


@pytest.mark.parametrize("model_id", IDS)
def test_shards_reassemble_to_the_original(chunks, model_id, model_path):
    manifest = manifest_of(chunks, model_id)
    original = model_path(model_id).read_bytes()
    whole = hashlib.sha256()
    offset = 0
    for i, shard in enumerate(manifest["shards"]):
        encoded = (chunks / model_id / shard["file"]).read_bytes()
        assert shard["index"] == i and shard["file"] == f"{i:03d}.bin"
        assert shard["offset"] == offset, "shards tile the file in order, without gaps"
        assert len(encoded) == shard["encoded_size"]
        assert hashlib.sha256(encoded).hexdigest() == shard["encoded_sha256"]
        decoded = brotli.decompress(encoded) if shard["encoding"] == "br" else encoded
        assert shard["encoding"] in ("br", "identity")
        assert len(decoded) == shard["size"]
        assert hashlib.sha256(decoded).hexdigest() == shard["sha256"]
        whole.update(decoded)
        offset += shard["size"]
    assert offset == manifest["gguf"]["size"] == len(original)
    assert whole.hexdigest() == manifest["gguf"]["sha256"] == hashlib.sha256(original).hexdigest()


@pytest.mark.parametrize("model_id", IDS)
def test_shards_follow_tensor_boundaries(chunks, model_id, model_path):
    manifest = manifest_of(chunks, model_id)
    reader = reader_open(model_path(model_id))
    starts = set(tensor_starts(reader))
    segments = [(0, min(starts))] + [(int(t.data_offset), int(t.data_offset + t.n_bytes)) for t in reader.tensors]
    big = [(a, b) for a, b in segments if b - a > DEFAULT_SHARD_SIZE]  # the header or a tensor, cut in pieces
    for shard in manifest["shards"][1:]:
        cut = shard["offset"]
        assert cut in starts or any(a < cut < b for a, b in big), f"shard {shard['index']} cuts a small tensor or the header"
    assert max(s["size"] for s in manifest["shards"]) <= DEFAULT_SHARD_SIZE + 4096


def test_manifest_fields(chunks):
    smol, gemma = manifest_of(chunks, IDS[0]), manifest_of(chunks, IDS[1])
    assert smol["format"] == 1 and smol["id"] == SMOLLM2 and smol["name"] == "SmolLM2 135M Instruct"
    assert (smol["architecture"], smol["mode"], smol["context_length"], smol["vocab_size"]) == \
        ("llama", "chat", 8192, 49152)
    assert (smol["n_layer"], smol["n_head_kv"], smol["head_dim"], smol["kv_bytes_per_token"]) == (30, 3, 64, 23040)
    assert "<|im_start|>" in smol["chat_template"]
    assert smol["gguf"]["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (gemma["architecture"], gemma["mode"], gemma["chat_template"]) == ("gemma3", "completion", None)
    assert (gemma["n_layer"], gemma["n_head_kv"], gemma["head_dim"], gemma["vocab_size"]) == (18, 1, 256, 262144)
    assert gemma["gguf"]["size"] == 253113024


def test_packing_twice_is_identical(chunks, tmp_path, model_path):
    pack(model_path(SMOLLM2), tmp_path, model_id=SMOLLM2, name="SmolLM2 135M Instruct")
    names = sorted(p.name for p in (chunks / SMOLLM2).iterdir())
    assert names == sorted(p.name for p in (tmp_path / SMOLLM2).iterdir())
    for name in names:
        assert (tmp_path / SMOLLM2 / name).read_bytes() == (chunks / SMOLLM2 / name).read_bytes(), name


def test_shard_plan_tiles_and_splits():
    plan = shard_plan([100, 200, 10_000, 10_050], 30_000, 8192)
    assert plan[0][0] == 0 and plan[-1][1] == 30_000
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:]))
    assert plan[0] == (0, 200) or plan[0][1] in (100, 200, 10_000)
    assert all(b - a <= 8192 for a, b in plan)


@pytest.fixture
def smollm2_bytes(model_path):
    return model_path(SMOLLM2).read_bytes()


BAD_INPUTS = {
    "truncated header": lambda data: data[:100_000],
    "truncated tensors": lambda data: data[:50_000_000],
    "one byte short": lambda data: data[:-1],
    "bad magic": lambda data: b"GGUX" + data[4:1_000_000],
    "empty": lambda data: b"",
    "text": lambda data: b"hello, not a model\n" * 100,
    "bad version": lambda data: data[:4] + (99).to_bytes(4, "little") + data[8:2_000_000],
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_gguf_is_a_clear_error_and_leaves_nothing(tmp_path, smollm2_bytes, case):
    src = tmp_path / "model.gguf"
    src.write_bytes(BAD_INPUTS[case](smollm2_bytes))
    out = tmp_path / "chunks"
    with pytest.raises(PackError, match="model.gguf"):
        pack(src, out, model_id="bad")
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("path", ["missing.gguf", "a-directory"])
def test_not_a_file(tmp_path, path):
    (tmp_path / "a-directory").mkdir()
    with pytest.raises(PackError, match="not a file"):
        pack(tmp_path / path, tmp_path / "chunks")
    assert not (tmp_path / "chunks").exists()


def test_failed_repack_keeps_the_previous_model(chunks, tmp_path, smollm2_bytes):
    out = tmp_path / "chunks"
    (out / "m").mkdir(parents=True)
    (out / "m" / "manifest.json").write_text("{}")
    src = tmp_path / "model.gguf"
    src.write_bytes(smollm2_bytes[:50_000_000])
    with pytest.raises(PackError):
        pack(src, out, model_id="m")
    assert sorted(p.name for p in out.iterdir()) == ["m"]
    assert (out / "m" / "manifest.json").read_text() == "{}"


def test_bad_id_is_refused(tmp_path, model_path):
    with pytest.raises(PackError, match="model id"):
        pack(model_path(SMOLLM2), tmp_path, model_id="../evil")


def test_cli_pack_error_exit_code(tmp_path):
    src = tmp_path / "x.gguf"
    src.write_bytes(b"nope")
    r = subprocess.run([sys.executable, "-m", "wasmlm.cli", "pack", str(src), "--chunks", str(tmp_path / "c")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.startswith("wasmlm pack: ") and "not a GGUF file" in r.stderr
    assert "Traceback" not in r.stderr
