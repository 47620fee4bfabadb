"""/api/models: the packed models; /api/models/<id>/prompt: a conversation rendered with the model's template."""
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from ..catalog import manifest_get, manifests_list
from ..prompt import PromptError, prompt_render

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


class Message(BaseModel):
    role: str = Field(min_length=1, max_length=64)
    content: str


class PromptRequest(BaseModel):
    messages: list[Message] = Field(min_length=1, max_length=4096)
    add_generation_prompt: bool = True


@router.post("/models/{model_id}/prompt")
def prompt_post(request: Request, model_id: str, body: PromptRequest) -> dict:
    manifest = manifest_or_404(request, model_id)
    try:
        parts = prompt_render(manifest, [m.model_dump() for m in body.messages], body.add_generation_prompt)
    except PromptError as e:
        raise HTTPException(422, str(e)) from None
    return {"prompt": "".join(p["text"] for p in parts), "parts": parts}
