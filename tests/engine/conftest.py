"""Shared fixtures of the engine tests: the builds (made on demand), the models, the reference data.

A missing build, model or reference file fails the test with a message saying how to get it;
nothing is skipped silently.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = {
    "smollm2": ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": ROOT / "models" / "gemma-3-270m-q4_k_m.gguf",
}
# llama.cpp's reference runs and tokenizer vectors, copied into the repository (small JSON files).
REFERENCE = Path(os.environ.get("WASMLM_REFERENCE_DIR", ROOT / "tests" / "data" / "reference"))
NATIVE_CLI = ROOT / "build" / "native" / "wasmlm-cli"
NODE_CLI = ROOT / "wasm" / "js" / "node_cli.mjs"
RUNTIMES = ["native", "node"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes (CI still runs it)")


def make(*targets: str) -> None:
    result = subprocess.run(["make", "-C", str(ROOT / "wasm"), "-j2", *targets], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"make {' '.join(targets)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def cli_command(runtime: str) -> list[str]:
    """The command prefix of one runtime, built first: both take the same arguments."""
    if runtime == "native":
        make("native")
        return [str(NATIVE_CLI)]
    if not NODE_CLI.exists():
        pytest.fail(f"{NODE_CLI.relative_to(ROOT)} is missing: the wasm runtime cannot be tested")
    make(str(ROOT / "build" / "wasm" / "wasmlm-simd.js"))
    return ["node", str(NODE_CLI)]


@pytest.fixture(scope="session", params=RUNTIMES)
def cli(request) -> list[str]:
    return cli_command(request.param)


def model_path(name: str) -> Path:
    path = MODELS[name]
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash scripts/dev.sh setup` (or .venv/bin/wasmlm setup-models)")
    return path


def reference_file(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.fail(f"reference data {path} is missing (it is committed under tests/data/reference/)")
    return path


def run_cli(cli: list[str], *args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*cli, *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def run_json(cli: list[str], *args, timeout: float = 600):
    """Runs a command that must succeed and prints JSON; returns the parsed output."""
    result = run_cli(cli, *args, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args[:1]))} failed: {result.stderr.strip()}"
    return json.loads(result.stdout)
