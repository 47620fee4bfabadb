"""A short run of `wasmlm bench` end to end: the report files hold every figure, and p-values where
they are defined. No timing is asserted: speed is printed, not tested."""
import json

from e2e.bench import main

ROWS = ("wasmlm/chromium", "wasmlm/firefox", "wllama/chromium", "wllama/firefox", "wasmlm/native")


def test_bench_smoke_writes_the_report(tmp_path):
    assert main(["--browsers", "chromium,firefox,native", "--runs", "2", "--prompt-tokens", "32",
                 "--gen-tokens", "8", "--compare", "wllama", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "bench.json").read_text())
    rows = result["rows"]
    assert set(ROWS) <= set(rows)
    for key in ROWS:
        metrics = rows[key]["metrics"]
        for metric in ("ttft_ms", "prefill_tps", "decode_tps"):
            assert metrics[metric]["n"] == 2 and metrics[metric]["sd"] is not None, (key, metric)
    for key in ("wasmlm/chromium", "wasmlm/firefox"):
        for metric in ("cold_load_ms", "warm_load_ms", "wasm_bytes", "pss_peak_bytes"):
            assert rows[key]["metrics"][metric]["mean"] > 0, (key, metric)
    for key in ("wasmlm/firefox", "wllama/firefox"):
        assert isinstance(rows[key]["metrics"]["prefill_tps"]["p_vs_chromium"], float)
    assert "p_vs_chromium" not in rows["wasmlm/chromium"]["metrics"]["prefill_tps"]
    assert set(result["ratios_vs_wllama"]) == {"chromium", "firefox"}
    markdown = (tmp_path / "bench.md").read_text()
    assert "wasmlm/firefox" in markdown and "p=" in markdown
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
