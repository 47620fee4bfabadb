// engine.js: the wasm engine (build/wasm/wasmlm-*.js) behind a small class. The same module runs
// in the browser's model worker (static/worker.js) and in Node.js (tests/engine/test_builds.py).
//
// Every call goes through the C API of wasm/api.h. Pointers are unsigned (`>>> 0`: above 2 GiB
// they come back negative), and views of wasm memory are taken afresh after anything that can
// grow it, because growth replaces the buffer.

const IS_NODE = typeof process === "object" && typeof process.versions?.node === "string";

export class EngineError extends Error {
  // code: a negative wl_status, or null where the C call returned NULL (a message says why)
  constructor(code, message) {
    super(message);
    this.name = "EngineError";
    this.code = code;
  }
}

// Emscripten 3.1.6's glue under Node expects CommonJS globals even in its ES6 form.
async function node_prepare(jsUrl) {
  const { createRequire } = await import("node:module");
  const { fileURLToPath } = await import("node:url");
  const { dirname } = await import("node:path");
  globalThis.require ??= createRequire(jsUrl);
  globalThis.__dirname ??= dirname(fileURLToPath(jsUrl));
  return fileURLToPath;
}

// The mt build's memory, made here so that this thread can always see its current size: it is
// shared and may grow from any thread, which leaves the glue's views on this one stale. The
// limits are those the build declares (16 MiB initial, -sMAXIMUM_MEMORY=4GB in wasm/Makefile).
const shared_memory = () => new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });

// Builds with pthreads share their memory; the relaxed-SIMD builds are linked with -sWASM_BIGINT
// (wasm/relaxed.mk), so their 64-bit arguments are BigInts.
const build_threaded = (build) => build === "mt" || build === "relaxed-mt";
const build_relaxed = (build) => build.startsWith("relaxed");
const build_bigint = build_relaxed;

// A function of one i16x8.relaxed_dot_i8x16_i7x16_s: validates only where relaxed SIMD runs
// (Chromium, Firefox; not WebKit, nor Node.js 20 without --experimental-wasm-relaxed-simd).
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0,
  65, 0, 253, 15, 65, 0, 253, 15, 253, 146, 2, 11]);
export const relaxedSimdSupported = () => WebAssembly.validate(RELAXED_PROBE);

// Node.js 20 has relaxed SIMD behind a flag, which V8 still takes before the first module that
// uses it is compiled (it holds for the whole process, pthread workers included).
async function node_relaxed_enable() {
  if (relaxedSimdSupported()) return;
  (await import("node:v8")).setFlagsFromString("--experimental-wasm-relaxed-simd");
  if (!relaxedSimdSupported()) throw new EngineError(null, "this Node.js cannot run relaxed SIMD: use the simd build");
}

// Bytes (an ArrayBuffer or a view) as lowercase hex, as the manifest writes sha256.
export const hex_of = (bytes) => Array.from(new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength), (x) => x.toString(16).padStart(2, "0")).join("");

// Starts one build of the engine. `build` is "simd", "mt", "scalar", "debug", "relaxed" or
// "relaxed-mt" (the relaxed ones need Node.js's --experimental-wasm-relaxed-simd); by default the
// files are looked up in build/wasm/ of the repository (workerUrl: the mt build's pthread
// script, when its name is not jsUrl's with .worker.js). `threads` is the most the mt build may
// use: its Web Workers are made up front, because a thread cannot start while wasm is running.
export async function loadEngine({ build = "simd", wasmUrl, jsUrl, workerUrl, wasmBinary, threads = 1 } = {}) {
  jsUrl = String(jsUrl ?? new URL(`../build/wasm/wasmlm-${build}.js`, import.meta.url));
  wasmUrl = String(wasmUrl ?? jsUrl.replace(/\.js$/, ".wasm"));
  workerUrl = String(workerUrl ?? jsUrl.replace(/\.js$/, ".worker.js"));
  if (IS_NODE) {
    const toPath = await node_prepare(jsUrl);
    const { readFile } = await import("node:fs/promises");
    wasmBinary ??= await readFile(toPath(wasmUrl));
    workerUrl = toPath(workerUrl.replace(/\.js$/, ".cjs")); // Node needs it as CommonJS: see wasm/Makefile
    if (build_relaxed(build)) await node_relaxed_enable();
  }
  const memory = build_threaded(build) ? shared_memory() : null;
  const trace = start_trace(build);
  trace("importing the glue");
  const { default: createWasmlm } = await import(jsUrl);
  trace("instantiating");
  const m = await createWasmlm({
    wasmBinary,
    wasmMemory: memory ?? undefined,
    locateFile: (path) => (path.endsWith(".wasm") ? wasmUrl : path.endsWith(".worker.js") ? workerUrl : new URL(path, jsUrl).href),
    mainScriptUrlOrBlob: jsUrl, // what each pthread worker imports
    pthreadPoolSize: Math.max(1, threads - 1),
    monitorRunDependencies: (left) => trace(`${left} start-up dependencies left (the wasm, and the mt build's thread workers)`),
  });
  trace("ready");
  return new Engine(m, build, threads, memory);
}

// Console lines (debug level) of an engine's start in a browser, with their times: what was last reached
// when a start never ends (docs/loading.md, "The Firefox start-up hang"; e2e.loadloop prints them).
function start_trace(build) {
  if (IS_NODE) return () => {};
  return (what) => console.debug(`wasmlm engine ${build}: ${what} at ${Math.round(performance.now())} ms`);
}

const utf8_encoder = new TextEncoder();

// KV cache types by name, as ggml type ids (wl_engine_init_kv); static/loader.js's KV_VALUE_BYTES
// has their sizes for the memory plan.
export const KV_TYPES = { f16: 1, q8_0: 8 };

class Engine {
  constructor(m, build, threads, memory) {
    this.m = m;
    this.memory = memory; // the mt build's shared memory, else null
    this.build = build;
    this.threads = threads;
    this.e = 0;           // wl_engine*
    this.scratchPtr = 0;  // one reusable region for arguments and results
    this.scratchCap = 0;
  }

  malloc(n) { return this.m._malloc(n) >>> 0; }
  free(p) { this.m._free(p); }
  // Room for the model file: unlike malloc, it may be more than 2 GiB (wl_gguf_alloc in api.h).
  ggufAlloc(n) { return this.m._wl_gguf_alloc(n) >>> 0; }
  ggufFree(p) { this.m._wl_gguf_free(p); }
  // The memory as it is now: growth replaces the buffer, so take views afresh after each call.
  buffer() { return this.memory ? this.memory.buffer : this.m.HEAPU8.buffer; }
  heap() { return new Uint8Array(this.buffer()); }

  fail(code) {
    return new EngineError(code < 0 ? code : null, this.m.UTF8ToString(this.m._wl_last_error()));
  }
  check(rc) {
    if (rc < 0) throw this.fail(rc);
    return rc;
  }
  engine() {
    if (!this.e) throw new EngineError(null, "no model: call create() first");
    return this.e;
  }

  // A region of at least n bytes, valid until the next scratch() call.
  scratch(n) {
    if (n > this.scratchCap) {
      if (this.scratchPtr) this.free(this.scratchPtr);
      this.scratchCap = Math.max(n, 2 * this.scratchCap, 4096);
      this.scratchPtr = this.malloc(this.scratchCap);
      if (!this.scratchPtr) {
        this.scratchCap = 0;
        throw new EngineError(-9, `out of wasm memory for ${n} bytes`);
      }
    }
    return this.scratchPtr;
  }

  // A C function that writes text into (out, cap) snprintf-style, as a string.
  text_of(call, cap = 4096) {
    for (;;) {
      const p = this.scratch(cap);
      const n = this.check(call(p, cap));
      if (n < cap) return this.m.UTF8ToString(p, n);
      cap = n + 1;
    }
  }

  // ---- the model

  // kvType: "f16" (default) or "q8_0" (half the KV cache's memory; KV_TYPES).
  create(ptr, size, { nCtx = 0, threads = this.threads, kvType = "f16" } = {}) {
    if (this.e) throw new EngineError(-10, "a model is already loaded in this engine");
    if (!(kvType in KV_TYPES)) throw new EngineError(-1, `KV cache type '${kvType}' is not one of ${Object.keys(KV_TYPES).join(", ")}`);
    this.e = this.m._wl_engine_init_kv(ptr, size, nCtx, threads, KV_TYPES[kvType]) >>> 0;
    if (!this.e) throw this.fail(null);
  }

  // The engine's own defaults (wl_defaults_json: the sampler's and the context's), snake_case as in C.
  defaults() { return JSON.parse(this.text_of((p, cap) => this.m._wl_defaults_json(p, cap))); }
  info() { return JSON.parse(this.infoJson()); }
  stats() { return JSON.parse(this.statsJson()); }
  infoJson() { return this.text_of((p, cap) => this.m._wl_engine_info_json(this.engine(), p, cap)); }
  statsJson() { return this.text_of((p, cap) => this.m._wl_stats_json(this.engine(), p, cap)); }
  resetStats() { this.m._wl_stats_reset(this.engine()); }

  tokenize(text, { addBos = true, parseSpecial = false } = {}) {
    const e = this.engine();
    const bytes = utf8_encoder.encode(text);
    let cap = bytes.length + 8;
    for (;;) {
      const textPtr = this.scratch(bytes.length + 4 * cap);
      const outPtr = textPtr + bytes.length + (4 - (bytes.length % 4)) % 4;
      this.heap().set(bytes, textPtr);
      const n = this.check(this.m._wl_tokenize(e, textPtr, bytes.length, addBos ? 1 : 0, parseSpecial ? 1 : 0, outPtr, cap));
      if (n <= cap) return new Int32Array(this.buffer(), outPtr, n).slice();
      cap = n;
    }
  }

  piece(id) {
    const e = this.engine();
    let cap = 256;
    for (;;) {
      const p = this.scratch(cap);
      const n = this.check(this.m._wl_token_piece(e, id, p, cap));
      if (n <= cap) return this.heap().slice(p, p + n);
      cap = n;
    }
  }

  // Appends ids to the context; returns the logits (n_out x n_vocab) as a view that stays valid
  // until the next call into the engine.
  eval(ids, { allLogits = false } = {}) {
    const e = this.engine();
    const p = this.scratch(4 * ids.length);
    new Int32Array(this.buffer(), p, ids.length).set(ids);
    this.check(this.m._wl_eval(e, p, ids.length, allLogits ? 1 : 0));
    const nVocab = this.m._wl_n_vocab(e);
    const logits = this.m._wl_logits(e) >>> 0;
    return new Float32Array(this.buffer(), logits, (allLogits ? ids.length : 1) * nVocab);
  }

  // Per-layer hidden states (docs/fidelity.md): the positions to keep from the next eval on
  // ([] stops), then a copy of the states, (positions, n_layer + 1, n_embd), or null.
  capture(positions) {
    const p = this.scratch(4 * Math.max(1, positions.length));
    new Int32Array(this.buffer(), p, positions.length).set(positions);
    this.check(this.m._wl_capture_positions(this.engine(), p, positions.length));
    this.capturedCount = positions.length;
  }
  capturedStates() {
    const p = this.m._wl_captured_states(this.engine()) >>> 0;
    if (!p) return null;
    const { n_layer, n_embd } = this.info();
    return new Float32Array(this.buffer(), p, this.capturedCount * (n_layer + 1) * n_embd).slice();
  }
  // Test-only fault (wl_debug_perturb): scales one layer's attention output; layer -1 turns it off.
  debugPerturb(layer, amount) { this.check(this.m._wl_debug_perturb(this.engine(), layer, amount)); }

  nPast() { return this.m._wl_n_past(this.engine()); }
  nVocab() { return this.m._wl_n_vocab(this.engine()); }
  truncate(n) { this.check(this.m._wl_kv_truncate(this.engine(), n)); }
  isEog(id) { return this.m._wl_is_eog(this.engine(), id) === 1; }

  // What options leave out is the engine's default (defaults()). temperature 0 = greedy.
  sampler(options = {}) {
    const d = this.defaults();
    const { temperature = d.temperature, topK = d.top_k, topP = d.top_p, minP = d.min_p, repeatPenalty = d.repeat_penalty,
      repeatLastN = d.repeat_last_n, seed = d.seed } = options;
    const m = this.m, e = this.engine();
    // The 64-bit seed crosses into wasm as two 32-bit halves, or as a BigInt (build_bigint).
    const lo = seed >>> 0, hi = Math.floor(seed / 2 ** 32) >>> 0;
    const s = (build_bigint(this.build)
      ? m._wl_sampler_init(temperature, topK, topP, minP, repeatPenalty, repeatLastN, (BigInt(hi) << 32n) | BigInt(lo))
      : m._wl_sampler_init(temperature, topK, topP, minP, repeatPenalty, repeatLastN, lo, hi)) >>> 0;
    if (!s) throw this.fail(null);
    const check = (rc) => this.check(rc);
    let freed = false;
    return {
      sample: () => check(m._wl_sample(s, e)),
      accept: (id) => m._wl_sampler_accept(s, id),
      free: () => { if (!freed) m._wl_sampler_free(s); freed = true; },
    };
  }

  // ---- shards: streaming Brotli into [dst, dst + cap) and SHA-256 of wasm memory

  brotli(dst, cap) {
    const m = this.m;
    const b = m._wl_brotli_init(dst, cap) >>> 0;
    if (!b) throw this.fail(null);
    let input = 0, inputCap = 0;
    return {
      // u8: the next compressed bytes. Returns 0 (more input needed), 1 (done) or a negative wl_status.
      push: (u8) => {
        if (u8.length > inputCap) {
          if (input) m._free(input);
          inputCap = Math.max(u8.length, 1 << 16);
          input = m._malloc(inputCap) >>> 0;
          if (!input) { inputCap = 0; throw new EngineError(-9, `out of wasm memory for ${u8.length} bytes`); }
        }
        this.heap().set(u8, input);
        return m._wl_brotli_push(b, input, u8.length);
      },
      written: () => m._wl_brotli_written(b) >>> 0,
      error: () => m.UTF8ToString(m._wl_last_error()),
      free: () => {
        m._wl_brotli_free(b);
        if (input) m._free(input);
        input = inputCap = 0;
      },
    };
  }

  // Hex SHA-256 of [ptr, ptr + n). Fed in pieces: V8 moves a wasm function to its optimizing
  // tier only between calls, so one call over a whole shard would run unoptimized.
  sha256(ptr, n) {
    const m = this.m;
    const h = m._wl_sha256_init() >>> 0;
    if (!h) throw this.fail(null);
    const PIECE = 1 << 18;
    for (let at = 0; at < n; at += PIECE) m._wl_sha256_update(h, ptr + at, Math.min(PIECE, n - at));
    const out = this.scratch(32);
    m._wl_sha256_final(h, out);
    return hex_of(this.heap().subarray(out, out + 32));
  }

  dispose() {
    if (this.e) this.m._wl_engine_free(this.e);
    if (this.scratchPtr) this.free(this.scratchPtr);
    this.e = this.scratchPtr = this.scratchCap = 0;
  }
}
