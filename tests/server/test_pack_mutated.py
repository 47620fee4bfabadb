"""The packer on truncated and mutated GGUF files (Hypothesis): it packs the file, whose shards then give
it back byte for byte, or it says why not with a PackError, and in both cases leaves nothing else in the
chunks folder (no temporary folder, no half-written model)."""
import hashlib
import json
import struct
import sys

import brotli
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from wasmlm.manifest import manifest_parse
from wasmlm.pack import PackError, pack
from wasmlm.settings import ROOT

sys.path.insert(0, str(ROOT / "tests" / "engine"))
import synthetic_gguf  # noqa: E402  (the engine tests' tiny models)


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> bytes:
    return synthetic_gguf.write_model(tmp_path_factory.mktemp("gguf") / "valid.gguf").read_bytes()


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """The valid file truncated, with bytes changed, or with a count/length/offset made absurd."""
    kind = draw(st.sampled_from(["truncate", "flip", "u64", "u32"]))
    header_end = min(len(data), 16384)  # where the metadata and tensor infos are
    out = bytearray(data)
    if kind == "truncate":
        return bytes(out[:draw(st.integers(0, len(data) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, header_end - 8))
        if kind == "flip":
            out[at] ^= draw(st.integers(1, 255))
        elif kind == "u64":
            out[at:at + 8] = struct.pack("<Q", draw(st.sampled_from([0, 2**63 - 1, 2**64 - 1, 2**32, 1 << 40])))
        else:
            out[at:at + 4] = struct.pack("<I", draw(st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 13])))
    return bytes(out)


def shards_join(folder, manifest) -> bytes:
    parts = []
    for shard in manifest["shards"]:
        encoded = (folder / shard["file"]).read_bytes()
        parts.append(brotli.decompress(encoded) if shard["encoding"] == "br" else encoded)
    return b"".join(parts)


@given(st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_pack_mutated_gguf(valid, tmp_path, data):
    gguf = data.draw(mutated(valid))
    run = tmp_path / hashlib.sha256(gguf).hexdigest()[:16]
    if run.exists():
        return  # the same file drawn twice
    run.mkdir()
    (run / "in.gguf").write_bytes(gguf)
    chunks = run / "chunks"
    try:
        manifest = pack(run / "in.gguf", chunks, model_id="m", shard_size=4096)
    except PackError as e:
        assert str(e), "a PackError says why"
        assert not chunks.exists() or list(chunks.iterdir()) == [], "nothing is left behind"
        return
    assert [p.name for p in chunks.iterdir()] == ["m"]
    manifest_parse(json.loads((chunks / "m" / "manifest.json").read_text()), "m")
    assert shards_join(chunks / "m", manifest) == gguf
