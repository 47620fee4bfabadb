// static/telemetry.js: a report holds numbers and bounded labels only, whatever the figures it is given carry.
import { test } from "node:test";
import assert from "node:assert/strict";

import { browser_family, report_build } from "../telemetry.js";

const UA = {
  chromium: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
  firefox: "Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0",
  webkit: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
  other: "curl/8.0",
};

test("browser families", () => {
  for (const [family, ua] of Object.entries(UA)) assert.equal(browser_family(ua), family);
});

test("a report copies numbers and labels only, never text that rides along", () => {
  const secret = "my bank password is hunter2";
  const info = { model: "smollm2-135m-instruct-q4_1", build: "simd", threads: 1, name: secret, arch: "llama" };
  const load = { total_ms: 1234.567, plan: { reason: secret } };
  const last = { ttft_ms: 88.04, prompt_tps: 120.3333, gen_tps: 30.25, reply: secret, text: secret, reason: "eog" };
  const report = report_build(info, load, last, UA.firefox);
  assert.deepEqual(report, { model: "smollm2-135m-instruct-q4_1", build: "simd", browser: "firefox", threads: 1,
    load_ms: 1234.6, first_token_ms: 88, prompt_tps: 120.3, decode_tps: 30.3 });
  assert.ok(!JSON.stringify(report).includes("hunter2"));
});

test("figures that are not finite non-negative numbers become null; odd build names send nothing", () => {
  const info = { model: "m", build: "simd", threads: 1 };
  const r = report_build(info, { total_ms: 5 }, { ttft_ms: "12", prompt_tps: NaN, gen_tps: -1 }, UA.other);
  assert.deepEqual([r.first_token_ms, r.prompt_tps, r.decode_tps], [null, null, null]);
  assert.equal(report_build({ ...info, build: "simd; text" }, { total_ms: 5 }, null, UA.other), null);
  assert.equal(report_build(info, null, null, UA.other), null);
});
