"""`wasmlm serve` as a subprocess (wasmlm/localserve.py): it answers once started, stays responsive however
much it logs, and one that cannot start fails at once with its own words, not after a timeout."""
import time

import httpx
import pytest

from wasmlm.localserve import LocalServer


def test_a_server_that_exits_fails_at_once_with_its_log(tmp_path):
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)wasmlm serve exited with 2: .*unrecognized arguments: --no-such-flag"):
        LocalServer(tmp_path, log_dir=tmp_path, args=("--no-such-flag",)).start()
    assert time.monotonic() - t0 < 30


def test_stop_ends_it_and_keeps_the_log(tmp_path):
    with LocalServer(tmp_path, log_dir=tmp_path) as server:
        assert httpx.get(f"{server.url}/api/models", timeout=5).json() == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/api/models", timeout=2)
    assert "GET /api/models" in server.log_path.read_text()


def test_server_answers_after_more_log_than_a_pipe_holds(tmp_path):
    """2000 requests write ~120 KB of access log; a pipe nobody read used to block the server at ~64 KB
    (a benchmark of Gemma 3's 63 shards hung on its seventh load)."""
    with LocalServer(chunks_dir=tmp_path) as server, httpx.Client(timeout=5) as client:
        for _ in range(2000):
            assert client.get(f"{server.url}/healthz").status_code == 200
        assert server.log_path.stat().st_size > 96 * 1024
