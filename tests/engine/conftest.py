"""Shared fixtures of the engine tests: the builds (made on demand), the models, the reference data.

A missing build, model or reference file fails the test with a message saying how to get it;
nothing is skipped silently. The models and the CLI paths are the package's (wasmlm.defaults, wasmlm.settings).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
from wasmlm import settings
from wasmlm.defaults import DEFAULT_MODELS
from wasmlm.defaults import gguf_path as model_path  # noqa: F401 (short name or id -> GGUF; ModelMissing)

# This checkout's builds, not the installed package's: a planted-bug copy (tests/planted) tests its own engine.
ROOT = Path(__file__).resolve().parents[2]
NATIVE_CLI = ROOT / settings.NATIVE_CLI.relative_to(settings.ROOT)
NODE_CLI_DIR = ROOT / settings.NODE_CLI_DIR.relative_to(settings.ROOT)
MODELS = {m.short: settings.MODELS_DIR / m.file for m in DEFAULT_MODELS}
# llama.cpp's reference runs and tokenizer vectors, copied into the repository (small JSON files).
REFERENCE = Path(os.environ.get("WASMLM_REFERENCE_DIR", ROOT / "tests" / "data" / "reference"))
RUNTIMES = ["native", "node"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes minutes (CI still runs it)")


def make(*targets: str) -> None:
    result = subprocess.run(["make", "-C", str(ROOT / "wasm"), "-j2", *targets], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"make {' '.join(targets)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def node_cli(build: str = "relaxed", *node_flags: str) -> list[str]:
    """The CLI on one wasm build under Node.js (wasm/cli_node.mk), built first; node_flags go to node."""
    path = NODE_CLI_DIR / settings.node_cli(build).name
    make(str(path))
    return ["node", *node_flags, str(path)]


def cli_command(runtime: str) -> list[str]:
    """The command prefix of one runtime, built first: both take the same arguments. Under Node.js,
    the relaxed-SIMD build, as `wasmlm ... --runtime node` runs by default."""
    if runtime == "native":
        make("native")
        return [str(NATIVE_CLI)]
    return node_cli("relaxed")


@pytest.fixture(scope="session", params=RUNTIMES)
def cli(request) -> list[str]:
    return cli_command(request.param)


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
