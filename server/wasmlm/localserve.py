"""`wasmlm serve` as a subprocess on a free loopback port, waited for until it answers (for `wasmlm loadtest`,
the end-to-end tests and the benchmark), and any ASGI app in a thread of this process (the tests' pages,
proxies and app): one home for starting, waiting for and stopping a local server."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from .settings import ROOT, Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def serve_command() -> list[str]:
    """This interpreter's `wasmlm` (the one of its venv), so a test runs the checkout it imports."""
    return [sys.executable, "-m", "wasmlm.cli"]


class LocalServer:
    """`wasmlm serve --chunks CHUNKS` on 127.0.0.1 (a free port unless `port` is given), as a context manager
    or with start()/stop(). Its log goes to a file (`log_path`): a pipe nobody reads fills up (64 KiB, some
    650 access-log lines, a few loads of Gemma 3's 63 shards) and then blocks the server's event loop."""

    def __init__(self, chunks_dir: Path | None = None, port: int | None = None, log_dir: Path | None = None,
                 start_timeout_s: float = 60, log_level: str = "info", args: tuple[str, ...] = ()):
        self.chunks_dir = Path(chunks_dir or Settings().chunks)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout_s = start_timeout_s
        self.log_level = log_level
        self.args = args   # more `wasmlm serve` flags, e.g. ("--header-timeout", "2")
        self._log_dir = log_dir
        self._proc: subprocess.Popen | None = None

    def start(self) -> "LocalServer":
        if self._log_dir is None:
            self.log_path = Path(tempfile.mkstemp(prefix=f"wasmlm-serve-{self.port}-", suffix=".log")[1])
        else:
            self.log_path = self._log_dir / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")
        self._proc = subprocess.Popen(
            [*serve_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--chunks", str(self.chunks_dir), "--log-level", self.log_level, *self.args],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        try:
            process_until_answers(self._proc, f"{self.url}/api/models", "wasmlm serve", self.log_path,
                                  self.start_timeout_s, poll_s=0.2)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops the process; the log stays for reading when it was written to `log_dir`."""
        if self._proc is None:
            return
        process_stop(self._proc)
        self._proc = None
        self._log.close()
        if self._log_dir is None:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class AppThread:
    """An ASGI app under uvicorn in a daemon thread of this process, on 127.0.0.1 (a free port unless given),
    as a context manager; `name` says what failed to start."""

    def __init__(self, app, name: str, port: int | None = None):
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self):
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self.name} did not start on port {self.port}")
            self._thread.join(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10)
