// window.wllamaBench.run(options) loads a GGUF into wllama and times one greedy completion.
// Served by e2e/pageserver.py with the npm packages mounted at /wllama/ and /wllama-compat/ (the .wasm
// files ship inside them).
import { Wllama, CacheManager } from "/wllama/esm/index.js";

const WASM_PATHS = { default: "/wllama/esm/wasm/wllama.wasm" };
// Engines without memory64 or JSPI (WebKitGTK) get wllama's wasm32 build from the npm package
// @wllama/wllama-compat, mounted at /wllama-compat/, instead of its default download from a CDN.
const COMPAT = { wasm: "/wllama-compat/wasm/wllama.wasm", worker: "/wllama-compat/wasm/wllama.js" };

// WebKitGTK has no origin-private file system, wllama's default cache: keep the model in page memory.
class MemoryBackend {
  files = new Map();
  isSupported() { return true; }
  async read(key) { return this.files.get(key) ?? null; }
  async write(key, stream) { this.files.set(key, await new Response(stream).blob()); }
  async getSize(key) { return this.files.get(key)?.size ?? -1; }
  async list() { return [...this.files].map(([key, blob]) => ({ key, size: blob.size })); }
  async delete(key) { this.files.delete(key); }
}

async function opfs_usable() {
  try {
    await navigator.storage.getDirectory();
    return true;
  } catch {
    return false;
  }
}

let cache = null;  // one per page, so that a second load in the same page is a warm one

async function cache_get() {
  if (!cache) {
    cache = (await opfs_usable())
      ? { manager: new CacheManager(), kind: "opfs" }
      : { manager: new CacheManager([new MemoryBackend()]), kind: "memory" };
  }
  return cache;
}

async function run({ modelUrl, prompt, maxTokens, threads, nCtx }) {
  const { manager, kind } = await cache_get();
  const wllama = new Wllama(WASM_PATHS, { cacheManager: manager, suppressNativeLog: true });
  wllama.setCompat(COMPAT);
  const t0 = performance.now();
  await wllama.loadModelFromUrl(modelUrl, { n_threads: threads, n_ctx: nCtx, n_gpu_layers: 0 });
  const loadMs = performance.now() - t0;
  let text = "", tFirst = null, timings = null, chunks = 0;
  const tGen = performance.now();
  const stream = await wllama.createCompletion({
    prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true,
  });
  for await (const chunk of stream) {
    const piece = chunk.choices?.[0]?.text ?? "";
    if (piece && tFirst === null) tFirst = performance.now();
    text += piece;
    chunks++;
    if (chunk.timings) timings = chunk.timings;
  }
  const tEnd = performance.now();
  const multiThread = wllama.isMultithread();
  await wllama.exit();
  return {
    cache: kind, multi_thread: multiThread, load_ms: loadMs, ttft_ms: tFirst - tGen,
    gen_ms: tEnd - tGen, text, chunks, timings,
  };
}

window.wllamaBench = { run, ready: true };
