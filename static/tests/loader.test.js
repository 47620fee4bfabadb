// The loader's decisions, driven with small fakes for fetch, cache, clock and the wasm sink.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { brotliCompressSync, brotliDecompressSync } from "node:zlib";
import {
  WASM32_LIMIT, memory_plan, range_headers, body_skip, retry_delay, http_retryable,
  integrity_decision, Progress, run_limited, shards_load, ShardError, cache_key, verify_tiling, bytes_check,
  CorruptBytes, scratch_estimate, mib, shard_is_brotli, kv_bytes_per_token, caching_off_notice,
} from "../loader.js";

const sha = (u8) => createHash("sha256").update(u8).digest("hex");

// A model of `n` shards of `size` bytes each, stored as they are ("identity"), or as real Brotli streams (encoding "br":
// then a shard's encoded bytes, size and sha256 all differ from its decoded ones, as when packed).
function model_make(n = 6, size = 1000, encoding = "identity") {
  const gguf = new Uint8Array(n * size).map((_, i) => (i * 31 + 7 + ((i * i) >> 9)) & 255);
  const shards = [];
  const files = new Map();
  for (let i = 0; i < n; i++) {
    const bytes = gguf.subarray(i * size, (i + 1) * size);
    const file = `${String(i).padStart(3, "0")}.bin`;
    const encoded = encoding === "br" ? new Uint8Array(brotliCompressSync(bytes)) : bytes;
    files.set(file, encoded);
    shards.push({ index: i, file, offset: i * size, size, encoding, encoded_size: encoded.length,
      sha256: sha(bytes), encoded_sha256: sha(encoded) });
  }
  const manifest = { id: "toy", name: "Toy", vocab_size: 100, kv_bytes_per_token: 10,
    gguf: { size: gguf.length, sha256: sha(gguf) }, shards };
  return { gguf, manifest, files };
}

// Serves `files` with Range; `faults[file]` is a list of per-request behaviours, consumed in order.
function server_make(files, faults = {}) {
  const log = [];
  let inFlight = 0, maxInFlight = 0;
  async function fetch(url, { headers = {}, cache, signal } = {}) {
    const file = url.split("/").pop();
    log.push({ file, range: headers.Range || null, cache, signal });
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
    if (fault === "longer") data = new Uint8Array([...data, 0, 0, 0]);
    if (fault === "garbage") data = new Uint8Array(data.length).fill(0xff);  // not a Brotli stream
    if (fault === "hang") return new Promise(() => {});
    const cut = fault?.startsWith?.("cut:") ? Number(fault.slice(4)) : null;
    const stall = fault?.startsWith?.("stall:") ? Number(fault.slice(6)) : null;
    if (fault?.startsWith?.("short:")) data = data.subarray(0, Number(fault.slice(6)));  // ends cleanly, early
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

// Writes shards into one destination, like the worker does into wasm memory: identity ones as they
// come, Brotli ones decoded (by Node's zlib) when they end. `written` counts every encoded byte
// handed to a sink, so a transfer that restarts instead of resuming shows.
function sinks_make(total) {
  const dst = new Uint8Array(total);
  const hashed = [];     // shards whose sha256 was computed, in order
  const counts = { written: 0 };
  const open_sink = async (shard) => {
    if (shard.encoding === "br") return brotli_sink(dst, shard, counts, hashed);
    let pos = 0;
    const place = (u8) => { dst.set(u8, shard.offset + pos); pos += u8.length; };
    const write = (u8) => {  // as the worker's identity sink: never past the shard
      if (pos + u8.length > shard.size) throw new CorruptBytes(`more than the ${shard.size} bytes the manifest says`);
      counts.written += u8.length;
      place(u8);
    };
    const decoded = () => dst.subarray(shard.offset, shard.offset + shard.size);
    return {
      write,
      target: decoded,
      placed: (n) => { pos = n; },
      decoded: () => pos,
      finish: () => { hashed.push(shard.index); return sha(dst.subarray(shard.offset, shard.offset + pos)); },
      checksum: () => bytes_check(decoded()),
      bytes: () => decoded().slice(),
      reset() { pos = 0; },
    };
  };
  return { dst, open_sink, hashed, counts };
}

function brotli_sink(dst, shard, counts, hashed) {
  let chunks = [], decoded = 0;
  const view = () => dst.subarray(shard.offset, shard.offset + shard.size);
  return {
    write(u8) { chunks.push(u8.slice()); counts.written += u8.length; },
    target: view,
    placed(n) { decoded = n; },
    decoded: () => decoded,
    finish() {
      hashed.push(shard.index);
      let out;
      try {
        out = brotliDecompressSync(Buffer.concat(chunks));
      } catch (err) {
        throw new CorruptBytes(`the Brotli stream is corrupt (${err.code})`);
      }
      if (out.length > shard.size) throw new CorruptBytes(`decoded ${out.length} bytes, the manifest says ${shard.size}`);
      dst.set(out, shard.offset);
      decoded = out.length;
      return sha(dst.subarray(shard.offset, shard.offset + decoded));
    },
    checksum: () => bytes_check(view()),
    bytes: () => view().slice(),
    reset() { chunks = []; decoded = 0; },
  };
}

// Entries as the worker keeps them: decoded bytes with their size and check, read into the target as the
// file store does (synchronously, straight into the destination) or, with `async: true`, after a turn of the
// event loop as the Cache API does. `reads[k]` is a list of per-read behaviours ("error", "stall", "late": a
// read that outlasts the limit, then writes anyway), consumed in order. `open` counts entries not closed.
function cache_make({ failPut = false, hangPutAfter = Infinity, reads = {}, hangGet = false, async = false } = {}) {
  const store = new Map();
  const calls = { get: 0, put: 0 };
  const open = new Set();
  return {
    store,
    calls,
    open,
    enabled: () => true,
    get: async (k) => {
      calls.get++;
      if (hangGet) return new Promise(() => {});
      if (!store.has(k)) return null;
      const { bytes, size, check } = store.get(k);
      const fault = reads[k]?.shift();
      const entry = { size, check, close: () => open.delete(entry) };
      const place = (target) => {
        const view = target();
        if (view && view.length === bytes.length) view.set(bytes);
        return bytes.length;
      };
      entry.read_into = (target) => {
        if (fault === "stall") return new Promise(() => {});
        if (fault === "error") return Promise.reject(new TypeError("the body could not be read"));
        if (fault === "late") return new Promise((r) => setTimeout(() => { target()?.fill(0xee); r(size); }, 60));
        return async ? new Promise((r) => setTimeout(() => r(place(target)), 1)) : place(target);
      };
      open.add(entry);
      return entry;
    },
    put: async (k, { bytes, size, check }) => {
      calls.put++;
      if (failPut) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");  // as browsers do
      if (store.size >= hangPutAfter) return new Promise(() => {});
      store.set(k, { bytes: bytes.slice(), size, check });
    },
    remove: async (k) => store.delete(k),
  };
}

const no_cache = { enabled: () => false, get: async () => null, put: async () => {}, remove: async () => {} };

async function load(model, { faults, cache = no_cache, concurrency = 4, stallMs = 0, cacheStallMs, step = 5 } = {}) {
  const server = server_make(model.files, faults);
  const sinks = sinks_make(model.manifest.gguf.size);
  const notices = [], progress = [];
  let t = 0;
  const stats = await shards_load(model.manifest, {
    baseUrl: "http://x/chunks/toy/manifest.json",
    fetch: server.fetch, cache, open_sink: sinks.open_sink, concurrency, stallMs, cacheStallMs,
    now: () => (t += step), sleep: async () => {},
    onProgress: (p) => progress.push(p), onNotice: (m) => notices.push(m),
  });
  return { stats, server, dst: sinks.dst, hashed: sinks.hashed, notices, progress, written: sinks.counts.written };
}

test("memory plan: weights + KV + scratch, refused above the wasm32 limit or the budget", () => {
  const { manifest } = model_make();
  const small = memory_plan({ ...manifest, gguf: { size: 98362432 }, kv_bytes_per_token: 46080, vocab_size: 49152 }, { nCtx: 2048 });
  assert.equal(small.kv, 46080 * 2048);
  assert.equal(small.total, small.weights + small.kv + small.scratch);
  assert.ok(small.fits);
  // a context that does not fit is shortened to the longest multiple of 256 that does, with a note
  const huge = memory_plan({ ...manifest, name: "Huge", gguf: { size: 3.8 * 1024 ** 3 }, kv_bytes_per_token: 200000 }, { nCtx: 4096 });
  assert.ok(huge.fits);
  assert.equal(huge.n_ctx, 768);
  assert.ok(huge.total <= WASM32_LIMIT && huge.total + 256 * 200000 > WASM32_LIMIT);
  assert.match(huge.note, /context is 768 tokens instead of 4096, so that Huge fits in the 4 GiB WebAssembly limit/);
  // not even 256 tokens: refused, naming the sizes and what to change
  const over = memory_plan({ ...manifest, name: "Huge", gguf: { size: 4.0 * 1024 ** 3 }, kv_bytes_per_token: 200000 }, { nCtx: 4096 });
  assert.ok(!over.fits);
  assert.equal(over.limit, WASM32_LIMIT);
  assert.match(over.reason, /Huge needs .* MiB \(weights 4096 MiB, KV cache for 4096 tokens in f16 781 MiB.*4 GiB WebAssembly limit/);
  assert.match(over.reason, /weights alone leave no room: choose a smaller quantization or a smaller model\.$/);
  const tight = memory_plan({ ...manifest, gguf: { size: 98362432 } }, { nCtx: 512, budget: 64 * 1024 ** 2 });
  assert.ok(!tight.fits);
  assert.match(tight.reason, /memory budget \(64 MiB\)/);
  assert.throws(() => memory_plan(manifest, { nCtx: 0 }), /context length/);
});

// Phi-3-mini's shape (3.8B, Q4_K_M): the model of issue 11 that malloc could not place.
const PHI3_MINI = { id: "phi3-mini", name: "Phi-3 mini", gguf: { size: 2396786976 }, vocab_size: 32064, context_length: 4096,
  n_layer: 32, n_head_kv: 32, head_dim: 96, kv_bytes_per_token: 786432 };

test("memory plan: the KV cache from the model's shape, in f16 or q8_0 (34 bytes per 32 values)", () => {
  assert.equal(kv_bytes_per_token(PHI3_MINI, "f16"), 32 * 2 * 32 * 96 * 2);
  assert.equal(kv_bytes_per_token(PHI3_MINI, "q8_0"), 32 * 2 * 32 * 96 * 34 / 32);
  assert.equal(kv_bytes_per_token({ kv_bytes_per_token: 46080 }, "q8_0"), 46080, "older manifests: their float32 figure");
  assert.throws(() => kv_bytes_per_token(PHI3_MINI, "q4_0"), /KV cache type 'q4_0' is not one of f16, q8_0/);
  const f16 = memory_plan(PHI3_MINI, { nCtx: 2048 });
  assert.ok(f16.fits && f16.n_ctx === 2048 && f16.kv === 805306368 && f16.note === "");
  const q8 = memory_plan(PHI3_MINI, { nCtx: 2048, kvType: "q8_0" });
  assert.equal(q8.kv, 427819008);
  assert.equal(q8.kv_type, "q8_0");
  // a 3 GiB budget (a 6 GB device): f16 shortens the context, and the note says q8_0 keeps it all
  const budget = 3 * 1024 ** 3;
  const short = memory_plan(PHI3_MINI, { nCtx: 2048, budget });
  assert.ok(short.fits && short.n_ctx === 1792, JSON.stringify(short));
  assert.match(short.note, /context is 1792 tokens instead of 2048.*budget \(3072 MiB\).*q8_0 KV cache would allow 2048 tokens/);
  assert.equal(memory_plan(PHI3_MINI, { nCtx: 2048, budget, kvType: "q8_0" }).n_ctx, 2048);
  // a 2 GiB budget: the weights alone do not fit
  const refused = memory_plan(PHI3_MINI, { nCtx: 2048, budget: 2 * 1024 ** 3 });
  assert.ok(!refused.fits);
  assert.match(refused.reason, /^Phi-3 mini needs \d+ MiB \(weights 2286 MiB, KV cache for 2048 tokens in f16 768 MiB, scratch \d+ MiB\), more than this page's memory budget \(2048 MiB\)\. The weights alone leave no room/);
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
  assert.deepEqual(p.snapshot(), { bytes: 0, total: 10e6, mbps: 0, eta_s: null });
  t = 1000; p.set(0, 2e6);
  let s = p.snapshot();
  assert.equal(s.mbps, 2);
  assert.equal(s.eta_s, 4);
  t = 2000; p.set(1, 2e6);
  s = p.snapshot();
  assert.equal(s.bytes, 4e6);
  assert.equal(s.eta_s, 3);
  p.set(0, 9e6); p.set(1, 9e6);
  t = 3000;
  s = p.snapshot();
  assert.equal(s.bytes, 10e6);
  assert.equal(s.eta_s, 0);
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
  assert.equal(r.written, encoded_total(model), "a resumed transfer re-fetched bytes it had");
});

test("load: a stalled body or an unanswered request is given up and resumed with Range", async () => {
  const model = model_make(3);
  const r = await load(model, { faults: { "001.bin": ["stall:256", "hang"] }, stallMs: 30 });
  assert.deepEqual(r.dst, model.gguf);
  const tries = r.server.log.filter((l) => l.file === "001.bin").map((l) => l.range);
  assert.deepEqual(tries, [null, "bytes=256-", "bytes=256-"]);
  assert.equal(r.written, encoded_total(model), "a resumed transfer re-fetched bytes it had");
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
  const tries = r.server.log.filter((l) => l.file === "000.bin").map((l) => l.range);
  assert.deepEqual(tries, [null, "bytes=500-"]);
  assert.equal(r.written, encoded_total(model), "the resent start of the shard reached the sink again");
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
  assert.match(r.notices[0], /^caching is off \(The quota has been exceeded\.\): the browser's storage for this site is full, and the model needs 0\.0 MiB of it\. It works now, but will be downloaded again next time; free space.*A private window keeps far less/);
  assert.equal(r.stats.caching, false);
});

test("cache: other storage errors keep the short notice", () => {
  assert.equal(caching_off_notice(new TypeError("the body could not be read"), 5),
    "caching is off (the body could not be read); the model will be downloaded again next time");
  assert.match(caching_off_notice(new DOMException("q", "QuotaExceededError"), 2396786976), /model needs 2286 MiB of it/);
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
  assert.equal(cache.open.size, 0, "every entry read, refused or given up on is closed (the file store's lock)");
});

test("cache: entries read after a turn of the event loop (the Cache API's) are placed the same way", async () => {
  const model = model_make(4, 1000, "br");
  const cache = cache_make({ async: true });
  await load(model, { cache });
  const warm = await load(model, { cache });
  assert.deepEqual([warm.stats.fromCache, warm.hashed.length, warm.server.log.length], [4, 0, 0]);
  assert.deepEqual(warm.dst, model.gguf);
  assert.equal(cache.open.size, 0);
});

test("cache: a read given up on cannot write into memory later (the fetched bytes stay)", async () => {
  const model = model_make(3);
  const key = cache_key(model.manifest.shards[1]);
  const cache = cache_make({ reads: { [key]: ["late"] } });
  await load(model, { cache });
  const r = await load(model, { cache, cacheStallMs: 20 });
  assert.match(r.notices.join("\n"), /shard 1 \(001.bin\) was corrupt in the cache \(reading it stalled/);
  await new Promise((done) => setTimeout(done, 100));          // the late read has come and gone
  assert.deepEqual(r.dst, model.gguf);
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

// ---- checks that issue 17 and mutation testing showed missing (docs/mutation.md) ------------

const encoded_total = (model) => model.manifest.shards.reduce((n, s) => n + s.encoded_size, 0);

test("load: Brotli shards are checked by the sha256 of their decoded bytes, never the encoded ones", async () => {
  const model = model_make(4, 3000, "br");
  for (const s of model.manifest.shards) {
    assert.ok(s.encoded_size < s.size && s.encoded_sha256 !== s.sha256, "the fixture must tell the two apart");
  }
  const r = await load(model);
  assert.deepEqual(r.dst, model.gguf);
  assert.equal(r.stats.requests, 4, "a good shard was fetched again");
  assert.equal(r.written, encoded_total(model));
  // a shard whose encoded bytes are intact but decode to other bytes is refused by name
  const other = model_make(4, 3000, "br");
  other.manifest.shards[1].sha256 = sha(new Uint8Array(3000));
  const err = await load(other).catch((e) => e);
  assert.ok(err instanceof ShardError, String(err));
  assert.match(err.message, /shard 1 \(001\.bin\): corrupt after 4 downloads: sha256 of the decoded bytes/);
});

test("load: an interrupted Brotli body resumes at its encoded offset and decodes whole", async () => {
  const model = model_make(3, 3000, "br");
  const cut = Math.floor(model.manifest.shards[2].encoded_size / 2);
  const r = await load(model, { faults: { "002.bin": [`cut:${cut}`] } });
  assert.deepEqual(r.dst, model.gguf);
  const tries = r.server.log.filter((l) => l.file === "002.bin").map((l) => l.range);
  assert.deepEqual(tries, [null, `bytes=${cut}-`]);
  assert.equal(r.written, encoded_total(model));
});

test("memory plan: the scratch estimate, the exact limit, and the reasons", () => {
  assert.equal(scratch_estimate({ vocab_size: 49152 }, 2048), 49152 * 8 + 2048 * 256 + 48 * 1024 ** 2);
  assert.equal(scratch_estimate({}, 1), 256 + 48 * 1024 ** 2);
  const manifest = { id: "m", gguf: { size: 1000 }, kv_bytes_per_token: 0, vocab_size: 0 };
  const total = memory_plan(manifest, { nCtx: 1 }).total;
  const exact = memory_plan(manifest, { nCtx: 1, budget: total });
  assert.ok(exact.fits, "a model that needs exactly the budget fits");
  assert.equal(exact.reason, "");
  const over = memory_plan(manifest, { nCtx: 1, budget: total - 1 });
  assert.ok(!over.fits);
  assert.match(over.reason, /weights alone leave no room/);
  assert.throws(() => memory_plan({ id: "m" }, { nCtx: 1 }), /manifest has no gguf\.size/);
  assert.throws(() => memory_plan(undefined, { nCtx: 1 }), /manifest has no gguf\.size/);
  assert.equal(mib(5 * 1024 ** 2), "5.0 MiB");
  assert.equal(mib(10 * 1024 ** 2), "10 MiB");
});

test("resume arithmetic: a 206 for a whole-file request and loose Content-Range forms are refused", () => {
  assert.throws(() => body_skip(206, "bytes 0-9/10", 0), /unexpected HTTP 206 for a whole-file request/);
  assert.throws(() => body_skip(206, "xbytes 4096-9999/10000", 4096), /wrong place/);
  assert.throws(() => body_skip(206, "bytes 4096-9999/10000x", 4096), /wrong place/);
  assert.equal(retry_delay(1, 3), 457, "jitter: (3 * 7919) % 100 = 57, so 400 * (1 + 57 / 400)");
});

test("progress: the speed comes from the last window only", () => {
  let t = 0;
  const p = new Progress(10e6, () => t, 3000);
  p.snapshot();                       // t 0: 0 bytes
  t = 1000; p.set(0, 1e6); p.snapshot();
  t = 5000; p.set(0, 2e6);
  const s = p.snapshot();             // the sample at 0 s fell out: 1 MB over the last 4 s
  assert.equal(s.mbps, 0.25);
  assert.equal(s.eta_s, 8e6 / 0.25e6);
  const idle = new Progress(10, () => 0);
  assert.equal(idle.snapshot().eta_s, null, "no speed yet: no ETA");
});

test("load: progress moves inside a shard and is throttled to one report per 100 ms", async () => {
  const model = model_make(2, 20000);
  const r = await load(model, { concurrency: 1 });
  const inside = r.progress.filter((p) => p.bytes % 20000 !== 0);
  assert.ok(inside.length > 0, "no report between shard boundaries");
  const chunks = 2 * Math.ceil(20000 / 128);
  assert.ok(r.progress.length < chunks / 2, `${r.progress.length} reports for ${chunks} chunks: not throttled`);
  for (let i = 1; i < r.progress.length; i++) assert.ok(r.progress[i].bytes >= r.progress[i - 1].bytes);
});

test("load: requests bypass the HTTP cache, and a stalled one is aborted", async () => {
  const model = model_make(2);
  const r = await load(model, { faults: { "001.bin": ["stall:256"] }, stallMs: 30 });
  assert.ok(r.server.log.every((l) => l.cache === "no-store"));
  const aborted = r.server.log.map((l) => l.signal.aborted);
  const stalled = r.server.log.findIndex((l) => l.file === "001.bin");
  assert.deepEqual(aborted.map((a, i) => a === (i === stalled)), aborted.map(() => true),
    "exactly the stalled request is aborted");
});

test("load: a 404 is one request, and its error says what to do", async () => {
  const model = model_make(2);
  model.files.delete("001.bin");
  const r = server_make(model.files);
  const sinks = sinks_make(model.manifest.gguf.size);
  const err = await shards_load(model.manifest, {
    baseUrl: "http://x/chunks/toy/manifest.json", fetch: r.fetch, cache: no_cache, open_sink: sinks.open_sink,
    now: () => 0, sleep: async () => {},
  }).catch((e) => e);
  assert.equal(err.name, "ShardError");
  assert.match(err.message, /HTTP 404 Not Found\. Check the connection and the server/);
  assert.equal(r.log.filter((l) => l.file === "001.bin").length, 1, "a 404 was retried");
});

test("load: a shard that keeps failing names the last error exactly", async () => {
  const model = model_make(2);
  const five = await load(model, { faults: { "000.bin": Array(8).fill("500") } }).catch((e) => e);
  assert.match(five.message, /^shard 0 \(000\.bin\): download failed after 8 requests \(HTTP 500\)\. /);
  const hung = await load(model, { faults: { "000.bin": Array(8).fill("hang") }, stallMs: 5 }).catch((e) => e);
  assert.match(hung.message, /download failed after 8 requests \(the server did not answer: nothing for 0\.005 s\)/);
});

test("load: a body that ends early without an error is resumed, and one that keeps doing so fails", async () => {
  const model = model_make(2);
  const r = await load(model, { faults: { "001.bin": ["short:300"] } });
  assert.deepEqual(r.dst, model.gguf);
  assert.deepEqual(r.server.log.filter((l) => l.file === "001.bin").map((l) => l.range), [null, "bytes=300-"]);
  const err = await load(model, { faults: { "001.bin": Array(9).fill("short:0") } }).catch((e) => e);
  assert.match(err.message, /shard 1 \(001\.bin\): the transfer kept ending early \(0 of 1000 bytes\)/);
});

test("load: a file longer than its manifest says is refused as corrupt", async () => {
  const model = model_make(2);
  const err = await load(model, { faults: { "000.bin": Array(4).fill("longer") } }).catch((e) => e);
  assert.match(err.message, /shard 0 \(000\.bin\): corrupt after 4 downloads: more than the 1000 bytes/);
  const br = model_make(2, 3000, "br");
  const size = br.manifest.shards[0].encoded_size;
  const err2 = await load(br, { faults: { "000.bin": Array(4).fill("longer") } }).catch((e) => e);
  assert.match(err2.message, new RegExp(`corrupt after 4 downloads: the file is ${size + 3} bytes, the manifest says ${size}`));
});

test("load: a corrupt Brotli stream is fetched again from the start; the hash error is precise", async () => {
  const model = model_make(3, 3000, "br");
  const r = await load(model, { faults: { "001.bin": ["corrupt"] } });
  assert.deepEqual(r.dst, model.gguf);
  assert.deepEqual(r.server.log.filter((l) => l.file === "001.bin").map((l) => l.range), [null, null]);
  const wrong = model_make(2);
  wrong.manifest.shards[1].sha256 = "ab".repeat(32);
  const err = await load(wrong).catch((e) => e);
  const actual = sha(wrong.files.get("001.bin")).slice(0, 12);
  assert.ok(err.message.includes(`sha256 of the decoded bytes is ${actual}…, the manifest says abababababab…`), err.message);
});

test("tiling: every encoding the packer writes is known, others and empty shards are refused", () => {
  const { manifest } = model_make(2);
  for (const encoding of ["br", "identity"]) {
    const m = structuredClone(manifest);
    m.shards.forEach((s) => { s.encoding = encoding; });
    verify_tiling(m);
  }
  assert.ok(shard_is_brotli({ encoding: "br" }));
  assert.ok(!shard_is_brotli({ encoding: "identity" }));
  const raw = structuredClone(manifest); raw.shards[1].encoding = "raw";
  assert.throws(() => verify_tiling(raw), /shard 1 has unknown encoding "raw"/);
  const empty = structuredClone(manifest); empty.shards[1].encoded_size = 0;
  assert.throws(() => verify_tiling(empty), /shard 1 \(001\.bin\) does not continue/);
  const none = structuredClone(manifest); none.shards[1].size = 0; none.gguf.size -= 1000;
  assert.throws(() => verify_tiling(none), /shard 1 \(001\.bin\) does not continue/);
});

test("progress: old samples leave the window exactly at its length, recent ones stay", () => {
  let t = 0;
  const p = new Progress(10e6, () => t, 3000);
  p.snapshot();
  t = 1000; p.set(0, 0.5e6); p.snapshot();
  t = 2000; p.set(0, 2e6);
  assert.equal(p.snapshot().mbps, 1, "all three samples are inside 3 s: 2 MB over 2 s");
  const q = new Progress(10e6, () => t, 3000);
  t = 0; q.snapshot();
  t = 1000; q.set(0, 2e6); q.snapshot();
  t = 4000; q.set(0, 3e6);
  assert.equal(q.snapshot().mbps, 1e6 / 3 / 1e6, "the sample 3 s old is dropped");
  const done = new Progress(10, () => 0);
  done.set(0, 10);
  assert.equal(done.snapshot().eta_s, 0, "nothing left: ETA 0, even with no speed measured");
});

test("load: seven failed requests then a whole body still load; the eighth early end fails", async () => {
  const model = model_make(2);
  const r = await load(model, { faults: { "001.bin": Array(7).fill("500") } });
  assert.deepEqual(r.dst, model.gguf);
  const s = server_make(model.files, { "001.bin": Array(9).fill("short:0") });
  const sinks = sinks_make(model.manifest.gguf.size);
  await assert.rejects(shards_load(model.manifest, {
    baseUrl: "http://x/chunks/toy/manifest.json", fetch: s.fetch, cache: no_cache, open_sink: sinks.open_sink,
    now: () => 0, sleep: async () => {},
  }), /kept ending early/);
  assert.equal(s.log.filter((l) => l.file === "001.bin").length, 8, "gives up after attempts * 2 requests");
});

test("load: a Brotli body that does not decode is fetched again from the start", async () => {
  const model = model_make(2, 3000, "br");
  const r = await load(model, { faults: { "001.bin": ["garbage"] } });
  assert.deepEqual(r.dst, model.gguf);
  assert.deepEqual(r.server.log.filter((l) => l.file === "001.bin").map((l) => l.range), [null, null]);
});

test("cache: once the cache stops answering, it is not asked again", async () => {
  const model = model_make(4);
  const cache = cache_make({ hangGet: true });
  const r = await load(model, { cache, concurrency: 1, stallMs: 20 });
  assert.deepEqual(r.dst, model.gguf);
  assert.equal(r.stats.caching, false);
  assert.deepEqual(cache.calls, { get: 1, put: 0 });
});

test("tiling: shards out of order are refused", () => {
  const { manifest } = model_make(2);
  const swapped = structuredClone(manifest); swapped.shards[1].index = 0;
  assert.throws(() => verify_tiling(swapped), /shard 1 \(001\.bin\) does not continue/);
});

test("cache: a corrupt entry is removed even when storing the good copy fails", async () => {
  const model = model_make(2);
  const cache = cache_make({ failPut: true });
  const key = cache_key(model.manifest.shards[0]);
  cache.store.set(key, { bytes: new Uint8Array(1000), size: 1000, check: "0:0:0" });
  const r = await load(model, { cache });
  assert.deepEqual(r.dst, model.gguf);
  assert.ok(!cache.store.has(key), "the corrupt entry is still cached");
});
