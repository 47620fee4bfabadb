// The model's home: loads shards straight into the engine's memory and runs generation.
// Messages are those of docs/contracts.md ("Worker messages").
import { memory_plan, mib, shards_load, shard_is_brotli, bytes_check, CorruptBytes } from "./loader.js";
import { loadEngine, relaxedSimdSupported } from "./engine.js";

const BUILD_DIR = new URL("../build/wasm/", import.meta.url);
const CACHE_NAME = "wasmlm-shards-v2";       // decoded shards (v1 held the encoded files)
const CACHE_OLD = ["wasmlm-shards-v1"];
const PROMPT_BATCH = 64;            // prompt tokens per eval call: Stop is checked between batches
const MAX_THREADS = 4;

let engine = null;       // the running engine once ready
let evaluated = [];      // token ids whose keys/values are in the KV cache, in order
let nCtx = 0;
let build = { name: "", threads: 1 };
let stopping = false;
let busy = false;

const post = (msg) => self.postMessage(msg);
const now = () => performance.now();

self.onmessage = async ({ data }) => {
  const handler = { load: load_run, generate: generate_run, stop: stop_run, reset: reset_run, tokenize: tokenize_run }[data?.type];
  if (!handler) return post({ type: "error", where: "worker", message: `unknown message type "${data?.type}"` });
  try {
    await handler(data);
  } catch (err) {
    busy = false;
    post({ type: "error", where: err.where || data.type, message: err.message || String(err) });
  }
};

// ---- choosing the engine build ---------------------------------------------------------

// i8x16.popcnt on a splat: validates only where SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

// Content-hashed URLs from the page (immutable caching); the plain names are the fallback.
let engineFiles = {};
const build_url = (file) => new URL(engineFiles[file] ?? file, engineFiles[file] ? self.location.origin : BUILD_DIR).href;

async function build_exists(name) {
  if (engineFiles[`wasmlm-${name}.wasm`]) return true;
  try {
    return (await fetch(build_url(`wasmlm-${name}.wasm`), { method: "HEAD" })).ok;
  } catch {
    return false;
  }
}

// Every logical core, at most MAX_THREADS: on a 2-core machine 2 threads, the pthreads build. Measured
// there (docs/loading.md, docs/bench/two-threads): prefill +37% in Chromium and +33% in Firefox, decode
// +10-18%, against one thread. The build held back until the Firefox start-up hang was found
// (engine_start_first). `wanted` (the page's ?threads=N) overrides the guess.
function threads_auto() {
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_THREADS));
}

// The builds this browser can run, best first: relaxed SIMD where a module of it validates
// (Chromium, Firefox), else SIMD128 (WebKit), else scalar; the threaded ones only if threads are
// wanted. A module with one instruction the browser lacks fails as a whole, hence separate builds.
function build_candidates(threaded) {
  const simd = WebAssembly.validate(SIMD_PROBE), relaxed = simd && relaxedSimdSupported();
  return [threaded && relaxed && "relaxed-mt", threaded && simd && "mt", relaxed && "relaxed", simd && "simd"]
    .filter(Boolean);
}

async function build_pick(wanted, forced) {
  // ?build=NAME (the page's): that build as it is, e.g. debug for DevTools (docs/debugging.md).
  if (forced) {
    if (!await build_exists(forced)) throw Object.assign(new Error(`the server has no engine build "${forced}" (?build=)`), { where: "engine" });
    return { name: forced, threads: forced.endsWith("mt") ? Math.max(2, Math.min(wanted || threads_auto(), MAX_THREADS)) : 1 };
  }
  const threads = Math.min(wanted || threads_auto(), MAX_THREADS);
  for (const name of build_candidates(threads > 1 && self.crossOriginIsolated))
    if (await build_exists(name)) return { name, threads: name.endsWith("mt") ? threads : 1 };
  return { name: "scalar", threads: 1 };
}

function engine_start(b) {
  const t0 = now();
  return loadEngine({
    build: b.name,
    jsUrl: build_url(`wasmlm-${b.name}.js`),
    wasmUrl: build_url(`wasmlm-${b.name}.wasm`),
    workerUrl: build_url(`wasmlm-${b.name}.worker.js`),
    threads: b.threads,
  }).then((e) => ({ engine: e, compileMs: now() - t0 }), (err) => {
    throw Object.assign(new Error(`the ${b.name} engine build failed to start: ${err.message}`), { where: "engine" });
  });
}

// The pthreads build's worker pool is up before the first Cache API call. Firefox hung before the first
// progress message in 1 cold load of 12 (1 of 67 in a later count) when the two overlapped: traced, the
// load stopped after the build was picked, with neither caches.open nor the engine's start ever settling
// (a fresh profile's first storage call, set up while the pool's nested worker is created). Serialized:
// no hang since (docs/loading.md). Costs the overlap of compiling with the first requests (tens of ms);
// a pool that still does not start in time gives way to the one-thread build, with a notice.
const ENGINE_START_MS = 20000;

// Resolves with [the started engine's promise] (in an array: a promise would be unwrapped).
async function engine_start_first(b) {
  const started = engine_start(b);
  try {
    await promise_within(started, ENGINE_START_MS, `the ${b.name} build did not start within ${ENGINE_START_MS / 1000} s`);
    return [started];
  } catch (err) {
    build = await build_pick(1);
    post({ type: "notice", message: `${err.message}; running the ${build.name} build on one thread instead` });
    return [promise_within(engine_start(build), ENGINE_START_MS, `the ${build.name} build did not start within ${ENGINE_START_MS / 1000} s either`)];
  }
}

function promise_within(promise, ms, message) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// ---- the shard cache ----------------------------------------------------------------------

const CACHE_OFF = { enabled: () => false, get: async () => null, put: async () => {}, remove: async () => {} };

async function cache_open() {
  try {
    if (!self.caches) throw new Error("this browser offers no Cache API here");
    const c = await promise_within(caches.open(CACHE_NAME), 20000, "the browser's cache did not open within 20 s");
    for (const name of CACHE_OLD) caches.delete(name).catch(() => {});
    const key = (k) => new Request(new URL(`/__wasmlm/shard/${k}`, self.location.origin));
    return {
      enabled: () => true,
      get: async (k) => {
        const r = await c.match(key(k));
        if (!r) return null;
        return { size: Number(r.headers.get("x-wasmlm-size")), check: r.headers.get("x-wasmlm-check"),
          read: async () => new Uint8Array(await r.arrayBuffer()) };
      },
      put: (k, { bytes, size, check }) => c.put(key(k), new Response(bytes, {
        headers: { "Content-Type": "application/octet-stream", "x-wasmlm-size": String(size), "x-wasmlm-check": check },
      })),
      remove: (k) => c.delete(key(k)),
    };
  } catch (err) {
    post({ type: "notice", message: `caching is off (${err.message}); the model will be downloaded again next time` });
    return CACHE_OFF;
  }
}

// ---- sinks: where a shard's bytes go inside wasm memory ------------------------------------

// Raw shards are copied to their final place; Brotli shards are decoded there by the engine; decoded
// bytes from the cache are copied there (place).
function sink_open(e, base, shard, timing) {
  const dst = base + shard.offset;
  const timed = (fn) => (...a) => { const t = now(); try { return fn(...a); } finally { timing.decodeMs += now() - t; } };
  const finish_check = (written) => {
    if (written !== shard.size) throw new CorruptBytes(`decoded ${written} bytes, the manifest says ${shard.size}`);
    timing.hashed++;
    return e.sha256(dst, shard.size);
  };
  let pos = 0;      // bytes copied to dst (raw shards and cached ones)
  const place = timed((u8) => {
    if (pos + u8.length > shard.size) throw new CorruptBytes(`more than the ${shard.size} bytes the manifest says`);
    e.heap().set(u8, dst + pos);
    pos += u8.length;
  });
  const decoded_view = () => e.heap().subarray(dst, dst + shard.size);
  const common = {
    place,
    checksum: timed(() => bytes_check(decoded_view())),
    bytes: () => decoded_view().slice(),   // a copy: wasm memory may grow (and may be shared)
  };
  if (!shard_is_brotli(shard)) {
    return {
      ...common,
      write: place,
      decoded: () => pos,
      finish: timed(() => finish_check(pos)),
      reset: () => { pos = 0; },
    };
  }
  let dec = null;
  let status = 0;
  return {
    ...common,
    write: timed((u8) => {
      if (status === 1) throw new CorruptBytes("bytes after the end of the Brotli stream");
      dec ??= e.brotli(dst, shard.size);
      status = dec.push(u8);
      if (status < 0) throw new CorruptBytes(`the Brotli stream is corrupt (${status})`);
    }),
    decoded: () => (dec ? dec.written() : pos),
    finish: timed(() => {
      if (status !== 1) throw new CorruptBytes("the Brotli stream ended early");
      const hex = finish_check(dec.written());
      dec.free();
      dec = null;
      pos = shard.size;
      return hex;
    }),
    reset: () => { dec?.free(); dec = null; status = 0; pos = 0; },
  };
}

// ---- load ------------------------------------------------------------------------------------

async function load_run({ manifestUrl, nCtx: ctx, memoryBudget, kvType = "f16", engineFiles: files, threads, build: forced }) {
  if (busy) throw new Error("already busy; reload the page to start over");
  if (engine) throw new Error("a model is already loaded; the page starts a new worker for another");
  busy = true;
  engineFiles = files || {};
  const t0 = now();
  const base = new URL(manifestUrl, self.location.href);
  step_post("manifest");
  const manifest = await manifest_fetch(base);
  step_post("storage");
  const plan = await plan_make(manifest, { nCtx: Math.min(ctx || 2048, manifest.context_length || Infinity), memoryBudget, kvType });
  nCtx = plan.nCtx;

  build = await build_pick(threads, forced);
  step_post("engine");
  const [started] = build.threads > 1 ? await engine_start_first(build) : [engine_start(build)];
  started.catch(() => {});   // reported where it is awaited
  step_post("cache");
  const cache = await cache_open();
  const timing = { decodeMs: 0, hashed: 0 };
  let ggufPtr = null;
  const reserve = async () => {
    const { engine: e } = await started;
    if (ggufPtr === null) {
      ggufPtr = e.ggufAlloc(manifest.gguf.size);
      if (!ggufPtr) throw Object.assign(new Error(`could not reserve ${manifest.gguf.size} bytes of wasm memory for the model`), { where: "memory" });
    }
    return e;
  };

  post({ type: "progress", phase: "download", bytes: 0, total: manifest.gguf.size, mbps: 0, etaS: null });
  const shards = await shards_load(manifest, {
    baseUrl: base.href,
    fetch: (url, init) => fetch(url, init),
    cache,
    now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    open_sink: async (shard) => sink_open(await reserve(), ggufPtr, shard, timing),
    onProgress: (p) => post({ type: "progress", phase: "download", ...p }),
    onNotice: (message) => post({ type: "notice", message }),
  });
  const tShards = now();

  post({ type: "progress", phase: "engine", bytes: manifest.gguf.size, total: manifest.gguf.size, mbps: 0, etaS: 0 });
  const { engine: e, compileMs } = await started;
  await reserve();
  try {
    e.create(ggufPtr, manifest.gguf.size, { nCtx, threads: build.threads, kvType: plan.kvType });
  } catch (err) {
    throw Object.assign(new Error(`the engine refused the model: ${err.message}`), { where: "engine" });
  }
  engine = e;
  evaluated = [];
  busy = false;
  const tReady = now();
  post({
    type: "ready",
    info: { ...engine.info(), build: build.name, threads: build.threads, model: manifest.id, mode: manifest.mode },
    stats: engine.stats(),
    load: {
      total_ms: tReady - t0,
      download_ms: tShards - shards.startMs,
      decode_ms: timing.decodeMs,
      hashed: timing.hashed,        // shards whose sha256 was computed: none on a warm load
      engine_ms: tReady - tShards,
      compile_ms: compileMs,
      from_cache: shards.fromCache,
      from_network: shards.fromNetwork,
      requests: shards.requests,
      caching: shards.caching,
      plan,
    },
  });
}

// Before the download, a load waits on the browser: the manifest, the storage estimate, the engine's
// start, the cache's opening. Each step is announced, so a load that stops says where (the page shows
// it; a stalled-load report names it).
function step_post(step) {
  post({ type: "progress", phase: "start", step, bytes: 0, total: 0, mbps: 0, etaS: null });
}

// The memory plan (static/loader.js), decided before any shard is fetched: a model that cannot fit
// is refused here, a context that cannot fit is shortened (with a notice). The storage estimate is
// compared with the download: a model larger than the room left will load but not be cached.
async function plan_make(manifest, { nCtx, memoryBudget, kvType }) {
  let plan;
  try {
    plan = memory_plan(manifest, { nCtx, budget: memoryBudget, kvType });
  } catch (err) {
    throw Object.assign(new Error(err.message), { where: "memory" });
  }
  if (!plan.fits) throw Object.assign(new Error(plan.reason), { where: "memory" });
  if (plan.note) post({ type: "notice", message: plan.note });
  plan.storage = await storage_estimate();
  const cached = manifest.gguf.size;   // the cache keeps decoded shards
  if (plan.storage && plan.storage.quota - plan.storage.usage < cached) {
    post({ type: "notice", message: `this site may store ${mib(plan.storage.quota - plan.storage.usage)} more, ` +
      `the model is ${mib(cached)}: it will load, but the browser may refuse to keep it (then it is downloaded again next time)` });
  }
  return plan;
}

async function storage_estimate() {
  try {
    const { quota, usage } = await promise_within(navigator.storage.estimate(), 5000, "no storage estimate");
    return Number.isFinite(quota) ? { quota, usage: usage || 0 } : null;
  } catch {
    return null;
  }
}

async function manifest_fetch(url) {
  let resp;
  try {
    resp = await fetch(url, { cache: "no-cache" });
  } catch (err) {
    throw Object.assign(new Error(`could not reach the server for ${url.pathname} (${err.message})`), { where: "manifest" });
  }
  if (!resp.ok) throw Object.assign(new Error(`${url.pathname} answered HTTP ${resp.status}: is the model packed on the server?`), { where: "manifest" });
  try {
    return await resp.json();
  } catch {
    throw Object.assign(new Error(`${url.pathname} is not valid JSON: re-pack the model`), { where: "manifest" });
  }
}

// ---- generation ------------------------------------------------------------------------------

// Lets queued messages (Stop) run between tokens without the 4 ms clamp of setTimeout.
const tick_channel = new MessageChannel();
const tick_waiters = [];
tick_channel.port1.onmessage = () => tick_waiters.shift()?.();
const yield_now = () => new Promise((r) => { tick_waiters.push(r); tick_channel.port2.postMessage(0); });

function tokens_of(parts) {
  const out = [];
  const addBos = !!engine.info().add_bos;
  parts.forEach((part, i) => {
    if (!part.text) return;
    out.push(...engine.tokenize(part.text, { addBos: addBos && i === 0, parseSpecial: !!part.special }));
  });
  return out;
}

// The ids a generation would evaluate for these parts (static/wasmlm.js's model.tokenize, for tests and tools).
function tokenize_run({ parts }) {
  if (!engine) throw Object.assign(new Error("no model is loaded yet"), { where: "tokenize" });
  post({ type: "tokens", ids: tokens_of(parts) });
}

function prefix_common(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

async function generate_run({ parts, sampling = {}, maxTokens = 256 }) {
  if (!engine) throw Object.assign(new Error("no model is loaded yet"), { where: "generate" });
  if (busy) throw Object.assign(new Error("still busy with the previous request"), { where: "generate" });
  busy = true;
  stopping = false;
  const t0 = now();
  const ids = tokens_of(parts);
  if (!ids.length) throw Object.assign(new Error("the prompt is empty"), { where: "generate" });
  // Room for at least a short answer; the page drops old turns and asks again when this says full.
  const room = Math.min(maxTokens, Math.max(16, nCtx >> 3));
  if (ids.length + room > nCtx) {
    busy = false;
    return post({ type: "done", reason: "context_full", stats: { prompt_tokens: ids.length, n_ctx: nCtx, room } });
  }

  // Reuse the KV cache: keep the common prefix, evaluate only the rest (at least one token for logits).
  const reused = Math.min(prefix_common(evaluated, ids), ids.length - 1);
  engine.truncate(reused);
  engine.resetStats();        // the engine's counters then describe this turn alone
  evaluated = ids.slice(0, reused);
  const fresh = ids.slice(reused);
  const tPrompt = now();
  for (let i = 0; i < fresh.length && !stopping; i += PROMPT_BATCH) {
    const batch = fresh.slice(i, i + PROMPT_BATCH);
    engine.eval(Int32Array.from(batch));
    evaluated.push(...batch);
    await yield_now();
  }
  const promptMs = now() - tPrompt;

  const sampler = engine.sampler(sampling);
  let reason = "length";
  let generated = 0, ttft = null, tFirst = 0;
  const tGen = now();
  const decoder = new TextDecoder("utf-8");
  try {
    for (const id of ids.slice(-64)) sampler.accept(id);
    while (!stopping && generated < maxTokens) {
      const id = sampler.sample();
      if (engine.isEog(id)) { reason = "eog"; break; }
      generated++;
      post({ type: "token", text: decoder.decode(new Uint8Array(engine.piece(id)), { stream: true }), id });
      if (ttft === null) { tFirst = now(); ttft = tFirst - t0; }
      if (engine.nPast() >= nCtx) { reason = "context_full"; break; }
      engine.eval(Int32Array.of(id));
      evaluated.push(id);
      await yield_now();
    }
    if (stopping) reason = "stop";
  } finally {
    sampler.free();
    busy = false;
  }
  const tail = decoder.decode();
  if (tail) post({ type: "token", text: tail, id: -1 });
  const tEnd = now();
  post({
    type: "done",
    reason,
    stats: {
      ttft_ms: ttft,
      prompt_tokens: ids.length,
      reused_tokens: reused,
      evaluated_tokens: fresh.length,
      prompt_ms: promptMs,
      prompt_tps: fresh.length / Math.max(promptMs, 1e-3) * 1000,
      generated_tokens: generated,
      gen_ms: tEnd - tGen,
      gen_tps: generated > 1 ? (generated - 1) / Math.max(tEnd - tFirst, 1e-3) * 1000 : null,
      n_past: engine.nPast(),
      n_ctx: nCtx,
      build: build.name,
      threads: build.threads,
      engine: engine.stats(),
    },
  });
}

function stop_run() {
  stopping = true;
}

// A running generation is stopped; the next one keeps only the prefix it shares with the cache.
function reset_run() {
  stopping = true;
  if (busy || !engine) return;
  engine.truncate(0);
  evaluated = [];
}
