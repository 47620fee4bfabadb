"""`wasmlm tokenize|logits|perplexity|generate`: model resolution, reassembly, and passing through to the engine."""
import hashlib
import json
import subprocess
import sys

import pytest

from wasmlm.engine_cli import EngineError, engine_command, gguf_reassemble, model_resolve, node_build_take
from wasmlm.manifest import Manifest
from wasmlm.settings import NATIVE_CLI

SMOLLM2 = "smollm2-135m-instruct-q4_1"


def wasmlm(*args):
    return subprocess.run([sys.executable, "-m", "wasmlm.cli", *args], capture_output=True, text=True, timeout=300)


def test_reassembled_gguf_is_the_original(chunks, tmp_path, model_path):
    manifest = Manifest.model_validate_json((chunks / SMOLLM2 / "manifest.json").read_text())
    out = gguf_reassemble(chunks, manifest, tmp_path / "x.gguf")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(model_path(SMOLLM2).read_bytes()).hexdigest()


def test_corrupt_shard_is_refused(chunks, tmp_path):
    copy = tmp_path / "chunks" / SMOLLM2
    copy.mkdir(parents=True)
    manifest = Manifest.model_validate_json((chunks / SMOLLM2 / "manifest.json").read_text())
    manifest.shards = manifest.shards[:2]
    (copy / "000.bin").write_bytes((chunks / SMOLLM2 / "000.bin").read_bytes())
    (copy / "001.bin").write_bytes((chunks / SMOLLM2 / "000.bin").read_bytes())
    with pytest.raises(EngineError, match="001.bin"):
        gguf_reassemble(tmp_path / "chunks", manifest, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists() and not (tmp_path / "x.gguf.partial").exists()


def test_packed_id_resolves_to_its_source(chunks, model_path):
    assert model_resolve(SMOLLM2, chunks) == model_path(SMOLLM2)
    assert model_resolve(str(model_path(SMOLLM2)), chunks) == model_path(SMOLLM2)


def test_unknown_model_is_a_clear_error(chunks):
    r = wasmlm("tokenize", "no-such-model", "hi", "--chunks", str(chunks))
    assert r.returncode == 1
    assert r.stderr.strip() == f"wasmlm tokenize: 'no-such-model' is neither a GGUF file nor a model packed in {chunks}"


def native_cli_built():
    if not NATIVE_CLI.exists():
        pytest.fail(f"{NATIVE_CLI} is missing: run `make -C wasm native` (or `bash scripts/dev.sh setup`)")


def test_tokenize_passes_through_to_the_native_engine(chunks):
    native_cli_built()
    r = wasmlm("tokenize", SMOLLM2, "Hello world", "--chunks", str(chunks), "--runtime", "native")
    assert r.returncode == 0, r.stderr
    ids = json.loads(r.stdout)
    assert ids and all(isinstance(i, int) for i in ids)


def test_engine_exit_code_comes_back(chunks):
    native_cli_built()
    r = wasmlm("tokenize", SMOLLM2, "--chunks", str(chunks))   # TEXT missing: the engine's usage error
    assert r.returncode == 2


def test_node_runtime_takes_the_build_from_the_arguments():
    """--build B picks the CLI's wasm build under Node.js; else relaxed, relaxed-mt with --threads > 1."""
    assert node_build_take(["--top", "5"]) == ("relaxed", ["--top", "5"])
    assert node_build_take(["--threads", "2"]) == ("relaxed-mt", ["--threads", "2"])
    assert node_build_take(["--build", "scalar", "--threads", "2"]) == ("scalar", ["--threads", "2"])
    with pytest.raises(EngineError, match="--build must be one of simd, mt, scalar, debug, relaxed, relaxed-mt"):
        engine_command("node", "fast")
