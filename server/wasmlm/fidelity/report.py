"""A fidelity result (run.py) written to a folder: fidelity.json, report.md and three PNG plots.
Plotting needs matplotlib (the `fidelity` extra: pip install 'wasmlm[fidelity]'; `dev` has it too)."""

import json
from pathlib import Path


def _layer_label(i: int) -> str:
    return "embd" if i == 0 else str(i - 1)


def _floor(values: list[float], floor: float = 1e-8) -> list[float]:
    """Zeros (exact agreement) drawn at the floor, the bottom of a log axis."""
    return [max(v, floor) for v in values]


def _floor_of(curves: list[list[float]]) -> float:
    positive = [v for c in curves for v in c if v > 0]
    return min(positive) / 3 if positive else 1e-8


def _layer_axis(ax, n_layer: int) -> None:
    ticks = list(range(0, n_layer + 1, -(-(n_layer + 1) // 12)))
    ax.set_xticks(ticks, [_layer_label(i) for i in ticks])
    ax.set_xlabel("state: embeddings, then the output of layer l")


def _plots(result: dict, out: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = list(range(result["n_layer"] + 1))
    src = result["source"]
    floor = _floor_of([src["engine"]["layers"]["rel_l2"], src["numpy_f16kv"]["layers"]["rel_l2"]])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.semilogy(x, _floor(src["engine"]["layers"]["rel_l2"], floor), "o-", label="engine vs numpy float32")
    a1.semilogy(x, _floor(src["engine_vs_f16kv"]["rel_l2"], floor), "s--", label="engine vs numpy with f16 q/K/V")
    a1.semilogy(x, _floor(src["numpy_f16kv"]["layers"]["rel_l2"], floor), "^:", label="numpy f16 q/K/V vs float32")
    a1.set(ylabel="relative L2 error (mean over positions)", title=f"{result['model']}: engine vs float32, same weights")
    _layer_axis(a1, result["n_layer"])
    a1.legend(fontsize=8)
    one_minus_cos = [1 - c for c in src["engine"]["layers"]["cosine"]]
    floor = _floor_of([one_minus_cos, src["engine"]["layers"]["max_abs"]])
    a2.semilogy(x, _floor(one_minus_cos, floor), "o-", label="1 - cosine")
    a2.semilogy(x, _floor(src["engine"]["layers"]["max_abs"], floor), "s--", label="max abs error")
    a2.set(title="engine vs numpy float32")
    _layer_axis(a2, result["n_layer"])
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "layers.png", dpi=100)
    plt.close(fig)

    ladder = [e for e in result["ladder"] if "skipped" not in e]
    fig, ax = plt.subplots(figsize=(10, 5))
    floor = _floor_of([e[k]["layers"]["rel_l2"] for e in ladder for k in ("engine", "numpy")])
    for i, e in enumerate(ladder):
        color = f"C{i}"
        ax.semilogy(x, _floor(e["engine"]["layers"]["rel_l2"], floor), "o-", color=color, ms=3,
                    label=f"{e['format']} engine")
        ax.semilogy(x, _floor(e["numpy"]["layers"]["rel_l2"], floor), "--", color=color,
                    label=f"{e['format']} numpy (weights only)")
    ax.set(ylabel="relative L2 error vs float32 (mean over positions)",
           title=f"{result['model']}: quantization error with depth (zeros drawn at {floor:.1g})")
    _layer_axis(ax, result["n_layer"])
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(out / "ladder.png", dpi=100)
    plt.close(fig)
    names = ["layers.png", "ladder.png"]

    if "ablation" in result:
        ab = result["ablation"]
        full = next((e for e in ladder if e["format"] == ab["format"]), None)
        fig, ax = plt.subplots(figsize=(8, 4.5))
        curves = {f"{g} only": v["layers"]["rel_l2"] for g, v in ab["groups"].items()}
        if full:
            curves["all (numpy)"] = full["numpy"]["layers"]["rel_l2"]
        floor = _floor_of(list(curves.values()))
        for name, curve in curves.items():
            ax.semilogy(x, _floor(curve, floor), "o-" if "all" in name else "s--", ms=3, label=name)
        ax.set(ylabel=f"relative L2 error vs float32 (0 at {floor:.1g})",
               title=f"{result['model']}: {ab['format']}, one weight group at a time (numpy)")
        _layer_axis(ax, result["n_layer"])
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "ablation.png", dpi=100)
        plt.close(fig)
        names.append("ablation.png")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    mib = [e["size"] / 2**20 for e in ladder]
    for key, marker, label in (("engine", "o-", "engine"), ("numpy", "s--", "numpy (weights only)"),
                               ("llama_cpp", "^:", "llama.cpp")):
        if all(key in e for e in ladder) and ladder:
            ax.loglog(mib, [max(e[key]["logits"]["kl"], 1e-9) for e in ladder], marker, label=label)
    for m, e in zip(mib, ladder):
        ax.annotate(e["format"], (m, max(e["engine"]["logits"]["kl"], 1e-9)), fontsize=8)
    ax.set(xlabel="file size (MiB)", ylabel="KL(float32 || format), nats per token",
           title=f"{result['model']}: size against quality")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "tradeoff.png", dpi=100)
    plt.close(fig)
    return [*names, "tradeoff.png"]


def _logits_row(name: str, m: dict) -> str:
    return (f"| {name} | {m['kl']:.5f} | {m['kl_max']:.4f} | {m['top1']:.3f} | {m['top5']:.3f} | "
            f"{m['perplexity']:.3f} |")


def markdown(result: dict, plots: list[str]) -> str:
    src = result["source"]
    lines = [
        f"# Fidelity: {result['model']}",
        "",
        f"{result['arch']}, {result['n_layer']} layers, n_embd {result['n_embd']}; {result['n_tokens']} tokens of text, "
        f"one sequence; engine runtime `{result['runtime']}`; llama.cpp: "
        f"{'llama-cpp-python ' + result['llama_cpp'] if result['llama_cpp'] else 'not run (no llama-cpp-python: --llama-python)'}.",
        "Reference: the numpy float32 forward pass (server/wasmlm/fidelity/reference.py) on this file's weights "
        "dequantized to float32. Errors are means over positions; state 0 is the embeddings, state l the "
        "residual stream after layer l-1.",
        "",
        "## Engine against float32, same weights",
        "",
        "| state | rel L2 | cosine | max abs | rel L2 vs f16-KV numpy |",
        "|---|---|---|---|---|",
    ]
    el = src["engine"]["layers"]
    for i in range(result["n_layer"] + 1):
        lines.append(f"| {_layer_label(i)} | {el['rel_l2'][i]:.2e} | {el['cosine'][i]:.6f} | {el['max_abs'][i]:.3g} | "
                     f"{src['engine_vs_f16kv']['rel_l2'][i]:.2e} |")
    lines += ["", "| logits vs float32 | KL (nats) | KL max | top-1 | top-5 | perplexity |", "|---|---|---|---|---|---|",
              _logits_row("engine", src["engine"]["logits"]),
              _logits_row("numpy, f16 q/K/V", src["numpy_f16kv"]["logits"])]
    if "llama_cpp" in src:
        lines.append(_logits_row("llama.cpp", src["llama_cpp"]["logits"]))
    lines.append(f"\nPerplexity of the float32 pass on this text: {src['engine']['logits']['perplexity_ref']:.3f}.")
    ladder = [e for e in result["ladder"] if "skipped" not in e]
    if ladder:
        lines += ["", "## Quantization ladder (float32 weights requantized, against float32)", "",
                  "| format | size (MiB) | who | KL (nats) | KL max | top-1 | top-5 | perplexity | rel L2 last layer |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for e in ladder:
            for who in ("numpy", "engine", "llama_cpp"):
                if who not in e:
                    continue
                m = e[who]["logits"]
                last = f"{e[who]['layers']['rel_l2'][-1]:.2e}" if "layers" in e[who] else "-"
                lines.append(f"| {e['format']} | {e['size'] / 2**20:.1f} | {who} | {m['kl']:.5f} | {m['kl_max']:.4f} | "
                             f"{m['top1']:.3f} | {m['top5']:.3f} | {m['perplexity']:.3f} | {last} |")
        by_llama = [e["format"] for e in ladder if e.get("quantizer") == "llama.cpp"]
        if by_llama:
            lines += ["", f"Quantized by llama.cpp (`pure`: every matrix in the format): {', '.join(by_llama)}; "
                          "the others by the gguf package."]
        lines += ["", "Relative L2 error against float32 per state (engine / numpy with the requantized weights):", "",
                  "| state | " + " | ".join(e["format"] for e in ladder) + " |", "|---|" + "---|" * len(ladder)]
        for i in range(result["n_layer"] + 1):
            cells = [f"{e['engine']['layers']['rel_l2'][i]:.1e} / {e['numpy']['layers']['rel_l2'][i]:.1e}" for e in ladder]
            lines.append(f"| {_layer_label(i)} | " + " | ".join(cells) + " |")
    if "ablation" in result:
        ab = result["ablation"]
        groups = ab["groups"]
        lines += ["", f"## Where {ab['format']}'s error comes from (numpy, one weight group quantized at a time)", "",
                  "| group quantized | KL (nats) | top-1 | top-5 | perplexity | rel L2 embd | rel L2 layer 0 | rel L2 last |",
                  "|---|---|---|---|---|---|---|---|"]
        for group, g in groups.items():
            m, r = g["logits"], g["layers"]["rel_l2"]
            lines.append(f"| {group} | {m['kl']:.5f} | {m['top1']:.3f} | {m['top5']:.3f} | {m['perplexity']:.3f} | "
                         f"{r[0]:.1e} | {r[1]:.1e} | {r[-1]:.1e} |")
    skipped = [f"{e['format']} ({e['skipped']})" for e in result["ladder"] if "skipped" in e]
    if skipped:
        lines.append(f"\nSkipped: {', '.join(skipped)}.")
    lines += ["", *(f"![{p}]({p})" for p in plots), "", f"Run time: {result['seconds']} s.", ""]
    return "\n".join(lines)


def report_rewrite(out: Path) -> list[Path]:
    """Report and plots again from a folder's fidelity.json (after a change to this file)."""
    return report_write(json.loads((out / "fidelity.json").read_text()), out)


def report_write(result: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "fidelity.json").write_text(json.dumps(result, indent=1) + "\n")
    plots = _plots(result, out)
    (out / "report.md").write_text(markdown(result, plots))
    return [out / "fidelity.json", out / "report.md", *(out / p for p in plots)]
