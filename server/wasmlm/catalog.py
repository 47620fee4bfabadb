"""The packed models under the chunks directory, read from their manifests (re-read when one changes).

A manifest is checked before anything in it is used: a shard name that is not a plain file name of its
own folder ("../x", "a/b", ".hidden", "manifest.json"), a negative or non-integer size or offset,
shards listed twice or out of order, or sizes that do not add up to the GGUF's make the whole model
unknown (404), and the reason is logged once. The server never trusts what it serves from.
"""
import json
import logging
import re
from functools import lru_cache
from pathlib import Path

from .defaults import DEFAULT_MODELS
from .pack import MODEL_ID

_ORDER = {m.id: i for i, m in enumerate(DEFAULT_MODELS)}
_SHARD_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.bin$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUMMARY_STR = ("name", "architecture", "mode")
_SUMMARY_INT = ("context_length", "vocab_size", "n_layer", "n_head_kv", "head_dim", "kv_bytes_per_token",
                "weights_bytes")
log = logging.getLogger("wasmlm.catalog")


class ManifestError(ValueError):
    """The manifest is not one the server will serve from; the message says which field is wrong."""


def _count(value) -> bool:
    """A non-negative JSON integer (JSON's true/false are not numbers here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _shard_check(shard, index: int, offset: int, seen: set) -> int:
    """Checks the index-th shard entry; returns the offset where the next one must start."""
    where = f"shards[{index}]"
    if not isinstance(shard, dict):
        raise ManifestError(f"{where} is not an object")
    name = shard.get("file")
    if not isinstance(name, str) or not _SHARD_FILE.fullmatch(name):
        raise ManifestError(f"{where}.file {name!r} is not a plain NNN.bin name inside the model's folder")
    if name in seen:
        raise ManifestError(f"{where}.file {name!r} is listed twice")
    seen.add(name)
    if shard.get("index") != index or isinstance(shard.get("index"), bool):
        raise ManifestError(f"{where}.index is {shard.get('index')!r}, expected {index}")
    for key in ("offset", "size", "encoded_size"):
        if not _count(shard.get(key)):
            raise ManifestError(f"{where}.{key} is {shard.get(key)!r}, not a non-negative integer")
    if shard["offset"] != offset:
        raise ManifestError(f"{where}.offset is {shard['offset']}, expected {offset} (shards tile the file in order)")
    if shard.get("encoding") not in ("br", "identity"):
        raise ManifestError(f"{where}.encoding {shard.get('encoding')!r} is neither 'br' nor 'identity'")
    for key in ("sha256", "encoded_sha256"):
        if not isinstance(shard.get(key), str) or not _SHA256.fullmatch(shard[key]):
            raise ManifestError(f"{where}.{key} is not 64 lowercase hex digits")
    return offset + shard["size"]


def manifest_check(manifest, model_id: str) -> None:
    """Raises ManifestError unless the manifest is well-formed for chunks/<model_id>/."""
    if not isinstance(manifest, dict):
        raise ManifestError("not a JSON object")
    if manifest.get("format") != 1:
        raise ManifestError(f"format {manifest.get('format')!r} is not 1")
    if manifest.get("id") != model_id:
        raise ManifestError(f"id {manifest.get('id')!r} is not its folder's name {model_id!r}")
    for key in _SUMMARY_STR:
        if not isinstance(manifest.get(key), str):
            raise ManifestError(f"{key} is not a string")
    for key in _SUMMARY_INT:
        if not _count(manifest.get(key)):
            raise ManifestError(f"{key} is {manifest.get(key)!r}, not a non-negative integer")
    gguf = manifest.get("gguf")
    if not isinstance(gguf, dict) or not _count(gguf.get("size")):
        raise ManifestError("gguf.size is not a non-negative integer")
    if not isinstance(gguf.get("sha256"), str) or not _SHA256.fullmatch(gguf["sha256"]):
        raise ManifestError("gguf.sha256 is not 64 lowercase hex digits")
    shards = manifest.get("shards")
    if not isinstance(shards, list) or not shards:
        raise ManifestError("shards is not a non-empty list")
    offset, seen = 0, set()
    for index, shard in enumerate(shards):
        offset = _shard_check(shard, index, offset, seen)
    if offset != gguf["size"]:
        raise ManifestError(f"the shards add up to {offset} bytes, gguf.size says {gguf['size']}")


@lru_cache(maxsize=256)
def _manifest_read(path: str, mtime_ns: int, model_id: str) -> dict | None:
    try:
        manifest = json.loads(Path(path).read_text())
        manifest_check(manifest, model_id)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and ManifestError are ValueErrors
        log.warning("ignoring %s: %s", path, e)
        return None
    return manifest


def manifest_get(chunks: Path, model_id: str) -> dict | None:
    """The manifest of a packed model, or None for an unknown or ill-formed id or an invalid manifest."""
    if not MODEL_ID.fullmatch(model_id):
        return None
    path = chunks / model_id / "manifest.json"
    try:
        return _manifest_read(str(path), path.stat().st_mtime_ns, model_id)
    except OSError:
        return None


def manifests_list(chunks: Path) -> list[dict]:
    """Every packed model: the defaults first in their order, then the rest by id."""
    found = [m for m in (manifest_get(chunks, p.parent.name) for p in chunks.glob("*/manifest.json")) if m]
    return sorted(found, key=lambda m: (_ORDER.get(m["id"], len(_ORDER)), m["id"]))


def shard_find(manifest: dict, name: str) -> dict | None:
    """The manifest's entry for a shard file name, or None: only listed shards are served."""
    return next((s for s in manifest["shards"] if s["file"] == name), None)
