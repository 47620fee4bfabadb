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


def process_until_answers(proc: subprocess.Popen, url: str, name: str, log_path: Path, timeout_s: float,
                          poll_s: float = 0.1) -> None:
    """Waits until `url` answers 200; raises with the log's tail when the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(poll_s)
    raise RuntimeError(f"{name} did not answer on {url} within {timeout_s:.0f} s")


def process_stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
        try:
            process_until_answers(self._proc, f"{self.url}/api/models", "wasmlm serve", self.log_path,
                                  self.start_timeout_s, poll_s=0.2)
        except RuntimeError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        process_stop(self._proc)
        self._log.close()
        self.log_path.unlink(missing_ok=True)
