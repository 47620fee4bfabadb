"""The packed models under the chunks directory, read from their manifests (re-read when one changes).

A manifest is checked before anything in it is used (wasmlm/manifest.py): one that is not well-formed
makes the whole model unknown (404), and the reason is logged once.
"""
import json
import logging
from functools import lru_cache
from pathlib import Path

from .defaults import DEFAULT_MODELS
from .manifest import MODEL_ID, Manifest, manifest_parse

_ORDER = {m.id: i for i, m in enumerate(DEFAULT_MODELS)}
log = logging.getLogger("wasmlm.catalog")


@lru_cache(maxsize=256)
def _manifest_read(path: str, mtime_ns: int, model_id: str) -> Manifest | None:
    try:
        return manifest_parse(json.loads(Path(path).read_text()), model_id)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and ManifestError are ValueErrors
        log.warning("ignoring %s: %s", path, e)
        return None


def manifest_get(chunks: Path, model_id: str) -> Manifest | None:
    """The manifest of a packed model, or None for an unknown or ill-formed id or an invalid manifest."""
    if not MODEL_ID.fullmatch(model_id):
        return None
    path = chunks / model_id / "manifest.json"
    try:
        return _manifest_read(str(path), path.stat().st_mtime_ns, model_id)
    except OSError:
        return None


def manifests_list(chunks: Path) -> list[Manifest]:
    """Every packed model: the defaults first in their order, then the rest by id."""
    found = [m for m in (manifest_get(chunks, p.parent.name) for p in chunks.glob("*/manifest.json")) if m]
    return sorted(found, key=lambda m: (_ORDER.get(m.id, len(_ORDER)), m.id))
