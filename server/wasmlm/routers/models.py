"""/api/models: the packed models' metadata. Nothing here reads a conversation: chat templates are rendered
in the browser (static/template.js), so what the user types never reaches the server."""
from fastapi import APIRouter, HTTPException

from ..catalog import manifest_get, manifests_list
from ..manifest import Manifest
from .deps import SettingsDep

router = APIRouter(prefix="/api")


SUMMARY = {"id", "name", "architecture", "mode", "context_length", "vocab_size", "n_layer", "n_head_kv",
           "head_dim", "kv_bytes_per_token", "weights_bytes"}


def model_summary(m: Manifest) -> dict:
    return {**m.model_dump(include=SUMMARY), "size": m.gguf.size, "download_bytes": m.download_bytes(),
            "manifest": f"/chunks/{m.id}/manifest.json"}


@router.get("/models")
def models_list(settings: SettingsDep) -> list[dict]:
    return [model_summary(m) for m in manifests_list(settings.chunks)]


@router.get("/models/{model_id}")
def model_get(settings: SettingsDep, model_id: str) -> dict:
    manifest = manifest_get(settings.chunks, model_id)
    if manifest is None:
        raise HTTPException(404, f"no model {model_id!r}")
    return model_summary(manifest)
