"""GGUF -> chunks/<id>/: a manifest and shards that, decoded and concatenated, are the original file.

Shards end on tensor boundaries where they can (a tensor larger than the target is cut into equal pieces),
so a shard's bytes are whole tensors, and each is an independent Brotli stream, or raw bytes where Brotli
saves too little to be worth decoding (quantized weights shrink only ~4%).
"""
import hashlib
import json
import math
import os
import re
import shutil
import time
from pathlib import Path

import brotli

from .defaults import BROTLI_QUALITY, DEFAULT_SHARD_SIZE
from .ggufinfo import GGUFError, model_facts, reader_open, tensor_starts
from .manifest import MODEL_ID, manifest_parse
from .prompt import probes_render

MIN_SAVING = 0.03
PIECE_ALIGN = 4096


class PackError(ValueError):
    """Packing cannot go on; the message says why."""


def model_id_from(path: Path) -> str:
    """'SmolLM2-135M-Instruct.Q4_1.gguf' -> 'smollm2-135m-instruct-q4_1'."""
    return re.sub(r"[^a-z0-9_]+", "-", path.stem.lower()).strip("-")


def pieces_split(start: int, end: int, target: int) -> list[tuple[int, int]]:
    """[start, end) as pieces of at most ~target bytes, equal sizes, aligned."""
    n = max(1, math.ceil((end - start) / target))
    step = math.ceil((end - start) / n / PIECE_ALIGN) * PIECE_ALIGN
    cuts = list(range(start, end, step)) + [end]
    return list(zip(cuts, cuts[1:]))


def shard_plan(starts: list[int], file_size: int, target: int) -> list[tuple[int, int]]:
    """Shard byte ranges [a, b) tiling [0, file_size): whole segments (header, tensors) grouped up to
    target bytes, segments larger than target split in equal pieces."""
    bounds = sorted({0, file_size, *[s for s in starts if 0 < s < file_size]})
    pieces = [p for a, b in zip(bounds, bounds[1:]) for p in pieces_split(a, b, target)]
    shards, first, last = [], 0, 0
    for a, b in pieces:
        if last > first and b - first > target:
            shards.append((first, last))
            first = a
        last = b
    shards.append((first, last))
    return shards


# The decoder's ring buffer is as large as the window, once per shard decoded in parallel in the
# browser's wasm memory: a 256 KiB window keeps it small for almost no compression (README, "Packing").
BROTLI_WINDOW_BITS = 18


def shard_encode(data: bytes, quality: int) -> tuple[bytes, str]:
    encoded = brotli.compress(data, quality=quality, lgwin=BROTLI_WINDOW_BITS)
    if len(encoded) <= len(data) * (1 - MIN_SAVING):
        return encoded, "br"
    return data, "identity"


def shards_write(gguf_path: Path, plan: list[tuple[int, int]], out_dir: Path, quality: int):
    """Writes NNN.bin files; returns (shard entries, sha256 of the whole file)."""
    whole = hashlib.sha256()
    entries = []
    with gguf_path.open("rb") as f:
        for index, (a, b) in enumerate(plan):
            data = f.read(b - a)
            if len(data) != b - a:
                raise PackError(f"{gguf_path}: file changed while packing (short read at byte {a})")
            whole.update(data)
            encoded, encoding = shard_encode(data, quality)
            name = f"{index:03d}.bin"
            (out_dir / name).write_bytes(encoded)
            entries.append({
                "index": index, "file": name, "offset": a, "size": b - a, "encoding": encoding,
                "encoded_size": len(encoded), "sha256": hashlib.sha256(data).hexdigest(),
                "encoded_sha256": hashlib.sha256(encoded).hexdigest(),
            })
    return entries, whole.hexdigest()


def manifest_write(path: Path, manifest: dict) -> None:
    """Written beside and renamed over: a reader sees the old manifest or the new one, never half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)


def probes_refresh(model_dir: Path) -> bool:
    """Adds or renews the jinja2 renderings of the probe conversations in a packed model's manifest
    (packs older than the probes have none); True when the manifest changed."""
    from .prompt import PROBES_VERSION
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    probes = probes_render(manifest)
    if manifest.get("template_probes") == probes and probes["version"] == PROBES_VERSION:
        return False
    manifest["template_probes"] = probes
    manifest_write(path, manifest)
    return True


def dir_replace(tmp: Path, final: Path) -> None:
    """Puts tmp at final in two renames, so readers see either the old model or the new one."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def pack(gguf_path: Path, chunks_dir: Path, model_id: str | None = None, name: str | None = None,
         shard_size: int = DEFAULT_SHARD_SIZE, quality: int = BROTLI_QUALITY) -> dict:
    """Packs gguf_path into chunks_dir/<id>/ and returns the manifest. Nothing is left behind on error."""
    gguf_path = Path(gguf_path)
    model_id = model_id or model_id_from(gguf_path)
    if not MODEL_ID.match(model_id):
        raise PackError(f"model id {model_id!r}: use lowercase letters, digits, '.', '_' and '-'")
    if shard_size < PIECE_ALIGN:
        raise PackError(f"shard size {shard_size} is below the minimum of {PIECE_ALIGN} bytes")
    try:
        reader = reader_open(gguf_path)
        facts = model_facts(reader)
    except GGUFError as e:
        raise PackError(str(e)) from None
    file_size = gguf_path.stat().st_size
    plan = shard_plan(tensor_starts(reader), file_size, shard_size)
    del reader  # releases the memory map

    chunks_dir.mkdir(parents=True, exist_ok=True)
    tmp = chunks_dir / f".{model_id}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        shards, digest = shards_write(gguf_path, plan, tmp, quality)
        manifest = {
            "format": 1, "id": model_id, **facts, "name": name or facts["name"] or model_id,
            "gguf": {"file": gguf_path.name, "size": file_size, "sha256": digest},
            "shards": shards,
        }
        manifest["template_probes"] = probes_render(manifest)
        manifest_parse(manifest, model_id)   # what the server would refuse is never written
        manifest_write(tmp / "manifest.json", manifest)
        dir_replace(tmp, chunks_dir / model_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def summary(manifest: dict, seconds: float) -> str:
    shards = manifest["shards"]
    size = manifest["gguf"]["size"]
    encoded = sum(s["encoded_size"] for s in shards)
    n_br = sum(s["encoding"] == "br" for s in shards)
    return (f"{manifest['id']}: {len(shards)} shards ({n_br} br, {len(shards) - n_br} identity), "
            f"{size / 1e6:.1f} MB -> {encoded / 1e6:.1f} MB ({encoded / size:.3f}, "
            f"saves {(size - encoded) / 1e6:.1f} MB) in {seconds:.1f} s")


def pack_timed(gguf_path: Path, chunks_dir: Path, **kwargs) -> tuple[dict, str]:
    t0 = time.monotonic()
    manifest = pack(gguf_path, chunks_dir, **kwargs)
    return manifest, summary(manifest, time.monotonic() - t0)
