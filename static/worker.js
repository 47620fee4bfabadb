// The model's home: loads shards straight into the engine's memory and runs generation.
// Its messages are those of static/messages.js.
import { memory_plan, mib, shards_load, shard_is_brotli, bytes_check, CorruptBytes } from "./loader.js";
import { loadEngine, relaxedSimdSupported, hex_of } from "./engine.js";
import { to_page, fail } from "./messages.js";
import { relay_install } from "./thread_relay.js";

const BUILD_DIR = new URL("../build/wasm/", import.meta.url);
const CACHE_NAME = "wasmlm-shards-v2";       // decoded shards (v1 held the encoded files)
const CACHE_OLD = ["wasmlm-shards-v1"];
const PROMPT_BATCH = 64;            // prompt tokens per eval call: Stop is checked between batches
const MAX_THREADS = 4;

// The worker's one model, and where its conversation stands.
const session = {
  engine: null,                       // the running engine once ready
  build: { name: "", threads: 1 },    // the engine build it runs on
  nCtx: 0,                            // context length, after the memory plan
  evaluated: [],                      // token ids whose keys/values are in the KV cache, in order
  busy: false,                        // a load or a generation is running
  stopping: false,                    // Stop (or reset) asked the generation in flight to end
};

const post = (msg) => self.postMessage(msg);
const now = () => performance.now();

// The pthreads builds' thread workers are made by the page (static/thread_relay.js: a Firefox hang).
const thread_deliver = relay_install(self, (msg, transfer) => self.postMessage(msg, transfer));

self.onmessage = async ({ data }) => {
  if (data?.type === "ping") return post(to_page.pong());   // not queued behind a load: it asks if this loop runs
  if (data?.type === "thread_message" || data?.type === "thread_error") return thread_deliver(data);
  const handler = { load: load_run, generate: generate_run, stop: stop_run, reset: reset_run, tokenize: tokenize_run }[data?.type];
  if (!handler) return post(to_page.error(fail("worker", `unknown message type "${data?.type}"`)));
  try {
    await handler(data);
  } catch (err) {
    session.busy = false;
    post(to_page.error(err, data.type));
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
// +10-18%, against one thread. (The Firefox start-up hang of this build is found and avoided:
// static/thread_relay.js.) `wanted` (the page's ?threads=N) overrides the guess.
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
    if (!await build_exists(forced)) throw fail("engine", `the server has no engine build "${forced}" (?build=)`);
    return { name: forced, threads: forced.endsWith("mt") ? Math.max(2, Math.min(wanted || threads_auto(), MAX_THREADS)) : 1 };
  }
  const threads = Math.min(wanted || threads_auto(), MAX_THREADS);
  for (const name of build_candidates(threads > 1 && self.crossOriginIsolated))
    if (await build_exists(name)) return { name, threads: name.endsWith("mt") ? threads : 1 };
  return { name: "scalar", threads: 1 };
}

// Resolves with {engine, compileMs}.
function engine_start(b) {
  const t0 = now();
  return loadEngine({
    build: b.name,
    jsUrl: build_url(`wasmlm-${b.name}.js`),
    wasmUrl: build_url(`wasmlm-${b.name}.wasm`),
    workerUrl: build_url(`wasmlm-${b.name}.worker.js`),
    threads: b.threads,
  }).then((e) => ({ engine: e, compileMs: now() - t0 }), (err) => {
    throw fail("engine", `the ${b.name} engine build failed to start: ${err.message}`);
  });
}

// The pthreads build's worker pool is up before the first Cache API call. Firefox hung before the first
// progress message in 1 cold load of 12 (1 of 67 in a later count) when the two overlapped: traced, the
// load stopped after the build was picked, with neither caches.open nor the engine's start ever settling
// (a fresh profile's first storage call, set up while the pool's nested worker is created). Serialized,
// it became rarer still (1 in CI's 3 loads of 2026-12-01 since, none in 100 here): the page now also
// replaces a worker whose step outlasts its limit (static/wasmlm.js, START_STALL_MS; docs/loading.md).
// Costs the overlap of compiling with the first requests (tens of ms); a pool that does not start in
// time gives way to the one-thread build, with a notice.
const ENGINE_START_MS = 20000;

// Picks the build and starts it; resolves with [the started engine's promise] (in an array: a promise
// would be unwrapped). One-thread builds compile while the shards are requested.
async function engine_begin(wanted, forced) {
  session.build = await build_pick(wanted, forced);
  step_post("engine");
  const b = session.build;
  if (b.threads === 1) return [engine_start(b)];
  const started = engine_start(b);
  try {
    await promise_within(started, ENGINE_START_MS, `the ${b.name} build did not start within ${ENGINE_START_MS / 1000} s`);
    return [started];
  } catch (err) {
    session.build = await build_pick(1);
    const one = session.build;
    post(to_page.notice(`${err.message}; running the ${one.name} build on one thread instead`));
    return [promise_within(engine_start(one), ENGINE_START_MS, `the ${one.name} build did not start within ${ENGINE_START_MS / 1000} s either`)];
  }
}

function promise_within(promise, ms, message) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// ---- the shard cache ----------------------------------------------------------------------

// One interface over two stores (static/loader.js's shard_load uses it; docs/contracts.md "Shard cache"):
// {store: "opfs" | "cache" | "off", enabled(), get(key) -> entry or null, put(key, {bytes, size, check}),
// remove(key)}, an entry being {size, check, read_into(target) -> bytes held, close()} (loader.js's cache_read).
const CACHE_OFF = { store: "off", enabled: () => false, get: async () => null, put: async () => {}, remove: async () => {} };
const OPEN_MS = 20000;      // each asynchronous step of opening a store; later calls are under the loader's limits

// The file store (Origin Private File System) where a worker can read a file synchronously straight into wasm
// memory (measured: the Cache API's read throughput was the whole of a warm load, docs/loading.md), else the
// Cache API. A file store that exists but fails to open says so and gives way to the Cache API.
async function cache_open() {
  if (opfs_offered()) {
    try {
      const store = await opfs_open();
      cache_api_drop([CACHE_NAME, ...CACHE_OLD]);   // its entries would double the storage used
      return store;
    } catch (err) {
      post(to_page.notice(`the browser's file storage did not open (${err.message}); using its Cache API instead`));
    }
  }
  try {
    return await cache_api_open();
  } catch (err) {
    post(to_page.notice(`caching is off (${err.message}); the model will be downloaded again next time`));
    return CACHE_OFF;
  }
}

function cache_api_drop(names) {
  if (!self.caches) return;
  for (const name of names) caches.delete(name).catch(() => {});
}

async function cache_api_open() {
  if (!self.caches) throw new Error("this browser offers no Cache API here");
  const c = await promise_within(caches.open(CACHE_NAME), OPEN_MS, "the browser's cache did not open within 20 s");
  cache_api_drop(CACHE_OLD);
  const key = (k) => new Request(new URL(`/__wasmlm/shard/${k}`, self.location.origin));
  return {
    store: "cache",
    enabled: () => true,
    get: async (k) => {
      const r = await c.match(key(k));
      if (!r) return null;
      return {
        size: Number(r.headers.get("x-wasmlm-size")), check: r.headers.get("x-wasmlm-check"),
        // One read of the whole body, not a stream of pieces: Firefox hands a cached body over in 64 KiB
        // pieces, each a round trip through the event loop.
        read_into: async (target) => bytes_place(new Uint8Array(await r.arrayBuffer()), target),
        close: () => {},
      };
    },
    put: (k, { bytes, size, check }) => quota_named(c.put(key(k), new Response(bytes, {
      headers: { "Content-Type": "application/octet-stream", "x-wasmlm-size": String(size), "x-wasmlm-check": check },
    }))),
    remove: (k) => c.delete(key(k)),
  };
}

// Copies bytes to target() when they fit it exactly; the count either way (the loader judges it).
function bytes_place(bytes, target) {
  const view = target();
  if (view && view.length === bytes.length) view.set(bytes);
  return bytes.length;
}

// ---- the file store (OPFS) ----
// One file per shard, <dir>/<key>: the decoded bytes, then a trailer of TRAILER_SIZE bytes written after them,
// "wasmlm-shard <check>" padded with spaces. A write cut short (a closed tab, a full disk)
// leaves no trailer, or bytes that fail the check: a bad entry. An empty file (created, never written) is no
// entry. Sync access handles are exclusive per file: a file another tab is writing or reading is no entry to
// read (the shard is fetched) and not written again (that tab stores it).
const OPFS_DIR = "wasmlm-shards-v3";
const TRAILER = "wasmlm-shard ";
const TRAILER_SIZE = 64;

function opfs_offered() {
  return !!(navigator.storage?.getDirectory && self.FileSystemFileHandle?.prototype.createSyncAccessHandle);
}

async function opfs_open() {
  const root = await promise_within(navigator.storage.getDirectory(), OPEN_MS, "no directory within 20 s");
  const dir = await promise_within(root.getDirectoryHandle(OPFS_DIR, { create: true }), OPEN_MS, "no folder within 20 s");
  return {
    store: "opfs",
    enabled: () => true,
    get: (k) => quota_named(opfs_entry(dir, k)),
    put: (k, entry) => quota_named(opfs_write(dir, k, entry)),
    remove: (k) => quota_named(dir.removeEntry(k).catch((err) => { if (!opfs_busy(err) && err.name !== "NotFoundError") throw err; })),
  };
}

// Another tab holds the file (its sync access handle): not an error of this store.
const opfs_busy = (err) => err?.name === "NoModificationAllowedError";

// File handles whose createSyncAccessHandle() is pending, held so that they cannot be collected meanwhile:
// in Chromium 156, `await (await dir.getFileHandle(k)).createSyncAccessHandle()` never settled now and then
// (the 20 s limit then turned caching off): in 3 of 4 fresh profiles' cold loads and 2 of their 16 warm ones;
// with the handle held, 0 of 25 loads in 5 profiles (docs/loading.md). A collected handle is our reading of it.
const opfs_pending = new Set();

// The file's sync access handle, or null when there is no such file (create: false) or another tab holds it.
async function opfs_handle(dir, k, create) {
  let file = null;
  try {
    file = await dir.getFileHandle(k, { create });
    opfs_pending.add(file);
    return await file.createSyncAccessHandle();
  } catch (err) {
    if (opfs_busy(err) || err.name === "NotFoundError") return null;
    throw err;
  } finally {
    opfs_pending.delete(file);
  }
}

// An entry whose handle stays open (the file locked) until close(): read_into reads the bytes synchronously
// into wasm memory, no JS copy. getSize/close are awaited: early Chromium made them asynchronous.
async function opfs_entry(dir, k) {
  const access = await opfs_handle(dir, k, false);
  if (!access) return null;
  let closed = false;
  const close = () => { if (!closed) { closed = true; access.close(); } };
  try {
    const length = await access.getSize();
    if (length === 0) { close(); return null; }
    const size = Math.max(0, length - TRAILER_SIZE);
    const tail = new Uint8Array(Math.min(length, TRAILER_SIZE));
    access.read(tail, { at: size });
    const text = new TextDecoder().decode(tail);
    const check = text.startsWith(TRAILER) ? text.slice(TRAILER.length).trimEnd() : "no trailer (a write cut short)";
    return {
      size, check, close,
      read_into: (target) => {
        const view = target();
        return view && view.length === size ? access.read(view, { at: 0 }) : size;
      },
    };
  } catch (err) {
    close();
    throw err;
  }
}

// Writes the bytes, then the trailer: a writer stopped between them (a closed tab, a full disk) leaves no
// trailer. No flush between: the order matters only across a crash of the whole system, and then the check,
// verified on every read, catches bytes that never reached the disk; an fsync per shard would slow every cold
// load. A full disk leaves no file behind and rejects with QuotaExceededError, which turns caching off
// (loader.js's cache_guarded).
async function opfs_write(dir, k, { bytes, check }) {
  const access = await opfs_handle(dir, k, true);
  if (!access) return;
  try {
    await access.truncate(0);
    bytes_write(access, bytes, 0);
    bytes_write(access, new TextEncoder().encode(`${TRAILER}${check}`.padEnd(TRAILER_SIZE, " ")), bytes.length);
    await access.close();
  } catch (err) {
    try { await access.close(); } catch { /* closed already, or cannot be */ }
    await dir.removeEntry(k).catch(() => {});
    throw err;
  }
}

function bytes_write(access, bytes, at) {
  const n = access.write(bytes, { at });
  if (n !== bytes.length) throw new DOMException(`${n} of a shard's ${bytes.length} bytes were written`, "QuotaExceededError");
}

// A full quota rejects with QuotaExceededError whatever the browser threw, so that the notice says what it
// means: Firefox 153 throws an XPCOM exception, NS_ERROR_FILE_NO_DEVICE_SPACE (test_storage.py's full storage).
function quota_named(promise) {
  return promise.catch((err) => {
    if (!/NO_DEVICE_SPACE/.test(`${err?.name} ${err}`)) throw err;
    throw new DOMException("no room left in the site's storage (NS_ERROR_FILE_NO_DEVICE_SPACE)", "QuotaExceededError");
  });
}

// ---- sinks: where a shard's bytes go inside wasm memory ------------------------------------

// Identity shards (stored as they are) are copied to their final place; Brotli shards are decoded there by
// the engine; decoded bytes from the cache are read there (target, placed). Each sink is {write, target,
// placed, decoded, finish, checksum, bytes, reset}: static/loader.js's shard_load says what each does.
function sink_open(e, base, shard, timing) {
  const common = sink_common(e, base + shard.offset, shard, timing);
  return shard_is_brotli(shard) ? sink_brotli(e, common, shard) : sink_identity(common);
}

// What every sink shares: copying into place, the cheap check, the digest and the copy the cache stores.
function sink_common(e, dst, shard, timing) {
  const timed = (fn) => (...a) => { const t = now(); try { return fn(...a); } finally { timing.decodeMs += now() - t; } };
  const view = () => e.heap().subarray(dst, dst + shard.size);
  // SHA-256 of the decoded bytes: WebCrypto (native code: 4x the engine's wasm sha256 in Node, docs/loading.md)
  // over a copy, since it refuses views of shared memory; the cache then stores that copy. Outside a secure
  // context (plain http to a LAN address) there is no crypto.subtle: the engine's.
  let copy = null;
  const sink = {
    dst,
    pos: 0,      // bytes put at dst (identity shards and cached ones)
    timed,
    place: timed((u8) => {
      if (sink.pos + u8.length > shard.size) throw new CorruptBytes(`more than the ${shard.size} bytes the manifest says`);
      e.heap().set(u8, dst + sink.pos);
      sink.pos += u8.length;
    }),
    target: view,
    placed: (n) => { sink.pos = n; },
    checksum: timed(() => bytes_check(view())),
    bytes: () => copy ?? view().slice(),   // a copy: wasm memory may grow (and may be shared)
    finish_check: async (written) => {
      if (written !== shard.size) throw new CorruptBytes(`decoded ${written} bytes, the manifest says ${shard.size}`);
      timing.hashed++;
      const t = now();
      try {
        if (!crypto.subtle) return e.sha256(dst, shard.size);
        copy = view().slice();
        return hex_of(await crypto.subtle.digest("SHA-256", copy));
      } finally {
        timing.decodeMs += now() - t;
      }
    },
    reset: () => { sink.pos = 0; copy = null; },
  };
  return sink;
}

function sink_identity(c) {
  return {
    target: c.target, placed: c.placed, checksum: c.checksum, bytes: c.bytes, reset: c.reset,
    write: c.place,
    decoded: () => c.pos,
    finish: () => c.finish_check(c.pos),
  };
}

function sink_brotli(e, c, shard) {
  let dec = null;
  let status = 0;
  return {
    target: c.target, placed: c.placed, checksum: c.checksum, bytes: c.bytes,
    write: c.timed((u8) => {
      if (status === 1) throw new CorruptBytes("bytes after the end of the Brotli stream");
      dec ??= e.brotli(c.dst, shard.size);
      status = dec.push(u8);
      if (status < 0) throw new CorruptBytes(`the Brotli stream is corrupt (${status})`);
    }),
    decoded: () => (dec ? dec.written() : c.pos),
    finish: () => {
      if (status !== 1) throw new CorruptBytes("the Brotli stream ended early");
      const written = dec.written();
      dec.free();
      dec = null;
      c.pos = shard.size;
      return c.finish_check(written);
    },
    reset: () => { dec?.free(); dec = null; status = 0; c.reset(); },
  };
}

// ---- load ------------------------------------------------------------------------------------

async function load_run(msg) {
  if (session.busy) throw fail("load", "already busy; reload the page to start over");
  if (session.engine) throw fail("load", "a model is already loaded; the page starts a new worker for another");
  session.busy = true;
  engineFiles = msg.engine_files || {};
  const t0 = now();
  const manifest = msg.manifest;
  step_post("storage");
  const plan = await plan_make(manifest, msg);
  session.nCtx = plan.n_ctx;
  const [started] = await engine_begin(msg.threads, msg.build);
  started.catch(() => {});   // reported where it is awaited
  step_post("cache");
  const cache = await cache_open();
  const weights = await weights_load(manifest, new URL(msg.manifest_url, self.location.href), started, cache);
  const tShards = now();
  post(to_page.progress("engine", { bytes: manifest.gguf.size, total: manifest.gguf.size, eta_s: 0 }));
  const { engine: e, compileMs } = await started;
  engine_create(e, weights.ptr, manifest.gguf.size, plan);
  const tReady = now();
  post(to_page.ready(
    { ...e.info(), build: session.build.name, threads: session.build.threads, model: manifest.id, mode: manifest.mode },
    e.stats(),
    load_stats(weights, plan, { total_ms: tReady - t0, engine_ms: tReady - tShards, compile_ms: compileMs, store: cache.store }),
  ));
}

// Before the download, a load waits on the browser: the storage estimate, the engine's start, the cache's
// opening. Each step is announced, so a load that stops says where (the page shows it, and replaces a
// worker whose step outlasts its limit: static/wasmlm.js).
function step_post(step) {
  post(to_page.progress("start", { step }));
}

// Every shard into one region of wasm memory, reserved once the engine has started (the requests start
// first, so the download overlaps compilation). Resolves with {ptr, shards (shards_load's statistics),
// timing: {decodeMs, hashed}}.
async function weights_load(manifest, base, started, cache) {
  const timing = { decodeMs: 0, hashed: 0 };
  let ptr = null;
  const region = async () => {
    const { engine: e } = await started;
    ptr ??= e.ggufAlloc(manifest.gguf.size) || null;
    if (ptr === null) throw fail("memory", `could not reserve ${manifest.gguf.size} bytes of wasm memory for the model`);
    return e;
  };
  post(to_page.progress("download", { total: manifest.gguf.size }));
  const shards = await shards_load(manifest, {
    baseUrl: base.href,
    fetch: (url, init) => fetch(url, init),
    cache,
    now,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    open_sink: async (shard) => sink_open(await region(), ptr, shard, timing),
    onProgress: (p) => post(to_page.progress("download", p)),
    onNotice: (message) => post(to_page.notice(message)),
  });
  await region();   // every sink reserved it already; this names the one place it is made
  return { ptr, shards, timing };
}

// The engine takes the weights where they lie.
function engine_create(e, ptr, size, plan) {
  try {
    e.create(ptr, size, { nCtx: session.nCtx, threads: session.build.threads, kvType: plan.kv_type });
  } catch (err) {
    throw fail("engine", `the engine refused the model: ${err.message}`);
  }
  Object.assign(session, { engine: e, evaluated: [], busy: false });
}

// ready.load (docs/contracts.md).
function load_stats({ shards, timing }, plan, times) {
  return {
    ...times,
    download_ms: shards.endMs - shards.startMs,
    decode_ms: timing.decodeMs,
    hashed: timing.hashed,        // shards whose sha256 was computed: none on a warm load
    from_cache: shards.fromCache,
    from_network: shards.fromNetwork,
    requests: shards.requests,
    caching: shards.caching,
    plan,
  };
}

// The memory plan (static/loader.js), decided before any shard is fetched: a model that cannot fit
// is refused here, a context that cannot fit is shortened (with a notice). The storage estimate is
// compared with the download: a model larger than the room left will load but not be cached.
async function plan_make(manifest, { n_ctx, memory_budget, kv_type = "f16" }) {
  let plan;
  try {
    plan = memory_plan(manifest, { nCtx: Math.min(n_ctx, manifest.context_length || Infinity),
      budget: memory_budget, kvType: kv_type });
  } catch (err) {
    throw fail("memory", err.message);
  }
  if (!plan.fits) throw fail("memory", plan.reason);
  if (plan.note) post(to_page.notice(plan.note));
  plan.storage = await storage_estimate();
  const cached = manifest.gguf.size;   // the cache keeps decoded shards
  if (plan.storage && plan.storage.quota - plan.storage.usage < cached) {
    post(to_page.notice(`this site may store ${mib(plan.storage.quota - plan.storage.usage)} more, ` +
      `the model is ${mib(cached)}: it will load, but the browser may refuse to keep it (then it is downloaded again next time)`));
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

// ---- generation ------------------------------------------------------------------------------

// Lets queued messages (Stop) run between tokens without the 4 ms clamp of setTimeout.
const tick_channel = new MessageChannel();
const tick_waiters = [];
tick_channel.port1.onmessage = () => tick_waiters.shift()?.();
const yield_now = () => new Promise((r) => { tick_waiters.push(r); tick_channel.port2.postMessage(0); });

function tokens_of(parts) {
  const e = session.engine, out = [];
  const addBos = !!e.info().add_bos;
  parts.forEach((part, i) => {
    if (!part.text) return;
    out.push(...e.tokenize(part.text, { addBos: addBos && i === 0, parseSpecial: !!part.special }));
  });
  return out;
}

// The ids a generation would evaluate for these parts (static/wasmlm.js's model.tokenize, for tests and tools).
function tokenize_run({ parts }) {
  if (!session.engine) throw fail("tokenize", "no model is loaded yet");
  post(to_page.tokens(tokens_of(parts)));
}

function prefix_common(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

async function generate_run({ parts, sampling = {}, max_tokens }) {
  if (!session.engine) throw fail("generate", "no model is loaded yet");
  if (session.busy) throw fail("generate", "still busy with the previous request");
  const t0 = now();
  const ids = tokens_of(parts);
  if (!ids.length) throw fail("generate", "the prompt is empty");
  // Room for at least a short answer; the page drops old turns and asks again when this says too long.
  const room = Math.min(max_tokens, Math.max(16, session.nCtx >> 3));
  if (ids.length + room > session.nCtx) {
    return post(to_page.done("prompt_too_long", { prompt_tokens: ids.length, n_ctx: session.nCtx, room }));
  }
  Object.assign(session, { busy: true, stopping: false });
  try {
    const prompt = await prompt_eval(ids);
    const answer = await answer_generate(ids, sampling, max_tokens, t0);
    post(to_page.done(answer.reason, generation_stats(ids, prompt, answer)));
  } finally {
    session.busy = false;
  }
}

// Keeps the KV cache's prefix shared with `ids` and evaluates the rest (at least one token, for logits),
// in batches between which Stop is seen. Resolves with {reused, evaluated, ms}.
async function prompt_eval(ids) {
  const e = session.engine;
  const reused = Math.min(prefix_common(session.evaluated, ids), ids.length - 1);
  e.truncate(reused);
  e.resetStats();        // the engine's counters then describe this turn alone
  session.evaluated = ids.slice(0, reused);
  const fresh = ids.slice(reused);
  const t0 = now();
  for (let i = 0; i < fresh.length && !session.stopping; i += PROMPT_BATCH) {
    const batch = fresh.slice(i, i + PROMPT_BATCH);
    e.eval(Int32Array.from(batch));
    session.evaluated.push(...batch);
    await yield_now();
  }
  return { reused, evaluated: fresh.length, ms: now() - t0 };
}

// Samples and posts tokens until end-of-generation, max_tokens, a full context or Stop. Resolves with
// {reason, generated, ttft (from t0, the request), ms, firstAt}.
async function answer_generate(ids, sampling, maxTokens, t0) {
  const e = session.engine;
  const sampler = e.sampler(sampler_options(sampling));
  const decoder = new TextDecoder("utf-8");
  const out = { reason: "length", generated: 0, ttft: null, ms: 0, firstAt: 0 };
  const tGen = now();
  try {
    for (const id of ids) sampler.accept(id); // the sampler keeps its own window of them
    while (!session.stopping && out.generated < maxTokens) {
      const id = sampler.sample();
      if (e.isEog(id)) { out.reason = "eog"; break; }
      out.generated++;
      post(to_page.token(decoder.decode(new Uint8Array(e.piece(id)), { stream: true }), id));
      if (out.ttft === null) { out.firstAt = now(); out.ttft = out.firstAt - t0; }
      if (e.nPast() >= session.nCtx) { out.reason = "context_full"; break; }
      e.eval(Int32Array.of(id));
      session.evaluated.push(id);
      await yield_now();
    }
    if (session.stopping) out.reason = "stop";
  } finally {
    sampler.free();
  }
  const tail = decoder.decode();
  if (tail) post(to_page.token(tail, -1));
  out.ms = now() - tGen;
  return out;
}

// The request's sampling (OpenAI-style names) as the engine's sampler options; absent ones keep its defaults.
function sampler_options({ temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed }) {
  return { temperature, topK: top_k, topP: top_p, minP: min_p, repeatPenalty: repeat_penalty, repeatLastN: repeat_last_n, seed };
}

// done.stats (docs/contracts.md).
function generation_stats(ids, prompt, answer) {
  const e = session.engine;
  const end = now();
  return {
    ttft_ms: answer.ttft,
    prompt_tokens: ids.length,
    reused_tokens: prompt.reused,
    evaluated_tokens: prompt.evaluated,
    prompt_ms: prompt.ms,
    prompt_tps: prompt.evaluated / Math.max(prompt.ms, 1e-3) * 1000,
    generated_tokens: answer.generated,
    gen_ms: answer.ms,
    gen_tps: answer.generated > 1 ? (answer.generated - 1) / Math.max(end - answer.firstAt, 1e-3) * 1000 : null,
    n_past: e.nPast(),
    n_ctx: session.nCtx,
    build: session.build.name,
    threads: session.build.threads,
    engine: e.stats(),
  };
}

function stop_run() {
  session.stopping = true;
}

// A running generation is stopped; the next one keeps only the prefix it shares with the cache.
function reset_run() {
  session.stopping = true;
  if (session.busy || !session.engine) return;
  session.engine.truncate(0);
  session.evaluated = [];
}
