"""The packed models under the chunks directory, read from their manifests (re-read when one changes)."""
import json
from functools import lru_cache
from pathlib import Path

from .defaults import DEFAULT_MODELS
from .pack import MODEL_ID

_ORDER = {m.id: i for i, m in enumerate(DEFAULT_MODELS)}


@lru_cache(maxsize=256)
def _manifest_read(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text())


def manifest_get(chunks: Path, model_id: str) -> dict | None:
    """The manifest of a packed model, or None for an unknown or ill-formed id."""
    if not MODEL_ID.match(model_id):
        return None
    path = chunks / model_id / "manifest.json"
    try:
        return _manifest_read(str(path), path.stat().st_mtime_ns)
    except (OSError, ValueError):
        return None


def manifests_list(chunks: Path) -> list[dict]:
    """Every packed model: the defaults first in their order, then the rest by id."""
    found = [m for m in (manifest_get(chunks, p.parent.name) for p in chunks.glob("*/manifest.json")) if m]
    return sorted(found, key=lambda m: (_ORDER.get(m["id"], len(_ORDER)), m["id"]))


def shard_find(manifest: dict, name: str) -> dict | None:
    """The manifest's entry for a shard file name, or None: only listed shards are served."""
    return next((s for s in manifest["shards"] if s["file"] == name), None)
