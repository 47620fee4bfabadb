"""The chat page in headless Chromium (Debian's, driven by Playwright) against the real server on loopback."""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from chat_harness import SMOLLM2_ID, Server
from e2e.drivers.playwright_engines import CHROMIUM_ARGS, SYSTEM_CHROMIUM
from e2e.server import chunks_ensure
from wasmlm.defaults import DEFAULT_MODELS
from wasmlm.settings import Settings


@pytest.fixture(scope="session")
def chunks_dir() -> Path:
    """Both default models packed in the checkout's chunks/ (packed there first where they are not)."""
    chunks = Settings().chunks
    for model in DEFAULT_MODELS:
        chunks_ensure(model.id, chunks)
    return chunks


@pytest.fixture(scope="session")
def server(chunks_dir, tmp_path_factory):
    with Server(chunks_dir, log_dir=tmp_path_factory.mktemp("logs")) as s:
        yield s


@pytest.fixture
def server_on_copy(chunks_dir, tmp_path):
    """A server over a private copy of the packed model, free to be damaged."""
    copy = tmp_path / "chunks"
    shutil.copytree(chunks_dir / SMOLLM2_ID, copy / SMOLLM2_ID)
    with Server(copy, log_dir=tmp_path) as s:
        yield s


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=SYSTEM_CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """Screenshots go here (WASMLM_SHOTS, else a temporary folder); the path is printed."""
    out = Path(os.environ.get("WASMLM_SHOTS") or tempfile.mkdtemp(prefix="wasmlm-shots-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {out}", file=sys.stderr)
    return out
