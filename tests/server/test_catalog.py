"""Manifests (wasmlm/manifest.py, served by wasmlm/catalog.py): every well-formed one is accepted, and every
damaged one is refused, with Hypothesis building both; then the real app serves nothing from a refused manifest."""
import copy
import hashlib
import json
import os

import hypothesis.strategies as st
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings

from wasmlm.catalog import manifest_get
from wasmlm.manifest import ManifestError, manifest_parse
from wasmlm.main import app_create
from wasmlm.settings import ROOT, Settings

MODEL = "m1"
HEX = st.text("0123456789abcdef", min_size=64, max_size=64)


@st.composite
def manifests(draw):
    """A well-formed manifest for chunks/m1/, shards of any sizes tiling the file in order."""
    sizes = draw(st.lists(st.integers(0, 2**40), min_size=1, max_size=6))
    shards, offset = [], 0
    for i, size in enumerate(sizes):
        shards.append({"index": i, "file": f"{i:03d}.bin", "offset": offset, "size": size,
                       "encoding": draw(st.sampled_from(["br", "identity"])),
                       "encoded_size": draw(st.integers(0, 2**40)), "sha256": draw(HEX),
                       "encoded_sha256": draw(HEX)})
        offset += size
    return {"format": 1, "id": MODEL, "name": draw(st.text(max_size=20)), "architecture": "llama",
            "mode": draw(st.sampled_from(["chat", "completion"])), "context_length": 8192,
            "vocab_size": 49152, "n_layer": 30, "n_head_kv": 3, "head_dim": 64, "kv_bytes_per_token": 46080,
            "weights_bytes": 98362432, "chat_template": None,
            "gguf": {"file": "x.gguf", "size": offset, "sha256": draw(HEX)}, "shards": shards}


# Names that leave the model's folder or are not shard files at all.
BAD_NAMES = ["000.bin\n", "../000.bin", "../../etc/passwd", "a/000.bin", "..", ".", "/000.bin", "..\\000.bin",
             "C:\\000.bin", ".hidden.bin", "manifest.json", "000.bin\x00", "000.bin/", " 000.bin", "000.txt",
             "", "%2e%2e%2f000.bin"]


def _set(key, value):
    return lambda m, i: m["shards"][i].__setitem__(key, value)


# Each damage makes any manifest invalid: (name, function(manifest, shard index)).
DAMAGES = {
    "negative size": _set("size", -1),
    "negative offset": _set("offset", -4096),
    "negative encoded size": _set("encoded_size", -7),
    "size not an integer": _set("size", 1.5),
    "size a boolean": _set("size", True),
    "size a string": _set("size", "4096"),
    "index wrong": lambda m, i: m["shards"][i].__setitem__("index", i + 1),
    "unknown encoding": _set("encoding", "gzip"),
    "bad digest": _set("sha256", "0" * 63 + "G"),
    "shard listed twice": lambda m, i: m["shards"].append(copy.deepcopy(m["shards"][i])),
    "two shards one file": lambda m, i: (m["shards"].append({**copy.deepcopy(m["shards"][-1]),
                                                              "index": len(m["shards"]),
                                                              "offset": m["gguf"]["size"], "size": 0}),
                                         m["shards"][-1].__setitem__("file", m["shards"][i]["file"])),
    "gap between shards": lambda m, i: m["shards"][i].__setitem__("offset", m["shards"][i]["offset"] + 1),
    "sizes do not add up": lambda m, i: m["gguf"].__setitem__("size", m["gguf"]["size"] + 1),
    "negative gguf size": lambda m, i: m["gguf"].__setitem__("size", -1),
    "no shards": lambda m, i: m.__setitem__("shards", []),
    "shards not a list": lambda m, i: m.__setitem__("shards", {"0": m["shards"][0]}),
    "shard not an object": lambda m, i: m["shards"].__setitem__(i, "000.bin"),
    "other folder's id": lambda m, i: m.__setitem__("id", "m2"),
    "unknown format": lambda m, i: m.__setitem__("format", 2),
    "missing summary field": lambda m, i: m.pop("vocab_size"),
    "negative summary field": lambda m, i: m.__setitem__("n_layer", -30),
}


@given(manifests())
@settings(max_examples=300, deadline=None)
def test_well_formed_manifests_are_accepted(manifest):
    manifest_parse(manifest, MODEL)


@pytest.mark.parametrize("name", BAD_NAMES)
@given(manifest=manifests(), index=st.integers(0, 5))
@settings(max_examples=20, deadline=None)
def test_names_outside_the_folder_are_refused(name, manifest, index):
    manifest["shards"][index % len(manifest["shards"])]["file"] = name
    with pytest.raises(ManifestError):
        manifest_parse(manifest, MODEL)


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@given(manifest=manifests(), index=st.integers(0, 5))
@settings(max_examples=30, deadline=None)
def test_damaged_manifests_are_refused(damage, manifest, index):
    DAMAGES[damage](manifest, index % len(manifest["shards"]))
    with pytest.raises(ManifestError):
        manifest_parse(manifest, MODEL)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=20))
@settings(max_examples=300, deadline=None)
def test_any_json_is_accepted_or_refused_cleanly(value):
    try:
        manifest_parse(value, MODEL)
    except ManifestError:
        pass


def test_the_packed_models_pass(chunks):
    for folder in chunks.iterdir():
        if (folder / "manifest.json").is_file():
            manifest_parse(json.loads((folder / "manifest.json").read_text()), folder.name)


@pytest.fixture
def hostile_chunks(tmp_path, chunks):
    """A chunks folder with one good model (a copy of SmolLM2's first shards) and, beside it, the same
    model under a manifest that also lists a file outside its folder, and one with a negative size."""
    src = chunks / "smollm2-135m-instruct-q4_1"
    good = json.loads((src / "manifest.json").read_text())
    (tmp_path / "secret.bin").write_bytes(b"not for clients")

    def model_write(model_id, manifest):
        folder = tmp_path / model_id
        folder.mkdir()
        for shard in manifest["shards"]:
            if (src / shard["file"]).is_file():
                os.link(src / shard["file"], folder / shard["file"])
        (folder / "manifest.json").write_text(json.dumps({**manifest, "id": model_id}))

    model_write("good", good)
    escape = copy.deepcopy(good)
    secret = {**escape["shards"][-1], "index": len(escape["shards"]), "file": "../secret.bin",
              "offset": escape["gguf"]["size"], "size": 15, "encoded_size": 15,
              "encoded_sha256": hashlib.sha256(b"not for clients").hexdigest()}
    escape["shards"].append(secret)
    escape["gguf"]["size"] += 15
    model_write("escape", escape)
    negative = copy.deepcopy(good)
    negative["shards"][0]["size"] = -1
    model_write("negative", negative)
    return tmp_path


def test_server_serves_nothing_from_a_refused_manifest(hostile_chunks):
    settings = Settings(host="127.0.0.1", port=0, chunks=hostile_chunks, static=ROOT / "static")
    with TestClient(app_create(settings)) as client:
        assert [m["id"] for m in client.get("/api/models").json()] == ["good"]
        assert client.get("/chunks/good/000.bin").status_code == 200
        for model_id in ("escape", "negative"):
            assert manifest_get(hostile_chunks, model_id) is None
            assert client.get(f"/api/models/{model_id}").status_code == 404
            assert client.get(f"/chunks/{model_id}/manifest.json").status_code == 404
            assert client.get(f"/chunks/{model_id}/000.bin").status_code == 404
            assert client.get(f"/chunks/{model_id}/..%2Fsecret.bin").status_code == 404
