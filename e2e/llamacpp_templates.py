"""llama.cpp's own test set of chat templates (vendor/llama.cpp/models/templates/*.jinja: Qwen, Llama 3.x,
Gemma, Mistral, Granite, DeepSeek, ...), from the pinned llama-cpp-python sdist on PyPI (version and sha256
in wasm/fetch_llama_vocab.sh, which fetches llama.cpp's tokenizer tests from the same sdist) into
wasm/third_party/llama-vocab/templates/ (ignored, never committed)."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FETCH = ROOT / "wasm" / "fetch_llama_vocab.sh"
TEMPLATES = ROOT / "wasm" / "third_party" / "llama-vocab" / "templates"


def templates_get() -> dict[str, str]:
    """{file name: template source} for every *.jinja of the pinned set (fetched once, ~25 s)."""
    if not any(TEMPLATES.glob("*.jinja")):   # absent, or a copy fetched before templates were kept
        subprocess.run(["sh", str(FETCH)], check=True, cwd=ROOT)
    return {p.name: p.read_text() for p in sorted(TEMPLATES.glob("*.jinja"))}
