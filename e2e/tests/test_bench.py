"""A short run of `wasmlm bench` end to end: the report files hold every figure, and p-values where
they are defined. No timing is asserted: speed is printed, not tested."""
import json

import numpy as np
import pytest
from gguf import GGUFWriter

from e2e import report
from e2e.bench import gguf_resolve, main
from wasmlm import engine_cli
from wasmlm.pack import pack

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


def test_a_packed_model_gives_back_its_gguf(tmp_path, monkeypatch):
    """`--model` takes any packed id: its GGUF is put back together from the shards, sha256-checked."""
    gguf = tmp_path / "tiny.gguf"
    w = GGUFWriter(str(gguf), "llama")
    w.add_block_count(1)
    w.add_embedding_length(64)
    w.add_head_count(4)
    w.add_context_length(128)
    rng = np.random.default_rng(0)
    for i in range(3):
        w.add_tensor(f"t{i}", rng.standard_normal((64, 256)).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    chunks = tmp_path / "chunks"
    manifest = pack(gguf, chunks, model_id="tiny-test", shard_size=64 << 10)
    monkeypatch.setattr(engine_cli, "REASSEMBLED_DIR", tmp_path / "out")
    got = gguf_resolve("tiny-test", chunks)
    assert got.parent == tmp_path / "out" and got.read_bytes() == gguf.read_bytes()

    got.unlink()
    manifest["gguf"]["sha256"] = "0" * 64  # shards that do not make the file the manifest describes
    (chunks / "tiny-test" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(engine_cli.EngineError, match="sha256"):
        gguf_resolve("tiny-test", chunks)
    assert not got.exists()


def test_the_report_divides_by_llama_cpp_measured_in_the_same_run(tmp_path):
    runs = [{"system": "wasmlm", "engine": "chromium", "via": "playwright", "prefill_tps": p, "decode_tps": d}
            for p, d in ((90.0, 40.0), (110.0, 44.0))]
    runs += [{"system": "llama.cpp", "engine": "native", "via": "llama-cpp-python", "prefill_tps": p, "decode_tps": d}
             for p, d in ((190.0, 82.0), (210.0, 86.0))]
    result = report.write(runs, {"model": "m", "wllama and llama.cpp threads": 1}, tmp_path)
    ratios = result["ratios_vs_llama_cpp_native"]
    assert set(ratios) == {"wasmlm/chromium"}
    assert ratios["wasmlm/chromium"] == pytest.approx({"prefill_tps": 0.5, "decode_tps": 0.5})
    markdown = (tmp_path / "bench.md").read_text()
    assert "Against native llama.cpp measured in this run (prefill 200.0, decode 84.0 tok/s, 1 thread(s))" in markdown
    assert "| wasmlm/chromium | 0.50x | 0.50x |" in markdown
    # without a llama.cpp row there is no such table (no constant stands in for it)
    assert "llama.cpp" not in report.markdown(report.analyse(runs[:2]), {"model": "m"})


def test_depth_reaches_the_runtimes_and_is_refused_for_browsers(tmp_path, capsys):
    """`--depth N`: the CLI rows are measured with N tokens already in the cache (cost against context)."""
    assert main(["--browsers", "native", "--runs", "1", "--prompt-tokens", "8", "--gen-tokens", "2",
                 "--depth", "40", "--out", str(tmp_path)]) == 0
    run = json.loads((tmp_path / "bench.json").read_text())["runs"][0]
    assert run["raw"]["depth"] == 40 and run["raw"]["stats"]["tokens"]["prompt"] == 48
    with pytest.raises(SystemExit):
        main(["--browsers", "chromium,native", "--depth", "40"])
    assert "--depth applies to node, native and llama.cpp only" in capsys.readouterr().err
