"""`wasmlm fidelity`: one model through the numpy float32 pass, the engine and the quantization ladder;
the figures come back as one dict (written as JSON, Markdown and plots by report.py)."""

import sys
import time
from pathlib import Path

from gguf import GGUFReader

from . import reference
from .engine_layers import engine_layers, engine_tokenize
from .llamacpp import llamacpp_available, llamacpp_logits
from .metrics import layer_errors, logit_metrics
from .requantize import GROUPS, format_quantizable, gguf_requantize, llamacpp_requantize, weights_requantize

DEFAULT_TEXT = Path(__file__).with_name("text.txt")


def _log(message: str) -> None:
    print(f"fidelity: {message}", file=sys.stderr, flush=True)


def _pair(states, logits, ref: reference.Forward, ids: list[int]) -> dict:
    return {"layers": layer_errors(states, ref.states), "logits": logit_metrics(logits, ref.logits, ids)}


def fidelity_run(model: Path, text: str, formats: list[str], work: Path, runtime: str = "node",
                 n_tokens: int = 128, llama_python: str | None = None, ablate: str | None = None) -> dict:
    t0 = time.monotonic()
    ids = engine_tokenize(runtime, model, text)[:n_tokens]
    if len(ids) < 2:
        raise ValueError("the text gives fewer than 2 tokens")
    reader = GGUFReader(str(model))
    hp, base = reference.load(str(model))
    _log(f"{model.name}: {hp.arch}, {hp.n_layer} layers, {len(ids)} tokens; numpy float32 pass")
    ref = reference.forward(hp, base, ids)
    ref_f16kv = reference.forward(hp, base, ids, kv_f16=True)
    _log(f"engine ({runtime}) on the file itself")
    eng = engine_layers(runtime, model, ids)
    llama_version = llamacpp_available(llama_python) if llama_python else None
    if llama_python and not llama_version:
        _log(f"{llama_python} cannot import llama_cpp: llama.cpp's figures are skipped")
    result = {
        "model": model.name, "arch": hp.arch, "n_layer": hp.n_layer, "n_embd": hp.n_embd, "n_tokens": len(ids),
        "runtime": runtime, "file_size": model.stat().st_size, "llama_cpp": llama_version,
        "source": {
            "engine": _pair(eng.states, eng.logits, ref, ids),
            "engine_vs_f16kv": layer_errors(eng.states, ref_f16kv.states),
            "numpy_f16kv": _pair(ref_f16kv.states, ref_f16kv.logits, ref, ids),
        },
        "ladder": [],
    }
    if llama_version:
        result["source"]["llama_cpp"] = {"logits": logit_metrics(llamacpp_logits(llama_python, model, ids), ref.logits, ids)}
    work.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        by_gguf = format_quantizable(fmt)
        if not by_gguf and not llama_version:
            _log(f"{fmt}: the gguf package cannot quantize it and llama.cpp is not there (--llama-python); skipped")
            result["ladder"].append({"format": fmt, "skipped": "quantizable by llama.cpp only (--llama-python)"})
            continue
        _log(f"{fmt}: requantize ({'gguf' if by_gguf else 'llama.cpp'}), numpy pass, engine")
        path = work / f"{model.stem}.{fmt}.gguf"
        req = (gguf_requantize(reader, base, fmt, path) if by_gguf
               else llamacpp_requantize(reader, base, fmt, path, llama_python))
        nq = reference.forward(hp, req.weights, ids)
        eq = engine_layers(runtime, path, ids)
        entry = {"format": fmt, "quantizer": "gguf" if by_gguf else "llama.cpp", "size": req.size, "numpy": _pair(nq.states, nq.logits, ref, ids),
                 "engine": _pair(eq.states, eq.logits, ref, ids)}
        if llama_version:
            entry["llama_cpp"] = {"logits": logit_metrics(llamacpp_logits(llama_python, path, ids), ref.logits, ids)}
        result["ladder"].append(entry)
        del req, nq
        path.unlink()
    if ablate:
        result["ablation"] = {"format": ablate, "groups": {}}
        for group in GROUPS:
            _log(f"ablation: only the {group} matrices in {ablate}, numpy pass")
            f = reference.forward(hp, weights_requantize(base, ablate, group), ids)
            result["ablation"]["groups"][group] = _pair(f.states, f.logits, ref, ids)
    result["seconds"] = round(time.monotonic() - t0, 1)
    return result
