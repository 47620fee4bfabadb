// The engine's per-operation time for the last reply (wl_stats_json's "ms", reset by the worker at the
// start of each reply) as a small bar chart in the statistics panel. Bars are sized through CSSOM
// (element.style), which the page's CSP allows, unlike style attributes.

const OPS = [
  ["matmul", "Matrix products"], ["attention", "Attention"], ["norm", "Norms"], ["rope", "RoPE"],
  ["ffn_act", "FFN activation"], ["logits", "Logits"], ["sample", "Sampling"], ["other", "Other"],
];
const EVAL_OPS = ["matmul", "attention", "norm", "rope", "ffn_act", "logits"];

// {op: ms} with "other": the part of the forward passes' total that no named op accounts for.
export function op_times(ms) {
  if (!ms || !(ms.total > 0)) return null;
  const named = EVAL_OPS.reduce((sum, k) => sum + (ms[k] || 0), 0);
  return Object.fromEntries(OPS.map(([k]) => [k, k === "other" ? Math.max(0, ms.total - named) : ms[k] || 0]));
}

const ms_text = (x) => (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);

// Fills `box` (a <details> with a .op-chart inside) from `ms`, or hides it when there is no reply yet.
export function opchart_render(box, ms) {
  const times = op_times(ms);
  box.hidden = !times;
  if (!times) return;
  const all = Object.values(times).reduce((a, b) => a + b, 0);
  const top = Math.max(...Object.values(times));
  const rows = OPS.map(([k, label]) => {
    const row = document.createElement("div");
    row.className = "op-row";
    row.dataset.op = k;
    row.dataset.ms = times[k].toFixed(3);
    const name = Object.assign(document.createElement("span"), { className: "op-name", textContent: label });
    const track = Object.assign(document.createElement("span"), { className: "op-track" });
    const bar = Object.assign(document.createElement("span"), { className: "op-bar" });
    bar.style.width = `${top > 0 ? (100 * times[k]) / top : 0}%`;
    track.append(bar);
    const value = Object.assign(document.createElement("span"), {
      className: "op-ms", textContent: `${ms_text(times[k])} · ${all > 0 ? Math.round((100 * times[k]) / all) : 0}%`,
    });
    row.append(name, track, value);
    return row;
  });
  const chart = box.querySelector(".op-chart");
  chart.replaceChildren(...rows);
  chart.setAttribute("aria-label", OPS.map(([k, label]) => `${label} ${ms_text(times[k])}`).join(", "));
}
