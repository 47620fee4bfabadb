"""The real wasmlm server on a free loopback port, for the end-to-end tests and the benchmark."""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from .pageserver import free_port

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "smollm2-135m-instruct-q4_1"
MODEL_FILES = {
    "smollm2-135m-instruct-q4_1": ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma-3-270m-q4_k_m": ROOT / "models" / "gemma-3-270m-q4_k_m.gguf",
}


def wasmlm_command() -> list[str]:
    return [str(Path(sys.executable).with_name("wasmlm"))]


def chunks_ensure(model_id: str, chunks_dir: Path) -> None:
    """Packs the model with `wasmlm pack` unless its manifest is already there."""
    if (chunks_dir / model_id / "manifest.json").exists():
        return
    gguf = MODEL_FILES.get(model_id)
    if gguf is None or not gguf.exists():
        raise FileNotFoundError(f"model {model_id!r} is not packed in {chunks_dir} and its GGUF is missing "
                                f"(run scripts/fetch_models.py)")
    subprocess.run([*wasmlm_command(), "pack", str(gguf), "--chunks", str(chunks_dir), "--id", model_id],
                   check=True, cwd=ROOT)


class WasmlmServer:
    def __init__(self, chunks_dir: Path = ROOT / "chunks", start_timeout_s: float = 60):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.chunks_dir = chunks_dir
        self.start_timeout_s = start_timeout_s

    def __enter__(self) -> "WasmlmServer":
        # The server's log goes to a file: a pipe nobody reads fills up (64 KiB, some 650 access-log
        # lines, a few loads of Gemma 3's 63 shards) and then blocks the server's event loop.
        self.log_path = Path(tempfile.mkstemp(prefix=f"wasmlm-serve-{self.port}-", suffix=".log")[1])
        self._log = open(self.log_path, "wb")
        self._proc = subprocess.Popen(
            [*wasmlm_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--chunks", str(self.chunks_dir)],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"wasmlm serve exited with {self._proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/models", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"wasmlm serve did not answer on {self.url} within {self.start_timeout_s:.0f} s")

    def __exit__(self, *exc) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()
        self.log_path.unlink(missing_ok=True)
