// Opt-in performance reports (off unless the person turns them on; remembered in this browser): after a
// reply, numbers only go to POST /api/telemetry. The report is built field by field from the engine's and
// the loader's figures; nothing a person or the model wrote is ever read here, and the server refuses
// any field it does not know (wasmlm/telemetry.py).

const KEY = "wasmlm.telemetry";
const BUILD_NAME = /^[a-z0-9-]{1,32}$/;

export function browser_family(ua) {
  if (/Firefox\//.test(ua)) return "firefox";
  if (/Chrom(e|ium)\//.test(ua)) return "chromium";
  if (/AppleWebKit\//.test(ua)) return "webkit";
  return "other";
}

const number = (x) => (typeof x === "number" && Number.isFinite(x) && x >= 0 ? Math.round(x * 10) / 10 : null);

// The report, or null when a label is not one the server could accept.
export function report_build(info, load, last, ua) {
  if (!info || !load || typeof info.model !== "string" || !BUILD_NAME.test(info.build || "")) return null;
  return {
    model: info.model,
    build: info.build,
    browser: browser_family(ua || ""),
    threads: Number.isInteger(info.threads) && info.threads > 0 ? info.threads : 1,
    load_ms: number(load.total_ms) ?? 0,
    first_token_ms: number(last?.ttft_ms),
    prompt_tps: number(last?.prompt_tps),
    decode_tps: number(last?.gen_tps),
  };
}

export const telemetry_enabled = () => localStorage.getItem(KEY) === "on";

export function telemetry_setup(checkbox) {
  checkbox.checked = telemetry_enabled();
  checkbox.addEventListener("change", () => localStorage.setItem(KEY, checkbox.checked ? "on" : "off"));
}

// Fire and forget: a refused or failed report changes nothing on the page.
export function telemetry_send(info, load, last) {
  if (!telemetry_enabled()) return;
  const report = report_build(info, load, last, navigator.userAgent);
  if (!report) return;
  fetch("/api/telemetry", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(report), keepalive: true,
  }).catch(() => {});
}
