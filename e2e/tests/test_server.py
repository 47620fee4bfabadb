"""The harness's own server stays responsive however much it logs."""
import httpx

from wasmlm.localserve import LocalServer


def test_server_answers_after_more_log_than_a_pipe_holds(tmp_path):
    """2000 requests write ~120 KB of access log; a pipe nobody read used to block the server at ~64 KB
    (a benchmark of Gemma 3's 63 shards hung on its seventh load)."""
    with LocalServer(chunks_dir=tmp_path) as server, httpx.Client(timeout=5) as client:
        for _ in range(2000):
            assert client.get(f"{server.url}/healthz").status_code == 200
        assert server.log_path.stat().st_size > 96 * 1024
