"""/chunks/<model>/manifest.json and /chunks/<model>/<shard>: only files a manifest lists, with ranges.
Nothing else under chunks/ is reachable, whatever the path says.

Shards go out as stored (no Content-Encoding even for Brotli ones): the worker decodes them itself, into
the engine's memory. Their names are not content-addressed, so caches revalidate (cheap: strong ETags).
"""
from fastapi import APIRouter, HTTPException, Request

from ..catalog import manifest_get
from ..files import file_response
from .deps import SettingsDep

router = APIRouter()


@router.api_route("/chunks/{model_id}/{name}", methods=["GET", "HEAD"])
async def chunk_get(request: Request, settings: SettingsDep, model_id: str, name: str):
    chunks = settings.chunks
    manifest = manifest_get(chunks, model_id)
    if manifest is None:
        raise HTTPException(404, "not found")
    if name == "manifest.json":
        return file_response(request, chunks / model_id / name, "application/json", "no-cache")
    shard = manifest.shard_find(name)
    if shard is None:
        raise HTTPException(404, "not found")
    return file_response(request, chunks / model_id / name, "application/octet-stream", "no-cache",
                         sha256=shard.encoded_sha256)
