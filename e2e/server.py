"""The default models packed on demand for the end-to-end tests, the soak and the benchmark, which run the
real server as wasmlm.localserve.LocalServer."""
import subprocess
from pathlib import Path

from wasmlm.defaults import DEFAULT_MODELS, gguf_path
from wasmlm.localserve import serve_command
from wasmlm.settings import ROOT


def chunks_ensure(model_id: str, chunks_dir: Path) -> None:
    """Packs a default model with `wasmlm pack` unless its manifest is already there; a model that is neither
    packed nor a default one raises, and so does a missing GGUF (ModelMissing: how to get it)."""
    if (chunks_dir / model_id / "manifest.json").exists():
        return
    if model_id not in {m.id for m in DEFAULT_MODELS}:
        raise FileNotFoundError(f"model {model_id!r} is not packed in {chunks_dir} and is not a default model")
    subprocess.run([*serve_command(), "pack", str(gguf_path(model_id)), "--chunks", str(chunks_dir),
                    "--id", model_id], check=True, cwd=ROOT)
