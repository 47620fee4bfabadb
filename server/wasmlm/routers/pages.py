"""The chat page, its static files, its service worker, the npm modules it imports (/vendor/), and the engine
builds (plain names, and content-hashed immutable ones)."""
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.templating import Jinja2Templates

from ..filehash import file_sha256
from ..files import file_response
from ..settings import Settings
from .deps import SettingsDep

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

MEDIA_TYPES = {
    ".js": "text/javascript", ".mjs": "text/javascript", ".cjs": "text/javascript", ".css": "text/css",
    ".wasm": "application/wasm", ".json": "application/json", ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon",
}
# "wasmlm-simd.0123456789abcdef.wasm": the hash is the first 16 hex digits of the file's sha256
_HASHED = re.compile(r"^(?P<stem>[A-Za-z0-9_.-]+?)\.(?P<hash>[0-9a-f]{16})(?P<ext>\.(?:js|cjs|wasm))$")
IMMUTABLE = "public, max-age=31536000, immutable"


def file_under(root: Path, relative: str) -> Path:
    """root/relative when it is a regular file inside root, else 404 (no path in the message)."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file() or path.suffix not in MEDIA_TYPES:
        raise HTTPException(404, "not found")
    return path


def engine_urls(settings: Settings) -> dict[str, str]:
    """{"wasmlm-simd.wasm": "/build/wasm/wasmlm-simd.<hash>.wasm", ...} for every build output there."""
    if not settings.engine.is_dir():
        return {}
    return {p.name: f"/build/wasm/{p.stem}.{file_sha256(p)[:16]}{p.suffix}"
            for p in sorted(settings.engine.iterdir()) if p.suffix in (".js", ".cjs", ".wasm") and p.is_file()}


@router.get("/")
def index(request: Request, settings: SettingsDep):
    return templates.TemplateResponse(request, "index.html", {"engine_files": engine_urls(settings)},
                                      headers={"Cache-Control": "no-cache"})


@router.get("/api/engine")
def engine_list(settings: SettingsDep) -> dict[str, str]:
    return engine_urls(settings)


@router.api_route("/static/{relative:path}", methods=["GET", "HEAD"])
def static_get(request: Request, settings: SettingsDep, relative: str):
    path = file_under(settings.static, relative)
    return file_response(request, path, MEDIA_TYPES[path.suffix], "no-cache")


@router.api_route("/sw.js", methods=["GET", "HEAD"])
def service_worker_get(request: Request, settings: SettingsDep):
    """The service worker lives in static/ but is served from the root, so that its scope is the whole site."""
    path = file_under(settings.static, "sw.js")
    return file_response(request, path, MEDIA_TYPES[path.suffix], "no-cache")


@router.api_route("/vendor/{package}/{relative:path}", methods=["GET", "HEAD"])
def vendor_get(request: Request, settings: SettingsDep, package: str, relative: str):
    root = settings.vendor.get(package)
    if root is None:
        raise HTTPException(404, "not found")
    path = file_under(root, relative)
    return file_response(request, path, MEDIA_TYPES[path.suffix], "no-cache")


@router.api_route("/build/wasm/{name}", methods=["GET", "HEAD"])
def engine_get(request: Request, settings: SettingsDep, name: str):
    engine_dir = settings.engine
    m = _HASHED.match(name)
    if m:
        path = file_under(engine_dir, m["stem"] + m["ext"])
        if file_sha256(path)[:16] != m["hash"]:
            raise HTTPException(404, "not found")  # an older build: the page asks for the new name
        return file_response(request, path, MEDIA_TYPES[path.suffix], IMMUTABLE)
    path = file_under(engine_dir, name)
    return file_response(request, path, MEDIA_TYPES[path.suffix], "no-cache")


@router.get("/healthz")
def healthz() -> dict:
    return {"ok": True}
