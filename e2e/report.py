"""Benchmark figures -> statistics per engine, Welch's t-test against Chromium, Markdown + PNG + JSON."""
import json
import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from scipy.stats import ttest_ind

METRICS = {  # key: (label, unit, higher is better)
    "cold_load_ms": ("cold load", "ms", False),
    "warm_load_ms": ("warm load", "ms", False),
    "ttft_ms": ("time to first token", "ms", False),
    "prefill_tps": ("prefill", "tok/s", True),
    "decode_tps": ("decode", "tok/s", True),
    "plan_bytes": ("memory plan before the download", "MiB", False),
    "wasm_bytes": ("wasm memory after load", "MiB", False),
    "pss_peak_bytes": ("browser PSS, peak", "MiB", False),
}
BASELINE = "chromium"
LLAMA_CPP = "llama.cpp/native"  # the row of `--compare llama.cpp`, measured in the same sitting


def summary(values: list[float]) -> dict | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"n": len(values), "mean": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None,
            "median": statistics.median(values), "min": min(values), "max": max(values)}


def welch_p(a: list[float], b: list[float]) -> float | None:
    """Welch's t-test p-value; None where it is undefined (fewer than two runs, or no spread at all)."""
    a, b = [v for v in a if v is not None], [v for v in b if v is not None]
    if len(a) < 2 or len(b) < 2:
        return None
    p = ttest_ind(a, b, equal_var=False).pvalue
    return None if math.isnan(p) else float(p)


def analyse(runs: list[dict]) -> dict:
    """runs: [{"system": "wasmlm"|"wllama", "engine": ..., metric: value, ...}] -> per row statistics."""
    rows: dict[str, dict] = {}
    for run in runs:
        rows.setdefault(f"{run['system']}/{run['engine']}", []).append(run)
    out = {}
    for key, row_runs in rows.items():
        system = row_runs[0]["system"]
        baseline = rows.get(f"{system}/{BASELINE}", [])
        out[key] = {"system": system, "engine": row_runs[0]["engine"], "via": row_runs[0].get("via"),
                    "runs": len(row_runs), "failed": sum("error" in r for r in row_runs), "metrics": {}}
        for metric in METRICS:
            values = [r.get(metric) for r in row_runs]
            stats = summary(values)
            if stats is None:
                continue
            if row_runs[0]["engine"] != BASELINE and baseline:
                stats["p_vs_chromium"] = welch_p(values, [r.get(metric) for r in baseline])
            out[key]["metrics"][metric] = stats
    return out


def ratios(rows: dict) -> dict:
    """wasmlm / wllama per engine and metric, from the means."""
    out = {}
    for key, row in rows.items():
        other = rows.get(f"wllama/{row['engine']}")
        if row["system"] != "wasmlm" or other is None:
            continue
        out[row["engine"]] = {m: row["metrics"][m]["mean"] / other["metrics"][m]["mean"]
                              for m in METRICS if m in row["metrics"] and m in other["metrics"]
                              and other["metrics"][m]["mean"]}
    return out


def llama_cpp_anchor(rows: dict) -> dict:
    """Native llama.cpp's mean tokens/s in this run, where it ran: {"prefill_tps": .., "decode_tps": ..}."""
    metrics = rows.get(LLAMA_CPP, {}).get("metrics", {})
    return {m: metrics[m]["mean"] for m in ("prefill_tps", "decode_tps") if metrics.get(m, {}).get("mean")}


def llama_cpp_ratios(rows: dict) -> dict:
    """Each other row's mean tokens/s over native llama.cpp's measured in the same run."""
    anchor = llama_cpp_anchor(rows)
    return {key: {m: row["metrics"][m]["mean"] / v for m, v in anchor.items() if m in row["metrics"]}
            for key, row in rows.items() if anchor and key != LLAMA_CPP}


def _cell(metric: str, stats: dict | None) -> str:
    if stats is None:
        return "-"
    scale = 2**20 if METRICS[metric][1] == "MiB" else 1
    f = lambda v: f"{v / scale:.1f}"
    sd = f" ± {f(stats['sd'])}" if stats["sd"] is not None else ""
    p = stats.get("p_vs_chromium")
    p_text = f"; p={p:.3g}" if p is not None else ""
    return f"{f(stats['mean'])}{sd} (med {f(stats['median'])}, {f(stats['min'])}–{f(stats['max'])}{p_text})"


def markdown(rows: dict, setup: dict) -> str:
    lines = ["# wasmlm benchmark", "", *[f"- {k}: {v}" for k, v in setup.items()], "",
             "Each cell: mean ± sd (median, min–max; Welch's t-test p-value against Chromium of the same "
             "system where both have two runs or more). Node.js and native rows have no browser.", ""]
    metrics = [m for m in METRICS if any(m in r["metrics"] for r in rows.values())]
    lines.append("| row | driver | " + " | ".join(f"{METRICS[m][0]} ({METRICS[m][1]})" for m in metrics) + " |")
    lines.append("|---|---|" + "---|" * len(metrics))
    for key, row in rows.items():
        cells = [_cell(m, row["metrics"].get(m)) for m in metrics]
        failed = f" ({row['failed']} of {row['runs']} runs failed, see bench.json)" if row["failed"] else ""
        lines.append(f"| {key} | {row['via'] or '-'}{failed} | " + " | ".join(cells) + " |")
    native = llama_cpp_ratios(rows)
    if native:
        lines += ["", "## Against native llama.cpp measured in this run ("
                  + ", ".join(f"{METRICS[m][0]} {v:.1f}" for m, v in llama_cpp_anchor(rows).items())
                  + f" tok/s, {setup.get('wllama and llama.cpp threads', '?')} thread(s))", "",
                  "| row | prefill | decode |", "|---|---|---|"]
        for key, values in native.items():
            lines.append(f"| {key} | " + " | ".join(f"{values[m]:.2f}x" if m in values else "-"
                                                   for m in ("prefill_tps", "decode_tps")) + " |")
    r = ratios(rows)
    if r:
        lines += ["", "## wasmlm / wllama (ratio of means; above 1 is better for tok/s, below 1 for ms and bytes)", "",
                  "| engine | " + " | ".join(METRICS[m][0] for m in METRICS) + " |", "|---|" + "---|" * len(METRICS)]
        for engine, values in r.items():
            lines.append(f"| {engine} | " + " | ".join(f"{values[m]:.2f}" if m in values else "-" for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


def chart(rows: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    names = list(rows)
    for ax, metric in zip(axes, ("prefill_tps", "decode_tps")):
        stats = [rows[n]["metrics"].get(metric) for n in names]
        means = [s["mean"] if s else 0 for s in stats]
        errors = [s["sd"] or 0 if s else 0 for s in stats]
        ax.bar(range(len(names)), means, yerr=errors, capsize=4,
               color=["#2b6cb0" if n.startswith("wasmlm") else "#a0aec0" for n in names])
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{METRICS[metric][0]} ({METRICS[metric][1]}), mean ± sd")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(runs: list[dict], setup: dict, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = analyse(runs)
    result = {"setup": setup, "rows": rows, "ratios_vs_wllama": ratios(rows),
              "ratios_vs_llama_cpp_native": llama_cpp_ratios(rows), "runs": runs}
    (out_dir / "bench.json").write_text(json.dumps(result, indent=1))
    (out_dir / "bench.md").write_text(markdown(rows, setup) + "\n![prefill and decode](bench.png)\n")
    chart(rows, out_dir / "bench.png")
    return result
