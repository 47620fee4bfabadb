// Shard loading logic: memory planning, scheduling, resume, retry, integrity and progress.
// No DOM and no wasm here: fetch, cache, clock and the byte sink are passed in, so Node can
// drive every decision with small fakes while the worker gives it the real ones.

export const WASM32_LIMIT = 4 * 1024 ** 3;
const MiB = 1024 ** 2;

// ---- memory planning -------------------------------------------------------------------

// Room the engine needs besides weights and KV: logits, activations, attention rows, a
// prompt batch, plus the runtime (stack, JS glue, Brotli staging). Deliberately generous:
// refusing up front is cheap, running out of memory after a 250 MB download is not.
export function scratch_estimate(manifest, nCtx) {
  const vocab = manifest.vocab_size || 0;
  return vocab * 4 * 2 + nCtx * 4 * 64 + 48 * MiB;
}

// Bytes of one cached value for each KV cache type (the engine's create({kvType})): f16, and
// q8_0's blocks of 32 int8 values with one fp16 scale.
export const KV_VALUE_BYTES = { f16: 2, q8_0: 34 / 32 };

// A context shorter than this is not worth a download (a system prompt and a few turns); fitted
// contexts are multiples of CTX_STEP.
export const CTX_MIN = 512;
const CTX_STEP = 256;

// K and V of every layer for one token. Manifests name the shape (n_layer, n_head_kv, head_dim);
// older ones only kv_bytes_per_token, for float32 values: an overestimate, hence safe.
export function kv_bytes_per_token(manifest, kvType = "f16") {
  const per = KV_VALUE_BYTES[kvType];
  if (!per) throw new Error(`KV cache type '${kvType}' is not one of ${Object.keys(KV_VALUE_BYTES).join(", ")}`);
  const { n_layer: l, n_head_kv: h, head_dim: d } = manifest;
  if (l > 0 && h > 0 && d > 0) return Math.ceil(2 * l * h * d * per);
  return manifest.kv_bytes_per_token || 0;
}

// What loading `manifest` will take in wasm memory: weights + KV cache for the context + scratch
// (which includes the engine's own runtime), against wasm32's 4 GiB and the page's budget (from
// the device's memory). Decided before the first shard is fetched. When nCtx does not fit, the
// plan takes the largest context that does (a multiple of CTX_STEP, at least CTX_MIN) and says so
// in `note`; when not even CTX_MIN fits, fits is false and `reason` names the sizes and the fix.
export function memory_plan(manifest, { nCtx, budget = WASM32_LIMIT, kvType = "f16" }) {
  if (!manifest?.gguf?.size) throw new Error("manifest has no gguf.size");
  if (!(nCtx > 0)) throw new Error(`context length must be positive, got ${nCtx}`);
  const weights = manifest.gguf.size;
  const perToken = kv_bytes_per_token(manifest, kvType);
  const limit = Math.min(budget || WASM32_LIMIT, WASM32_LIMIT);
  const need = (n) => weights + perToken * n + scratch_estimate(manifest, n);
  let ctx = nCtx;
  let note = "";
  if (need(ctx) > limit) {
    const room = limit - need(0);
    const fitted = Math.floor(room / (perToken + scratch_estimate(manifest, 1) - scratch_estimate(manifest, 0)) / CTX_STEP) * CTX_STEP;
    if (fitted >= CTX_MIN && fitted < nCtx) {
      ctx = fitted;
      note = `the context is ${ctx} tokens instead of ${nCtx}, so that ${manifest.name || manifest.id} fits in ` +
        `${limit_name(limit)} (KV cache ${kvType}${kvType === "q8_0" ? "" : "; the q8_0 KV cache would allow " + Math.min(nCtx, plan_ctx_max(manifest, limit, "q8_0", need)) + " tokens"})`;
    }
  }
  const kv = perToken * ctx;
  const scratch = scratch_estimate(manifest, ctx);
  const total = weights + kv + scratch;
  const plan = { weights, kv, scratch, total, limit, n_ctx: ctx, kv_type: kvType, fits: total <= limit, note, reason: "" };
  if (!plan.fits) {
    plan.reason = `${manifest.name || manifest.id} needs ${mib(total)} (weights ${mib(weights)}, ` +
      `KV cache for ${ctx} tokens in ${kvType} ${mib(kv)}, scratch ${mib(scratch)}), more than ${limit_name(limit)}. ` +
      (need(CTX_MIN) > limit && weights + scratch_estimate(manifest, CTX_MIN) > limit
        ? "The weights alone leave no room: choose a smaller quantization or a smaller model."
        : `Choose ${kvType !== "q8_0" && kv > 0 ? "the q8_0 KV cache, " : ""}a shorter context, a smaller quantization or a smaller model.`);
  }
  return plan;
}

function limit_name(limit) {
  return limit === WASM32_LIMIT ? "the 4 GiB WebAssembly limit" : `this page's memory budget (${mib(limit)})`;
}

// The longest context (a multiple of CTX_STEP) that fits with another KV cache type.
function plan_ctx_max(manifest, limit, kvType, need) {
  const per = kv_bytes_per_token(manifest, kvType) + scratch_estimate(manifest, 1) - scratch_estimate(manifest, 0);
  return Math.max(0, Math.floor((limit - need(0)) / per / CTX_STEP) * CTX_STEP);
}

export function mib(n) {
  return `${(n / MiB).toFixed(n < 10 * MiB ? 1 : 0)} MiB`;
}

// ---- HTTP resume arithmetic ----------------------------------------------------------

// Offsets are in the *encoded* file: that is what the server's Range refers to.
export function range_headers(received) {
  return received > 0 ? { Range: `bytes=${received}-` } : {};
}

// How many leading body bytes to drop so that the stream continues at `received`.
// A 206 must start exactly there; a 200 means the server ignored the Range and resent all.
export function body_skip(status, contentRange, received) {
  if (received === 0) {
    if (status === 200) return 0;
    throw new Error(`unexpected HTTP ${status} for a whole-file request`);
  }
  if (status === 200) return received;
  if (status !== 206) throw new Error(`unexpected HTTP ${status} for a Range request`);
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange || "");
  if (!m || Number(m[1]) !== received) {
    throw new Error(`server resumed at the wrong place (Content-Range: ${contentRange || "missing"}, wanted ${received})`);
  }
  return 0;
}

// ---- retry policy ----------------------------------------------------------------------

export const RETRY = { attempts: 4, baseMs: 400, maxMs: 8000 };

// A transfer that sends nothing for this long is given up and resumed with Range like a dropped
// one: a stalled connection or server would otherwise hang the load for good.
export const STALL_MS = 20000;

// Exponential backoff with a little deterministic jitter so parallel shards do not retry in lockstep.
export function retry_delay(attempt, index = 0, { baseMs, maxMs } = RETRY) {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (1 + ((index * 7919) % 100) / 400));
}

// 4xx other than 408/429 will not get better by asking again; 5xx and network errors may.
export function http_retryable(status) {
  return status === 408 || status === 429 || status >= 500;
}

// ---- integrity -------------------------------------------------------------------------

// What to do once a shard's decoded bytes are hashed.
export function integrity_decision({ source, expected, actual, failures, attempts = RETRY.attempts }) {
  if (actual === expected) return "use";
  if (source === "cache") return "evict";   // a bad cache entry is deleted and fetched again
  return failures + 1 < attempts ? "refetch" : "fail";
}

// ---- progress --------------------------------------------------------------------------

// Decoded bytes per shard, summed and clamped; speed over a short sliding window.
export class Progress {
  constructor(total, now, windowMs = 3000) {
    this.total = total;
    this.now = now;
    this.windowMs = windowMs;
    this.per = new Map();
    this.samples = [];
  }

  set(index, decoded) {
    this.per.set(index, decoded);
  }

  bytes() {
    let sum = 0;
    for (const v of this.per.values()) sum += v;
    return Math.min(sum, this.total);
  }

  snapshot() {
    const t = this.now();
    const bytes = this.bytes();
    this.samples.push([t, bytes]);
    while (this.samples.length > 2 && t - this.samples[1][0] >= this.windowMs) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const dt = (t - t0) / 1000;
    const rate = dt > 0 ? Math.max(0, bytes - b0) / dt : 0;
    const left = this.total - bytes;
    return {
      bytes,
      total: this.total,
      mbps: rate / 1e6,
      eta_s: left === 0 ? 0 : rate > 0 ? left / rate : null,
    };
  }
}

// ---- scheduling ------------------------------------------------------------------------

// Runs fn over items with at most `limit` in flight; the first failure stops new starts and rejects.
export async function run_limited(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  let failed = null;
  async function lane() {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        failed ??= err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw failed;
  return results;
}

// ---- one shard ---------------------------------------------------------------------------

export class ShardError extends Error {
  constructor(shard, message, advice) {
    super(`shard ${shard.index} (${shard.file}): ${message}. ${advice}`);
    this.name = "ShardError";
    this.where = `shard ${shard.index} (${shard.file})`;
  }
}

const ADVICE_CORRUPT = "The file on the server does not match its manifest: re-pack the model (wasmlm pack) and reload.";
const ADVICE_NETWORK = "Check the connection and the server, then reload: shards already loaded are kept.";

// Entries hold decoded bytes, so they are named by the decoded sha256 (the same for br and identity packing).
export function cache_key(shard) {
  return shard.sha256;
}

export class Stalled extends Error {}

// `promise`, or a Stalled rejection after `ms` without it settling (no limit when ms is 0).
async function within(promise, ms, what) {
  if (!ms) return promise;
  let timer;
  const stalled = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Stalled(`${what}: nothing for ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

// Streams a body into the sink, dropping the first `skip` bytes; onChunk(n) after each piece.
async function body_pump(body, skip, sink, onChunk, stallMs = 0) {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await within(reader.read(), stallMs, "the transfer stalled");
      if (done) return;
      let chunk = value;
      if (skip > 0) {
        const drop = Math.min(skip, chunk.length);
        skip -= drop;
        chunk = chunk.subarray(drop);
        if (!chunk.length) continue;
      }
      sink.write(chunk);
      onChunk(chunk.length);
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  }
}

// Marks errors that mean "these bytes are wrong" (decoder or size), not "the transfer broke".
export class CorruptBytes extends Error {}

// A cheap check of a shard's decoded bytes, kept beside them in the cache: two running sums over
// 32-bit words (Fletcher-like: a changed, lost or moved word changes it). The bytes were verified by
// sha256 once, when stored; a warm load runs this instead (~30 ms for 100 MB against ~250 ms of sha256).
export function bytes_check(u8) {
  const v = u8.byteOffset & 3 ? u8.slice() : u8;   // words from the first byte, wherever it lies
  const words = v.length >> 2;
  const w = new Int32Array(v.buffer, v.byteOffset, words);
  let a = 0, b = 0;
  for (let i = 0; i < words; i++) { a = (a + w[i]) | 0; b = (b + a) | 0; }
  for (let i = words * 4; i < v.length; i++) { a = (a + v[i]) | 0; b = (b + a) | 0; }
  return `${v.length}:${(a >>> 0).toString(16)}:${(b >>> 0).toString(16)}`;
}

// A cached shard read that sends nothing for this long is given up like a corrupt entry: the local
// disk answers in milliseconds, so this only has to outlast a busy machine. It bounds the asynchronous
// reads (the Cache API's); the file store's read is synchronous and cannot be given up (docs/loading.md).
export const CACHE_STALL_MS = 10000;

// Places a cached shard's decoded bytes. An entry is {size, check, read_into(target) -> (promise of) the
// number of bytes it holds, close()}: read_into fills target(), the shard's place in wasm memory, only when
// it holds exactly that many bytes (asked for when the bytes are at hand: the memory may have grown); close()
// releases it (the file store's lock), called once whatever happened. Any failure (wrong size, a check that
// differs, a read that errs or stalls) means "this entry is bad": the caller evicts it and fetches the shard
// again. A read given up on gets no target any more, so a late one cannot overwrite the fetched bytes.
async function cache_read(shard, entry, sink, stallMs) {
  let open = true;
  try {
    if (entry.size !== shard.size) return `it holds ${entry.size} bytes, the manifest says ${shard.size}`;
    let n;
    try {
      n = await within(Promise.resolve().then(() => entry.read_into(() => (open ? sink.target() : null))),
        stallMs, "reading the cache");
    } catch (err) {
      return err instanceof Stalled ? `reading it stalled (${err.message})` : `reading it failed (${err.message || err})`;
    }
    if (n !== shard.size) return `it held ${n} bytes, the manifest says ${shard.size}`;
    sink.placed(n);
    if (sink.checksum() !== entry.check) return "its bytes changed since they were verified";
    return "";
  } finally {
    open = false;
    entry.close();
  }
}

// Loads one shard through `sink` ({write(encoded u8), target() -> the shard's place in wasm memory (a fresh
// view), placed(n) (n decoded bytes were put there directly), decoded(), finish() -> sha256 hex (or a promise
// of it), checksum() -> bytes_check of the decoded bytes, bytes() -> a copy of them, reset()}): from the
// cache when it holds a good copy of the decoded bytes, else from the network with resume and retries.
export async function shard_load(shard, ctx) {
  const report = () => ctx.onBytes(Math.min(ctx.sink.decoded(), shard.size));
  if (await shard_from_cache(shard, ctx, report)) return { source: "cache", requests: 0 };
  return shard_from_network(shard, ctx, report);
}

// True when the cache held a good copy, now in place; a bad entry is evicted, with a notice.
async function shard_from_cache(shard, { cache, sink, cacheStallMs = CACHE_STALL_MS, onNotice }, report) {
  if (!cache.enabled()) return false;
  const entry = await cache.get(cache_key(shard));
  if (!entry) return false;
  const bad = await cache_read(shard, entry, sink, cacheStallMs);
  if (!bad) {
    report();
    return true;
  }
  await cache.remove(cache_key(shard));
  onNotice?.(`shard ${shard.index} (${shard.file}) was corrupt in the cache (${bad}); fetching it again`);
  sink.reset();
  report();
  return false;
}

// Downloads the shard until its decoded bytes match the manifest (a corrupt copy is fetched again, up to
// `attempts` times), then hands a copy to the cache: stored decoded, once verified, a warm load needs
// neither Brotli nor sha256.
async function shard_from_network(shard, ctx, report) {
  const { cache, sink, attempts = RETRY.attempts } = ctx;
  const counts = { requests: 0, networkErrors: 0 };
  for (let failures = 0; ; failures++) {
    const cut = await shard_transfer(shard, ctx, counts, report);
    const { actual, corrupt } = cut ? { actual: null, corrupt: cut } : await sink_finish(sink);
    const decision = integrity_decision({ source: "network", expected: shard.sha256, actual, failures, attempts });
    if (decision === "use") {
      if (cache.enabled()) cache.put(cache_key(shard), { bytes: sink.bytes(), size: shard.size, check: sink.checksum() });
      return { source: "network", requests: counts.requests };
    }
    const what = corrupt || `sha256 of the decoded bytes is ${actual.slice(0, 12)}…, the manifest says ${shard.sha256.slice(0, 12)}…`;
    if (decision === "fail") throw new ShardError(shard, `corrupt after ${failures + 1} downloads: ${what}`, ADVICE_CORRUPT);
    sink.reset();
    report();
  }
}

// One whole transfer of the encoded file into the sink, resumed with Range after interruptions and
// retried after network errors (`counts` carries requests and errors across transfers). Resolves with
// null, or with why the bytes are corrupt.
async function shard_transfer(shard, ctx, counts, report) {
  const { fetch, sink, sleep, url, attempts = RETRY.attempts, stallMs = STALL_MS } = ctx;
  let received = 0;
  while (received < shard.encoded_size) {
    const abort = new AbortController();
    try {
      counts.requests++;
      const resp = await within(fetch(url, { headers: range_headers(received), cache: "no-store", signal: abort.signal }),
        stallMs, "the server did not answer");
      response_check(shard, resp);
      const skip = body_skip(resp.status, resp.headers.get("Content-Range"), received);
      await body_pump(resp.body, skip, sink, (n) => { received += n; report(); }, stallMs);
      if (received < shard.encoded_size && ++counts.networkErrors >= attempts * 2) {
        throw new ShardError(shard, `the transfer kept ending early (${received} of ${shard.encoded_size} bytes)`, ADVICE_NETWORK);
      }
    } catch (err) {
      if (err instanceof Stalled) abort.abort();  // closes the connection the browser would keep
      if (err instanceof ShardError) throw err;
      if (err instanceof CorruptBytes) return err.message;
      if (++counts.networkErrors >= attempts * 2) {
        throw new ShardError(shard, `download failed after ${counts.requests} requests (${err.message})`, ADVICE_NETWORK);
      }
      await sleep(retry_delay(counts.networkErrors, shard.index));
    }
  }
  return received > shard.encoded_size ? `the file is ${received} bytes, the manifest says ${shard.encoded_size}` : null;
}

// An answer that is not a success: final (a ShardError) or worth retrying (an Error).
function response_check(shard, resp) {
  if (resp.ok) return;
  const msg = `HTTP ${resp.status} ${resp.statusText || ""}`.trim();
  if (!http_retryable(resp.status)) throw new ShardError(shard, `the server answered ${msg}`, ADVICE_NETWORK);
  throw new Error(msg);
}

// {actual: the decoded bytes' sha256} or {corrupt: why the decoder or the size says they are wrong}.
async function sink_finish(sink) {
  try {
    return { actual: await sink.finish(), corrupt: null };
  } catch (err) {
    if (!(err instanceof CorruptBytes)) throw err;
    return { actual: null, corrupt: err.message };
  }
}

// ---- all shards ---------------------------------------------------------------------------

// Why caching stopped. A full quota says what it means for a model of this size and what helps.
export function caching_off_notice(err, modelBytes) {
  const why = `caching is off (${err?.message || err})`;
  if (err?.name !== "QuotaExceededError") return `${why}; the model will be downloaded again next time`;
  return `${why}: the browser's storage for this site is full, and the model needs ${mib(modelBytes)} of it. ` +
    "It works now, but will be downloaded again next time; free space (other sites' data in the browser's " +
    "settings, or models loaded earlier) so that it can be kept. A private window keeps far less (Chromium: ~1.4 GiB) " +
    "whatever its estimate says: load large models in a normal window.";
}

// Loads every shard of `manifest` into sinks from `open_sink(shard)` (which may wait for the engine:
// requests start first so the download overlaps compilation). Resolves with load statistics.
export async function shards_load(manifest, ctx) {
  const { baseUrl, now, concurrency = 4 } = ctx;
  verify_tiling(manifest);
  const stats = { fromCache: 0, fromNetwork: 0, requests: 0, startMs: now(), endMs: 0 };
  const progress = progress_ticker(manifest.gguf.size, now, ctx.onProgress);
  const cache = cache_guarded(ctx, manifest.gguf.size);
  await run_limited(manifest.shards, concurrency, async (shard) => {
    const result = await shard_load(shard, {
      ...ctx, url: new URL(shard.file, baseUrl).href, sink: await ctx.open_sink(shard), cache,
      onBytes: (n) => progress.set(shard.index, n),
    });
    progress.set(shard.index, shard.size, true);   // a finished shard is always reported: later bytes may never carry it
    stats.requests += result.requests;
    if (result.source === "cache") stats.fromCache++; else stats.fromNetwork++;
  });
  await cache.settled();
  progress.flush();
  return { ...stats, endMs: now(), caching: cache.enabled() };
}

// Progress of every shard, reported at most every 100 ms unless forced.
function progress_ticker(total, now, onProgress) {
  const progress = new Progress(total, now);
  let last = 0;
  const flush = () => { last = now(); onProgress?.(progress.snapshot()); };
  return {
    set: (index, decoded, force = false) => {
      progress.set(index, decoded);
      if (force || now() - last >= 100) flush();
    },
    flush,
  };
}

// The page's cache behind a guard: a call that fails, or does not settle, turns caching off (with a
// notice) and loading goes on from the network. Writes run while other shards load; settled() waits
// for them all, so a reload right after "ready" finds every entry.
function cache_guarded(ctx, modelBytes) {
  let on = ctx.cache.enabled();
  const puts = [];
  const off = (err) => {
    if (!on) return;
    on = false;
    ctx.onNotice?.(caching_off_notice(err, modelBytes));
  };
  const guard = async (fn) => {
    try {
      return await within(fn(), ctx.stallMs ?? STALL_MS, "the browser's cache did not answer");
    } catch (err) {
      off(err);
      return null;
    }
  };
  return {
    enabled: () => on,
    get: (k) => guard(() => ctx.cache.get(k)),
    remove: (k) => guard(() => ctx.cache.remove(k)),
    put: (k, entry) => { puts.push(guard(() => ctx.cache.put(k, entry))); },
    settled: () => Promise.all(puts),
  };
}

// What the packer writes (server/wasmlm/manifest.py: Shard.encoding).
const ENCODINGS = new Set(["br", "identity"]);

export function shard_is_brotli(shard) {
  return shard.encoding === "br";
}

// Shards must tile [0, gguf.size) in order: the worker writes each at its offset.
export function verify_tiling(manifest) {
  let at = 0;
  manifest.shards.forEach((s, i) => {
    if (s.index !== i || s.offset !== at || !(s.size > 0) || !(s.encoded_size > 0)) {
      throw new Error(`manifest: shard ${i} (${s.file}) does not continue at byte ${at}`);
    }
    if (!ENCODINGS.has(s.encoding)) throw new Error(`manifest: shard ${i} has unknown encoding "${s.encoding}"`);
    at += s.size;
  });
  if (at !== manifest.gguf.size) throw new Error(`manifest: shards cover ${at} bytes, gguf.size is ${manifest.gguf.size}`);
}
