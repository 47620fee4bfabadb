// The loader's decisions, driven with small fakes for fetch, cache, clock and the wasm sink.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  WASM32_LIMIT, memory_plan, range_headers, body_skip, retry_delay, http_retryable,
  integrity_decision, Progress, run_limited, shards_load, ShardError, cache_key, verify_tiling, bytes_check,
} from "../loader.js";

const sha = (u8) => createHash("sha256").update(u8).digest("hex");

// A model of `n` shards of `size` bytes each, stored raw.
function model_make(n = 6, size = 1000) {
  const gguf = new Uint8Array(n * size).map((_, i) => (i * 31 + 7) & 255);
  const shards = [];
  const files = new Map();
  for (let i = 0; i < n; i++) {
    const bytes = gguf.subarray(i * size, (i + 1) * size);
    const file = `${String(i).padStart(3, "0")}.bin`;
    files.set(file, bytes);
    shards.push({ index: i, file, offset: i * size, size, encoding: "raw", encoded_size: size,
      sha256: sha(bytes), encoded_sha256: sha(bytes) });
  }
  const manifest = { id: "toy", name: "Toy", vocab_size: 100, kv_bytes_per_token: 10,
    gguf: { size: gguf.length, sha256: sha(gguf) }, shards };
  return { gguf, manifest, files };
}

// Serves `files` with Range; `faults[file]` is a list of per-request behaviours, consumed in order.
function server_make(files, faults = {}) {
  const log = [];
  let inFlight = 0, maxInFlight = 0;
  async function fetch(url, { headers = {} } = {}) {
    const file = url.split("/").pop();
    log.push({ file, range: headers.Range || null });
    const fault = faults[file]?.shift();
    inFlight++; maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 1));
    inFlight--;
    if (fault === "500") return new Response("boom", { status: 500 });
    const body = files.get(file);
    if (!body) return new Response("nope", { status: 404, statusText: "Not Found" });
    let data = body, status = 200, extra = {};
    const m = /^bytes=(\d+)-$/.exec(headers.Range || "");
    if (m && fault !== "ignore-range") {
      data = body.subarray(Number(m[1]));
      status = 206;
      extra = { "Content-Range": `bytes ${m[1]}-${body.length - 1}/${body.length}` };
    }
    if (fault === "corrupt") data = data.map((b) => b ^ 1);
    if (fault === "hang") return new Promise(() => {});
    const cut = fault?.startsWith?.("cut:") ? Number(fault.slice(4)) : null;
    const stall = fault?.startsWith?.("stall:") ? Number(fault.slice(6)) : null;
    return new Response(stream_of(data, cut, stall), { status, headers: extra });
  }
  return { fetch, log, maxInFlight: () => maxInFlight };
}

// Emits data in 128-byte pieces; with `cut`, errors after that many bytes (a dropped connection);
// with `stall`, sends nothing more after that many bytes and never ends (a stalled one).
function stream_of(data, cut, stall = null) {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (cut !== null && at >= cut) return c.error(new TypeError("network error"));
      if (stall !== null && at >= stall) return new Promise(() => {});
      if (at >= data.length) return c.close();
      const end = Math.min(data.length, at + 128, cut ?? Infinity);
      c.enqueue(data.slice(at, end));
      at = end;
    },
  });
}

// Writes raw shards into one destination, like the worker does into wasm memory.
function sinks_make(total) {
  const dst = new Uint8Array(total);
  const hashed = [];     // shards whose sha256 was computed, in order
  const open_sink = async (shard) => {
    let pos = 0;
    const write = (u8) => { dst.set(u8, shard.offset + pos); pos += u8.length; };
    const decoded = () => dst.subarray(shard.offset, shard.offset + shard.size);
    return {
      write, place: write,
      decoded: () => pos,
      finish: () => { hashed.push(shard.index); return sha(dst.subarray(shard.offset, shard.offset + pos)); },
      checksum: () => bytes_check(decoded()),
      bytes: () => decoded().slice(),
      reset() { pos = 0; },
    };
  };
  return { dst, open_sink, hashed };
}

// Entries as the worker keeps them: decoded bytes with their size and check. `reads[k]` is a list of
// per-read behaviours ("error", "stall"), consumed in order.
function cache_make({ failPut = false, hangPutAfter = Infinity, reads = {} } = {}) {
  const store = new Map();
  return {
    store,
    enabled: () => true,
    get: async (k) => {
      if (!store.has(k)) return null;
      const { bytes, size, check } = store.get(k);
      const fault = reads[k]?.shift();
      const read = () => (fault === "stall" ? new Promise(() => {})
        : fault === "error" ? Promise.reject(new TypeError("the body could not be read")) : Promise.resolve(bytes.slice()));
      return { read, size, check };
    },
    put: async (k, { bytes, size, check }) => {
      if (failPut) throw new Error("QuotaExceededError");
      if (store.size >= hangPutAfter) return new Promise(() => {});
      store.set(k, { bytes: bytes.slice(), size, check });
    },
    remove: async (k) => store.delete(k),
  };
}

const no_cache = { enabled: () => false, get: async () => null, put: async () => {}, remove: async () => {} };

async function load(model, { faults, cache = no_cache, concurrency = 4, stallMs = 0, cacheStallMs } = {}) {
  const server = server_make(model.files, faults);
  const sinks = sinks_make(model.manifest.gguf.size);
  const notices = [], progress = [];
  let t = 0;
  const stats = await shards_load(model.manifest, {
    baseUrl: "http://x/chunks/toy/manifest.json",
    fetch: server.fetch, cache, open_sink: sinks.open_sink, concurrency, stallMs, cacheStallMs,
    now: () => (t += 5), sleep: async () => {},
    onProgress: (p) => progress.push(p), onNotice: (m) => notices.push(m),
  });
  return { stats, server, dst: sinks.dst, hashed: sinks.hashed, notices, progress };
}

test("memory plan: weights + KV + scratch, refused above the wasm32 limit or the budget", () => {
  const { manifest } = model_make();
  const small = memory_plan({ ...manifest, gguf: { size: 98362432 }, kv_bytes_per_token: 46080, vocab_size: 49152 }, { nCtx: 2048 });
  assert.equal(small.kv, 46080 * 2048);
  assert.equal(small.total, small.weights + small.kv + small.scratch);
  assert.ok(small.fits);
  const huge = memory_plan({ ...manifest, name: "Huge", gguf: { size: 3.9 * 1024 ** 3 }, kv_bytes_per_token: 200000 }, { nCtx: 4096 });
  assert.ok(!huge.fits);
  assert.equal(huge.limit, WASM32_LIMIT);
  assert.match(huge.reason, /Huge needs .* MiB.*4 GiB WebAssembly limit/);
  const tight = memory_plan({ ...manifest, gguf: { size: 98362432 } }, { nCtx: 512, budget: 64 * 1024 ** 2 });
  assert.ok(!tight.fits);
  assert.match(tight.reason, /memory budget \(64 MiB\)/);
  assert.throws(() => memory_plan(manifest, { nCtx: 0 }), /context length/);
});

test("resume arithmetic: Range from the received encoded bytes, 206 checked, 200 skipped", () => {
  assert.deepEqual(range_headers(0), {});
  assert.deepEqual(range_headers(4096), { Range: "bytes=4096-" });
  assert.equal(body_skip(200, null, 0), 0);
  assert.equal(body_skip(206, "bytes 4096-9999/10000", 4096), 0);
  assert.equal(body_skip(200, null, 4096), 4096);
  assert.throws(() => body_skip(206, "bytes 0-9999/10000", 4096), /wrong place/);
  assert.throws(() => body_skip(206, null, 4096), /missing/);
  assert.throws(() => body_skip(416, null, 4096), /416/);
});

test("retry policy: exponential, capped, only for retryable statuses", () => {
  const d = [1, 2, 3, 4, 10].map((a) => retry_delay(a, 0));
  assert.deepEqual(d.slice(0, 4), [400, 800, 1600, 3200]);
  assert.equal(d[4], 8000);
  assert.ok(retry_delay(1, 3) > retry_delay(1, 0), "jitter spreads parallel shards");
  assert.ok(http_retryable(503) && http_retryable(429) && http_retryable(408));
  assert.ok(!http_retryable(404) && !http_retryable(403));
});

test("integrity decisions", () => {
  const base = { expected: "aa", failures: 0, attempts: 3 };
  assert.equal(integrity_decision({ ...base, source: "network", actual: "aa" }), "use");
  assert.equal(integrity_decision({ ...base, source: "cache", actual: "bb" }), "evict");
  assert.equal(integrity_decision({ ...base, source: "network", actual: "bb" }), "refetch");
  assert.equal(integrity_decision({ ...base, source: "network", actual: null, failures: 2 }), "fail");
});

test("progress: decoded bytes, never over 100%, MB/s and ETA from a sliding window", () => {
  let t = 0;
  const p = new Progress(10e6, () => t, 3000);
  assert.deepEqual(p.snapshot(), { bytes: 0, total: 10e6, mbps: 0, etaS: null });
  t = 1000; p.set(0, 2e6);
  let s = p.snapshot();
  assert.equal(s.mbps, 2);
  assert.equal(s.etaS, 4);
  t = 2000; p.set(1, 2e6);
  s = p.snapshot();
  assert.equal(s.bytes, 4e6);
  assert.equal(s.etaS, 3);
  p.set(0, 9e6); p.set(1, 9e6);
  t = 3000;
  s = p.snapshot();
  assert.equal(s.bytes, 10e6);
  assert.equal(s.etaS, 0);
  p.set(0, 0);       // a shard that is refetched goes back
  assert.equal(p.bytes(), 9e6);
});

test("scheduler: at most `limit` in flight, results in order, first failure rejects", async () => {
  let inFlight = 0, max = 0;
  const out = await run_limited([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, async (x) => {
    max = Math.max(max, ++inFlight);
    await new Promise((r) => setTimeout(r, 3 + (x % 3)));
    inFlight--;
    return x * 2;
  });
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12, 14, 16, 18]);
  assert.equal(max, 4);
  await assert.rejects(run_limited([1, 2, 3], 2, async (x) => { if (x === 2) throw new Error("two"); }), /two/);
});

test("tiling: gaps, unknown encodings and wrong totals are refused", () => {
  const { manifest } = model_make(3);
  verify_tiling(manifest);
  const gap = structuredClone(manifest); gap.shards[1].offset += 1;
  assert.throws(() => verify_tiling(gap), /shard 1 \(001.bin\) does not continue at byte 1000/);
  const enc = structuredClone(manifest); enc.shards[2].encoding = "zstd";
  assert.throws(() => verify_tiling(enc), /unknown encoding "zstd"/);
  const short = structuredClone(manifest); short.gguf.size += 1;
  assert.throws(() => verify_tiling(short), /cover 3000 bytes/);
});

test("load: every shard lands at its offset, 4 in parallel, progress reaches exactly 100%", async () => {
  const model = model_make(10);
  const r = await load(model);
  assert.deepEqual(r.dst, model.gguf);
  assert.equal(r.server.maxInFlight(), 4);
  assert.equal(r.stats.fromNetwork, 10);
  assert.equal(r.stats.requests, 10);
  const last = r.progress.at(-1);
  assert.equal(last.bytes, last.total);
  assert.ok(r.progress.every((p) => p.bytes <= p.total));
});

test("load: every finished shard is reported at once, even inside the throttle window", async () => {
  // If the other transfers then stall, the page must still show what has arrived.
  const model = model_make(6);
  const r = await load(model, { concurrency: 1 });
  const reported = new Set(r.progress.map((p) => p.bytes));
  for (let k = 1; k <= 6; k++) assert.ok(reported.has(k * 1000), `no report after shard ${k - 1}`);
});

test("load: an interrupted body resumes with Range from the received bytes", async () => {
  const model = model_make(3);
  const r = await load(model, { faults: { "001.bin": ["cut:300", "cut:400"] } });
  assert.deepEqual(r.dst, model.gguf);
  const tries = r.server.log.filter((l) => l.file === "001.bin").map((l) => l.range);
  assert.deepEqual(tries, [null, "bytes=300-", "bytes=700-"]);
});

test("load: a stalled body or an unanswered request is given up and resumed with Range", async () => {
  const model = model_make(3);
  const r = await load(model, { faults: { "001.bin": ["stall:256", "hang"] }, stallMs: 30 });
  assert.deepEqual(r.dst, model.gguf);
  const tries = r.server.log.filter((l) => l.file === "001.bin").map((l) => l.range);
  assert.deepEqual(tries, [null, "bytes=256-", "bytes=256-"]);
});

test("load: a shard that keeps stalling fails with its name and what happened", async () => {
  const model = model_make(2);
  await assert.rejects(load(model, { faults: { "000.bin": Array(8).fill("stall:0") }, stallMs: 10 }),
    /shard 0 \(000\.bin\): download failed after 8 requests \(the transfer stalled: nothing for 0\.01 s\)/);
});

test("load: a server that ignores Range is skipped forward, not restarted", async () => {
  const model = model_make(2);
  const r = await load(model, { faults: { "000.bin": ["cut:500", "ignore-range"] } });
  assert.deepEqual(r.dst, model.gguf);
});

test("load: 5xx is retried, corrupt bytes are fetched again from the start", async () => {
  const model = model_make(3);
  const r = await load(model, { faults: { "000.bin": ["500", "500"], "002.bin": ["corrupt"] } });
  assert.deepEqual(r.dst, model.gguf);
  const tries = r.server.log.filter((l) => l.file === "002.bin").map((l) => l.range);
  assert.deepEqual(tries, [null, null]);
});

test("load: a shard that stays corrupt fails with its name and what to do", async () => {
  const model = model_make(3);
  const err = await load(model, { faults: { "001.bin": ["corrupt", "corrupt", "corrupt", "corrupt"] } }).catch((e) => e);
  assert.ok(err instanceof ShardError);
  assert.equal(err.where, "shard 1 (001.bin)");
  assert.match(err.message, /corrupt after 4 downloads: sha256 .* re-pack the model/);
});

test("load: 404 is not retried", async () => {
  const model = model_make(2);
  model.files.delete("001.bin");
  const err = await load(model).catch((e) => e);
  assert.match(err.message, /shard 1 \(001.bin\): the server answered HTTP 404 Not Found/);
});

test("cache: a second load makes no requests; a corrupt entry is evicted and refetched", async () => {
  const model = model_make(4);
  const cache = cache_make();
  await load(model, { cache });
  assert.equal(cache.store.size, 4);
  const again = await load(model, { cache });
  assert.equal(again.server.log.length, 0);
  assert.equal(again.stats.fromCache, 4);
  assert.deepEqual(again.dst, model.gguf);

  const key = cache_key(model.manifest.shards[2]);
  cache.store.get(key).bytes[10] ^= 255;
  const healed = await load(model, { cache });
  assert.deepEqual(healed.server.log.map((l) => l.file), ["002.bin"]);
  assert.deepEqual(healed.dst, model.gguf);
  assert.match(healed.notices[0], /shard 2 \(002.bin\) was corrupt in the cache \(its bytes changed since they were verified\)/);
  assert.deepEqual(cache.store.get(key).bytes, model.files.get("002.bin"));
});

test("cache: a cache that stops answering turns caching off, loading goes on", async () => {
  const model = model_make(6);
  const r = await load(model, { cache: cache_make({ hangPutAfter: 2 }), stallMs: 30 });
  assert.deepEqual(r.dst, model.gguf);
  assert.equal(r.stats.caching, false);
  assert.match(r.notices.join("\n"), /caching is off \(the browser's cache did not answer: nothing for 0\.03 s\)/);
});

test("cache: storage that refuses writes turns caching off, loading goes on", async () => {
  const model = model_make(3);
  const r = await load(model, { cache: cache_make({ failPut: true }) });
  assert.deepEqual(r.dst, model.gguf);
  assert.equal(r.notices.length, 1);
  assert.match(r.notices[0], /caching is off \(QuotaExceededError\)/);
  assert.equal(r.stats.caching, false);
});

// ---- the cache holds decoded bytes: a warm load places them, with a size and a cheap check ----

test("cache: entries hold the decoded bytes under their sha256; a warm load hashes nothing", async () => {
  const model = model_make(4);
  const cache = cache_make();
  const cold = await load(model, { cache });
  assert.deepEqual(cold.hashed.sort(), [0, 1, 2, 3]);          // verified once, when stored
  for (const shard of model.manifest.shards) {
    const entry = cache.store.get(shard.sha256);
    assert.deepEqual(entry.bytes, model.files.get(shard.file));
    assert.equal(entry.size, shard.size);
    assert.equal(entry.check, bytes_check(model.files.get(shard.file)));
  }
  const warm = await load(model, { cache });
  assert.deepEqual(warm.hashed, []);                             // no second hash
  assert.equal(warm.stats.fromCache, 4);
  assert.deepEqual(warm.dst, model.gguf);
});

test("cache: a missing entry, a wrong size, a read that errs or stalls are each fetched again", async () => {
  const model = model_make(5);
  const keys = model.manifest.shards.map(cache_key);
  const cache = cache_make({ reads: { [keys[3]]: ["error"], [keys[4]]: ["stall"] } });
  await load(model, { cache });
  cache.store.delete(keys[1]);
  cache.store.get(keys[2]).size += 1;
  const r = await load(model, { cache, cacheStallMs: 20 });
  assert.deepEqual(r.dst, model.gguf);
  assert.deepEqual(r.server.log.map((l) => l.file).sort(), ["001.bin", "002.bin", "003.bin", "004.bin"]);
  assert.equal(r.stats.fromCache, 1);
  const said = r.notices.join("\n");
  assert.match(said, /shard 2 \(002.bin\) was corrupt in the cache \(it holds 1001 bytes, the manifest says 1000\)/);
  assert.match(said, /shard 3 \(003.bin\) was corrupt in the cache \(reading it failed/);
  assert.match(said, /shard 4 \(004.bin\) was corrupt in the cache \(reading it stalled/);
  assert.equal(r.stats.caching, true);                           // bad entries are replaced, caching stays on
  for (const k of keys) assert.ok(cache.store.has(k), k);
  const again = await load(model, { cache });
  assert.equal(again.server.log.length, 0);
});

test("bytes_check: any changed, moved or cut byte changes it; the same bytes at any alignment agree", () => {
  const bytes = new Uint8Array(4099).map((_, i) => (i * 131 + 17) & 255);
  const base = bytes_check(bytes);
  const shifted = new Uint8Array(4102);
  shifted.set(bytes, 3);
  assert.equal(bytes_check(shifted.subarray(3, 3 + bytes.length)), base);
  for (const at of [0, 1, 2, 3, 2048, 4096, 4098]) {
    const flipped = bytes.slice();
    flipped[at] ^= 1;
    assert.notEqual(bytes_check(flipped), base, `flip at ${at}`);
  }
  const swapped = bytes.slice();
  swapped.set(bytes.subarray(0, 4), 4);
  swapped.set(bytes.subarray(4, 8), 0);
  assert.notEqual(bytes_check(swapped), base);
  assert.notEqual(bytes_check(bytes.subarray(0, 4098)), base);
});
