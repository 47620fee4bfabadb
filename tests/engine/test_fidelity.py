"""`wasmlm fidelity` end to end on a tiny synthetic model, through the wasm build under Node: the
report, the JSON and the three plots are written and non-empty, and the figures say what they must
(requantizing Q8_0 weights to Q8_0 loses nothing; the engine's error per layer stays within the
8-bit activation tolerance of test_layers.py; lower-bit formats are further from float32)."""

import json
import subprocess
import sys

import pytest
from gguf import GGMLQuantizationType

import synthetic_gguf
from conftest import ROOT, cli_command

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    cli_command("node")  # builds the wasm engine the command runs
    tmp = tmp_path_factory.mktemp("fidelity")
    model = synthetic_gguf.write_model(tmp / "tiny.gguf", "llama", n_layer=3, qtype=GGMLQuantizationType.Q8_0)
    out = tmp / "report"
    result = subprocess.run([sys.executable, "-m", "wasmlm.cli", "fidelity", str(model), "--out", str(out),
                             "--formats", "F16,Q8_0,Q4_0", "--tokens", "48", "--runtime", "node"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def test_files_written(report):
    for name in ("report.md", "fidelity.json", "layers.png", "ladder.png", "ablation.png", "tradeoff.png"):
        path = report / name
        assert path.is_file() and path.stat().st_size > 0, name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 10_000, name
    assert sorted(p.name for p in report.iterdir()) == ["ablation.png", "fidelity.json", "ladder.png", "layers.png",
                                                        "report.md", "tradeoff.png"], "nothing else (no requantized files)"
    text = (report / "report.md").read_text()
    assert "## Engine against float32, same weights" in text and "| Q4_0 |" in text
    assert "## Where Q4_0's error comes from" in text


def test_figures(report):
    result = json.loads((report / "fidelity.json").read_text())
    assert result["n_tokens"] == 48 and result["n_layer"] == 3
    engine = result["source"]["engine"]
    assert len(engine["layers"]["rel_l2"]) == 4
    assert engine["layers"]["rel_l2"][0] == 0  # Q8_0 embeddings are dequantized exactly
    assert 0 < max(engine["layers"]["rel_l2"]) < 3e-2
    ladder = {e["format"]: e for e in result["ladder"]}
    assert ladder["Q8_0"]["numpy"]["logits"]["kl"] < 1e-9  # Q8_0 -> float32 -> Q8_0 is lossless
    assert ladder["F16"]["engine"]["logits"]["kl"] < ladder["Q4_0"]["engine"]["logits"]["kl"]
    assert ladder["Q4_0"]["size"] < ladder["Q8_0"]["size"] < ladder["F16"]["size"]
    q4 = ladder["Q4_0"]["numpy"]["layers"]["rel_l2"]
    assert q4[-1] > q4[0] > 0  # weight error enters at the embeddings and grows with depth here
    groups = result["ablation"]["groups"]
    assert groups["embeddings"]["layers"]["rel_l2"][0] == pytest.approx(q4[0])  # only they act on state 0
    assert groups["attention"]["layers"]["rel_l2"][0] == groups["ffn"]["layers"]["rel_l2"][0] == 0
    assert all(0 < g["logits"]["kl"] < ladder["Q4_0"]["numpy"]["logits"]["kl"] for g in groups.values())


def _fidelity(model, out, *extra):
    return subprocess.run([sys.executable, "-m", "wasmlm.cli", "fidelity", str(model), "--out", str(out),
                           "--tokens", "24", "--runtime", "native", "--ablate", "", *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_llamacpp_only_formats_are_skipped_without_llamacpp(tmp_path):
    """Q4_K has no gguf-package quantizer: without --llama-python its rung is skipped, said so in the report."""
    cli_command("native")
    model = synthetic_gguf.write_model(tmp_path / "tiny.gguf", "llama", n_layer=1)
    result = _fidelity(model, tmp_path / "report", "--formats", "Q4_K,Q8_0")
    assert result.returncode == 0, result.stderr
    ladder = {e["format"]: e for e in json.loads((tmp_path / "report" / "fidelity.json").read_text())["ladder"]}
    assert "llama.cpp only" in ladder["Q4_K"]["skipped"] and ladder["Q8_0"]["quantizer"] == "gguf"
    assert "Skipped: Q4_K (quantizable by llama.cpp only" in (tmp_path / "report" / "report.md").read_text()


def test_llamacpp_rungs(tmp_path):
    """With llama.cpp (optional extra), K-quant and IQ4 rungs are quantized by it, every matrix in the format,
    and run through numpy, the engine and llama.cpp: fewer bits, further from float32."""
    pytest.importorskip("llama_cpp")
    cli_command("native")
    model = synthetic_gguf.write_model(tmp_path / "tiny.gguf", "llama", n_layer=1, n_embd=256, n_ff=256)
    result = _fidelity(model, tmp_path / "report", "--formats", "Q6_K,Q4_K,IQ4_XS,Q2_K",
                       "--llama-python", sys.executable)
    assert result.returncode == 0, result.stderr
    ladder = {e["format"]: e for e in json.loads((tmp_path / "report" / "fidelity.json").read_text())["ladder"]}
    assert all(e["quantizer"] == "llama.cpp" and "llama_cpp" in e for e in ladder.values())
    kl = {f: e["numpy"]["logits"]["kl"] for f, e in ladder.items()}
    assert 0 < kl["Q6_K"] < kl["Q4_K"] < kl["Q2_K"]
    for e in ladder.values():  # the engine runs the same weights as numpy: only its 8-bit activations differ
        assert e["engine"]["layers"]["rel_l2"][-1] < e["numpy"]["layers"]["rel_l2"][-1] + 3e-2
    assert ladder["Q2_K"]["size"] < ladder["Q4_K"]["size"] < ladder["Q6_K"]["size"]
