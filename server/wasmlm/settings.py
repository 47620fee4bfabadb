"""Where things are and where the server listens: environment variables, overridden by command line flags."""
import os
from dataclasses import dataclass, field
from pathlib import Path

# The package is used from its checkout (editable install): the page's JS, the engine builds and the
# models are siblings of server/.
ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "static"
ENGINE_DIR = ROOT / "build" / "wasm"
MODELS_DIR = ROOT / "models"
# The engine's command line (wasm/cli.cpp, docs/contracts.md, "CLI protocol"): native, and for Node.js on
# each wasm build (node_cli(build), wasm/cli_node.mk)
NATIVE_CLI = ROOT / "build" / "native" / "wasmlm-cli"
NODE_CLI_DIR = ROOT / "build" / "node"
NODE_BUILDS = ("simd", "mt", "scalar", "debug", "relaxed", "relaxed-mt")


def node_cli(build: str) -> Path:
    return NODE_CLI_DIR / f"wasmlm-cli-{build}.js"
# npm packages the page imports, installed by set-up (package.json) and served, never committed
VENDOR_DIRS = {"jinja": ROOT / "node_modules" / "@huggingface" / "jinja" / "dist"}


@dataclass(frozen=True)
class Settings:
    host: str = field(default_factory=lambda: os.environ.get("WASMLM_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("WASMLM_PORT", "8000")))
    chunks: Path = field(default_factory=lambda: Path(os.environ.get("WASMLM_CHUNKS", ROOT / "chunks")))
    static: Path = STATIC_DIR
    engine: Path = ENGINE_DIR
    vendor: dict = field(default_factory=lambda: dict(VENDOR_DIRS))
