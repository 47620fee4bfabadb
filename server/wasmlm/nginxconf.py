"""docker/nginx.conf rendered for one place: where nginx listens, where the app is, where the files are,
and an exact location for each engine build's content-hashed name (immutable; docs/operations.md)."""
from pathlib import Path

from .routers.pages import engine_urls
from .settings import ROOT, Settings

TEMPLATE = ROOT / "docker" / "nginx.conf"


def engine_locations(settings: Settings) -> str:
    lines = []
    for name, url in engine_urls(settings).items():
        lines += [f"        location = {url} {{", f"            alias {settings.engine.resolve() / name};",
                  "        }"]
    return "\n".join(lines)


def nginx_conf_render(settings: Settings, *, listen: str, upstream: str, prefix: Path,
                      template: Path = TEMPLATE) -> str:
    fields = {
        "@PREFIX@": str(prefix.resolve()),
        "@LISTEN@": listen,
        "@UPSTREAM@": upstream,
        "@ROOT@": str(settings.static.resolve().parent),
        "@ENGINE@": str(settings.engine.resolve()),
        "@CHUNKS@": str(settings.chunks.resolve()),
        "@ENGINE_LOCATIONS@": engine_locations(settings),
    }
    if settings.static.name != "static":
        raise ValueError(f"nginx serves /static/ from a folder named static, not {settings.static}")
    text = template.read_text()
    for key, value in fields.items():
        text = text.replace(key, value)
    return text


def nginx_prefix_make(prefix: Path) -> None:
    """The folders nginx writes to, writable by whoever runs it (the template names them)."""
    for sub in ("", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
