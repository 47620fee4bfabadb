"""The chat page in headless Chromium (Debian's, driven by Playwright) against the real server on loopback."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from chat_harness import CHROMIUM, CHROMIUM_ARGS, GGUFS, ROOT, SMOLLM2_ID, WASMLM, Server


@pytest.fixture(scope="session")
def chunks_dir(tmp_path_factory) -> Path:
    """Both default models packed: chunks/ of the checkout when it has them, else packed into a temporary folder."""
    packed = ROOT / "chunks"
    if all((packed / i / "manifest.json").exists() for i in GGUFS):
        return packed
    out = tmp_path_factory.mktemp("chunks")
    for gguf in GGUFS.values():
        if not gguf.exists():
            pytest.fail(f"{gguf} is missing: run scripts/fetch_models.py")
        subprocess.run([str(WASMLM), "pack", str(gguf), "--chunks", str(out)], check=True, cwd=ROOT)
    return out


@pytest.fixture(scope="session")
def server(chunks_dir, tmp_path_factory):
    s = Server(chunks_dir, tmp_path_factory.mktemp("logs"))
    yield s
    s.stop()


@pytest.fixture
def server_on_copy(chunks_dir, tmp_path):
    """A server over a private copy of the packed model, free to be damaged."""
    copy = tmp_path / "chunks"
    shutil.copytree(chunks_dir / SMOLLM2_ID, copy / SMOLLM2_ID)
    s = Server(copy, tmp_path)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """Screenshots go here (WASMLM_SHOTS, else a temporary folder); the path is printed."""
    out = Path(os.environ.get("WASMLM_SHOTS") or tempfile.mkdtemp(prefix="wasmlm-shots-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {out}", file=sys.stderr)
    return out
