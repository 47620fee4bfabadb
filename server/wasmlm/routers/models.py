"""/api/models: the packed models' metadata. Nothing here reads a conversation: chat templates are rendered
in the browser (static/template.js), so what the user types never reaches the server."""
from fastapi import APIRouter, HTTPException, Request

from ..catalog import manifest_get, manifests_list

router = APIRouter(prefix="/api")


def model_summary(m: dict) -> dict:
    keys = ("id", "name", "architecture", "mode", "context_length", "vocab_size", "n_layer", "n_head_kv",
            "head_dim", "kv_bytes_per_token", "weights_bytes")
    return {**{k: m[k] for k in keys}, "size": m["gguf"]["size"],
            "download_bytes": sum(s["encoded_size"] for s in m["shards"]),
            "manifest": f"/chunks/{m['id']}/manifest.json"}


def manifest_or_404(request: Request, model_id: str) -> dict:
    manifest = manifest_get(request.app.state.settings.chunks, model_id)
    if manifest is None:
        raise HTTPException(404, f"no model {model_id!r}")
    return manifest


@router.get("/models")
def models_list(request: Request) -> list[dict]:
    return [model_summary(m) for m in manifests_list(request.app.state.settings.chunks)]


@router.get("/models/{model_id}")
def model_get(request: Request, model_id: str) -> dict:
    return model_summary(manifest_or_404(request, model_id))
