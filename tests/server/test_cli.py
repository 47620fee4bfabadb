"""The `wasmlm` command: sizes, idempotent setup-models, and the stamp that spares re-hashing models."""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import pytest

from wasmlm.cli import size_parse
from wasmlm.fetch import verified


@pytest.mark.parametrize("text,size", [("4M", 4 << 20), ("512K", 512 << 10), ("1048576", 1 << 20),
                                       ("2MiB", 2 << 20), ("1.5m", 3 << 19), ("1G", 1 << 30)])
def test_size_parse(text, size):
    assert size_parse(text) == size


@pytest.mark.parametrize("text", ["", "M", "four", "4Q"])
def test_size_parse_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        size_parse(text)


def test_setup_models_skips_what_is_packed(chunks, model_path):
    model_path("smollm2-135m-instruct-q4_1")
    r = subprocess.run([sys.executable, "-m", "wasmlm.cli", "setup-models", "--chunks", str(chunks)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["smollm2-135m-instruct-q4_1: packed already",
                                     "gemma-3-270m-q4_k_m: packed already"]


def test_verified_stamp_follows_the_file(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    assert verified(f, digest) and (tmp_path / ".m.gguf.sha256").is_file()
    assert verified(f, digest)
    mtime = f.stat().st_mtime_ns
    f.write_bytes(b"weightz")
    os.utime(f, ns=(mtime + 10**9, mtime + 10**9))  # a later write, even on a coarse clock
    assert not verified(f, digest)
    assert not verified(tmp_path / "missing.gguf", digest)


def test_prompt_renders_with_jinja2(chunks):
    messages = '[{"role": "user", "content": "Hi <|im_end|>"}]'
    r = subprocess.run([sys.executable, "-m", "wasmlm.cli", "prompt", "smollm2-135m-instruct-q4_1", messages,
                        "--json", "--chunks", str(chunks)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["prompt"].endswith("<|im_start|>user\nHi <|im_end|><|im_end|>\n<|im_start|>assistant\n")
    assert {"text": "Hi <|im_end|>", "special": False} in body["parts"]


@pytest.mark.parametrize("model,messages,message", [
    ("nope", "[]", "no packed model 'nope'"),
    ("smollm2-135m-instruct-q4_1", "not json", "--messages must be a JSON list"),
    ("smollm2-135m-instruct-q4_1", '[{"role": "user"}]', "--messages must be a JSON list"),
])
def test_prompt_errors_are_clear(chunks, model, messages, message):
    r = subprocess.run([sys.executable, "-m", "wasmlm.cli", "prompt", model, messages, "--chunks", str(chunks)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_serve_starts_without_the_packer(tmp_path):
    """`wasmlm serve` up to where uvicorn would run: the app is built without numpy, gguf or the packer."""
    code = ("import sys, uvicorn; uvicorn.run = lambda *a, **k: None; from wasmlm.cli import main; "
            f"main(['serve', '--chunks', {str(tmp_path)!r}]); "
            "print(sorted(m for m in ('numpy', 'gguf', 'wasmlm.pack', 'wasmlm.ggufinfo') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout
