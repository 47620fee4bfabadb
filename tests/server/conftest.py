"""Shared fixtures: both real models packed once per session, and the real server on a loopback port."""
import os
from pathlib import Path

import httpx
import pytest

from wasmlm.defaults import DEFAULT_MODELS, gguf_path
from wasmlm.localserve import AppThread, free_port
from wasmlm.main import app_create
from wasmlm.pack import pack
from wasmlm.settings import ROOT, Settings

# The smallest valid WebAssembly module: magic and version.
WASM_EMPTY = b"\0asm\x01\0\0\0"


@pytest.fixture(scope="session")
def model_path():
    """model id -> its GGUF under models/ (ModelMissing, saying how to fetch it, when it is missing: a
    checkout without models fails, it does not go green with skips)."""
    return gguf_path


@pytest.fixture(scope="session")
def chunks(tmp_path_factory) -> Path:
    # WASMLM_TEST_CHUNKS: both models packed beforehand, for mutation runs (scripts/mutation.sh), which
    # would otherwise pack them again (~1 min) for every mutant; packing itself is then not under test.
    if os.environ.get("WASMLM_TEST_CHUNKS"):
        return Path(os.environ["WASMLM_TEST_CHUNKS"])
    out = tmp_path_factory.mktemp("chunks")
    for model in DEFAULT_MODELS:
        pack(gguf_path(model.id), out, model_id=model.id, name=model.name)
    return out


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory) -> Path:
    """A stand-in build/wasm/: the server only hands these files out, it never runs them."""
    out = tmp_path_factory.mktemp("engine")
    (out / "wasmlm-simd.wasm").write_bytes(WASM_EMPTY)
    (out / "wasmlm-simd.js").write_text("export default async function createWasmlm() {}\n")
    return out


@pytest.fixture(scope="session")
def server(chunks, engine_dir) -> str:
    """Base URL of the real app under uvicorn, in a thread, for the whole session."""
    settings = Settings(host="127.0.0.1", port=free_port(), chunks=chunks, static=ROOT / "static", engine=engine_dir)
    with AppThread(app_create(settings), "the app", port=settings.port) as app:
        yield app.url


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client
