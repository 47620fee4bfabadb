"""The memory plan in the real browsers: a model that cannot fit in wasm32's 4 GiB is refused before its first
shard is fetched, with a message that names the sizes and what to choose instead.

The model is a manifest only (Phi-3-mini's shape at Q8_0's 4.06 GB, shards that do not exist): the page
must never ask for them, which the recording proxy in front of the real server checks."""
import json
import re

import pytest

from e2e.chatpage import READ_VIEW
from e2e.recorder import Recorder
from e2e.server import chunks_ensure
from wasmlm.defaults import DEFAULT_MODEL_ID as DEFAULT_MODEL
from wasmlm.localserve import LocalServer

TOO_BIG = "phi3-mini-q8_0-plan-only"
SIZE = 4_061_222_144          # Phi-3-mini-4k-instruct Q8_0
SHARD = 16 * 1024 ** 2


def manifest_too_big(chunks_dir) -> None:
    """A well-formed manifest (the catalog lists it) for a file larger than wasm32 can hold."""
    base = json.loads((chunks_dir / DEFAULT_MODEL / "manifest.json").read_text())
    shards = []
    for i, offset in enumerate(range(0, SIZE, SHARD)):
        size = min(SHARD, SIZE - offset)
        shards.append({"index": i, "file": f"{i:04d}.bin", "offset": offset, "size": size, "encoding": "identity",
                       "encoded_size": size, "sha256": f"{i:064x}", "encoded_sha256": f"{i:064x}"})
    manifest = {**base, "id": TOO_BIG, "name": "Phi-3 mini Q8_0", "architecture": "phi3", "context_length": 4096,
                "vocab_size": 32064, "n_layer": 32, "n_head_kv": 32, "head_dim": 96,
                "kv_bytes_per_token": 32 * 2 * 32 * 96 * 2, "weights_bytes": SIZE,
                "gguf": {"file": "phi3-mini-q8_0.gguf", "size": SIZE, "sha256": "0" * 64}, "shards": shards}
    (chunks_dir / TOO_BIG).mkdir()
    (chunks_dir / TOO_BIG / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, wasmlm_server):
    chunks = tmp_path_factory.mktemp("chunks")
    (chunks / DEFAULT_MODEL).symlink_to(wasmlm_server.chunks_dir / DEFAULT_MODEL)
    chunks_ensure(DEFAULT_MODEL, wasmlm_server.chunks_dir)
    manifest_too_big(chunks)
    with LocalServer(chunks_dir=chunks) as server, Recorder(server.url) as recorder:
        yield recorder


def test_a_model_beyond_4_gib_is_refused_before_any_shard(browser, recorded):
    recorded.requests.clear()
    browser.open(f"{recorded.url}/?model={TOO_BIG}")
    view = {}
    for _ in range(600):
        view = browser.evaluate(f"(() => {READ_VIEW})()")
        if view["error"] or view["state"] == "ready":
            break
        browser.evaluate("new Promise((r) => setTimeout(r, 100))")
    assert view["error"], view
    assert view["error"]["where"] == "memory", view["error"]
    message = view["error"]["message"]
    assert message.startswith("Phi-3 mini Q8_0 needs "), message
    assert "(weights 3873 MiB, KV cache for 2048 tokens in f16 768 MiB, scratch" in message, message
    # the limit is wasm32's, or the page's budget where the browser reports a device of under 8 GB
    assert re.search(r"more than (the 4 GiB WebAssembly limit|this page's memory budget \(\d+ MiB\))\.", message), message
    # 4 GiB less the weights leaves room for 453 tokens in f16 (768 in q8_0): under the 512 the page accepts
    assert message.endswith("Choose the q8_0 KV cache, a shorter context, a smaller quantization or a smaller model."), message
    paths = [r["url"].removeprefix(recorded.url) for r in recorded.requests]
    assert f"/chunks/{TOO_BIG}/manifest.json" in paths, paths
    fetched = [p for p in paths if p.startswith(f"/chunks/{TOO_BIG}/") and not p.endswith("manifest.json")]
    assert fetched == [], f"{browser.engine} fetched shards of a model it refused: {fetched[:5]}"
