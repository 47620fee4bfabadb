"""The engine's side: `wasmlm-cli layers` (native, or the wasm build under Node.js) run as a subprocess."""

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine_cli import EngineError, engine_command


@dataclass
class EngineRun:
    states: np.ndarray  # (positions, n_layer + 1, n_embd)
    logits: np.ndarray  # (positions, n_vocab)


def engine_json(runtime: str, *args) -> object:
    command = [*engine_command(runtime), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise EngineError(f"{' '.join(command[:3])}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def engine_tokenize(runtime: str, model: Path, text: str) -> list[int]:
    return engine_json(runtime, "tokenize", model, text)


def engine_layers(runtime: str, model: Path, ids: list[int], perturb_layer: int = -1) -> EngineRun:
    """States and logits of every position of `ids`, evaluated as one sequence."""
    with tempfile.TemporaryDirectory() as tmp:
        logits_path = Path(tmp) / "logits.f32"
        out = engine_json(runtime, "layers", model, "--ids", json.dumps(ids), "--logits", logits_path,
                          "--perturb-layer", perturb_layer)
        logits = np.fromfile(logits_path, dtype="<f4")
    states = np.asarray(out["states"], dtype=np.float32)
    return EngineRun(states, logits.reshape(len(out["positions"]), -1))
