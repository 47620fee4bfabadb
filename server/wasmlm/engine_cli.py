"""`wasmlm tokenize|logits|perplexity|generate MODEL ...`: runs the engine's own command line (docs/contracts.md,
"CLI protocol"), native or the wasm build under Node.js, on a GGUF path or a packed model id."""
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import brotli

from .catalog import manifest_get
from .manifest import Manifest
from .settings import MODELS_DIR, NATIVE_CLI, NODE_CLI, ROOT

RUNTIMES = {
    "native": [str(NATIVE_CLI)],
    "node": ["node", str(NODE_CLI)],
}
REASSEMBLED_DIR = ROOT / "build" / "gguf"


class EngineError(RuntimeError):
    """The model or the engine build is missing."""


def gguf_reassemble(chunks: Path, manifest: Manifest, target: Path) -> Path:
    """Decodes the shards back into the GGUF (checked against every sha256 on the way)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    whole = hashlib.sha256()
    with partial.open("wb") as out:
        for shard in manifest.shards:
            data = (chunks / manifest.id / shard.file).read_bytes()
            if shard.encoding == "br":
                data = brotli.decompress(data)
            if hashlib.sha256(data).hexdigest() != shard.sha256:
                partial.unlink()
                raise EngineError(f"shard {shard.file} of {manifest.id} does not match its sha256")
            whole.update(data)
            out.write(data)
    if whole.hexdigest() != manifest.gguf.sha256:
        partial.unlink()
        raise EngineError(f"reassembled {manifest.id} does not match the manifest's sha256")
    partial.replace(target)
    return target


def model_resolve(model: str, chunks: Path) -> Path:
    """A GGUF path as given, else a packed id: its source under models/ when the size matches, else the
    shards reassembled once into build/gguf/."""
    if Path(model).is_file():
        return Path(model)
    manifest = manifest_get(chunks, model)
    if manifest is None:
        raise EngineError(f"{model!r} is neither a GGUF file nor a model packed in {chunks}")
    source = MODELS_DIR / manifest.gguf.file
    if source.is_file() and source.stat().st_size == manifest.gguf.size:
        return source
    cached = REASSEMBLED_DIR / f"{manifest.id}.gguf"
    stamp = cached.with_name(cached.name + ".sha256")
    if cached.is_file() and stamp.is_file() and stamp.read_text() == manifest.gguf.sha256:
        return cached
    gguf_reassemble(chunks, manifest, cached)
    stamp.write_text(manifest.gguf.sha256)
    return cached


def engine_command(runtime: str) -> list[str]:
    command = RUNTIMES[runtime]
    if runtime == "node":
        if shutil.which("node") is None:
            raise EngineError("node is not installed (bash scripts/dev.sh setup installs it)")
        if not Path(command[1]).is_file():
            raise EngineError(f"{command[1]} is missing: the wasm build is not there yet (make -C wasm)")
        if not (ROOT / "build" / "wasm").is_dir():
            raise EngineError("build/wasm/ is missing: build the engine first (make -C wasm)")
    elif not os.access(command[0], os.X_OK):
        raise EngineError(f"{command[0]} is missing: build the engine first (make -C wasm)")
    return command


def engine_run(subcommand: str, model: str, args: list[str], runtime: str, chunks: Path) -> int:
    command = [*engine_command(runtime), subcommand, str(model_resolve(model, chunks)), *args]
    return subprocess.call(command, env=dict(os.environ, NODE_PATH=os.environ.get("NODE_PATH", "/usr/share/nodejs")))

