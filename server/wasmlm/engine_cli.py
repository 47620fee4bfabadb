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
from .settings import MODELS_DIR, NATIVE_CLI, NODE_BUILDS, ROOT, node_cli

RUNTIMES = ("native", "node")
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


def node_build_take(args: list[str]) -> tuple[str, list[str]]:
    """`--build B` picks the wasm build under Node.js; without it, the relaxed-SIMD one (relaxed-mt with
    --threads > 1). Returns the build and the arguments left for the CLI."""
    rest, build = list(args), None
    if "--build" in rest:
        at = rest.index("--build")
        build = rest[at + 1] if at + 1 < len(rest) else ""
        del rest[at:at + 2]
    if build is None:
        threads = rest[rest.index("--threads") + 1] if "--threads" in rest[:-1] else "1"
        build = "relaxed-mt" if threads.isdigit() and int(threads) > 1 else "relaxed"
    return build, rest


def engine_command(runtime: str, build: str = "relaxed") -> list[str]:
    """The command of one runtime; `build` is the wasm build the node runtime runs."""
    if runtime == "node":
        if build not in NODE_BUILDS:
            raise EngineError(f"--build must be one of {', '.join(NODE_BUILDS)}, got {build!r}")
        if shutil.which("node") is None:
            raise EngineError("node is not installed (bash scripts/dev.sh setup installs it)")
        if not node_cli(build).is_file():
            raise EngineError(f"{node_cli(build)} is missing: the wasm build is not there yet (make -C wasm)")
        return ["node", str(node_cli(build))]
    if not os.access(NATIVE_CLI, os.X_OK):
        raise EngineError(f"{NATIVE_CLI} is missing: build the engine first (make -C wasm)")
    return [str(NATIVE_CLI)]


def engine_run(subcommand: str, model: str, args: list[str], runtime: str, chunks: Path) -> int:
    build = "relaxed"
    if runtime == "node":
        build, args = node_build_take(args)
    return subprocess.call([*engine_command(runtime, build), subcommand, str(model_resolve(model, chunks)), *args])
