// wasmlm.js: the model in a Web Worker behind an OpenAI-style API, for the chat page and any other page.
//
//   import { load } from "/static/wasmlm.js";
//   const model = await load("/chunks/smollm2-135m-instruct-q4_1/", { onProgress: (p) => ... });
//   for await (const chunk of await model.chat.completions.create({ messages, stream: true, max_tokens: 64 }))
//     out.textContent += chunk.choices[0]?.delta?.content ?? "";
//
// Chat templates are rendered here, on the device (template.js); the server is only asked for files
// (the manifest, the shards, the engine build), never for anything that holds a conversation.
// docs/api.md is the reference; the worker's messages are those of static/messages.js.
import { prompt_parts, TemplateError } from "./template.js";
import { to_worker, WasmlmError } from "./messages.js";
import { ThreadHost } from "./thread_relay.js";

export { WasmlmError };

function abort_error(where, extra = {}) {
  const err = new WasmlmError(where, `${where}: aborted by the caller's AbortSignal`, extra);
  err.name = "AbortError";
  return err;
}

// The API's own defaults, their one home: the context a load asks for and the tokens a reply may take
// (the chat page's form starts from them). The sampler's are the engine's: `model.info.defaults`.
export const DEFAULTS = Object.freeze({ nCtx: 2048, maxTokens: 256 });

const FINISH = { eog: "stop", length: "length", context_full: "length", stop: "stop" };
const UNSUPPORTED = ["tools", "functions", "logprobs", "response_format", "logit_bias"];
let serial = 0;

// ---- loading ------------------------------------------------------------------------------------

// source: a model's base URL ("/chunks/<id>/") or its manifest URL (".../manifest.json").
// options: nCtx (DEFAULTS.nCtx; shortened when the model would not fit in memory, with a notice), kvType ("f16" or "q8_0":
// half the KV cache's memory), threads, build (an engine build name, as ?build=), memoryBudget (bytes), engineFiles ({plain name: hashed URL}),
// onProgress({phase, step, bytes, total, mbps, eta_s}), onNotice(text), signal, workerUrl, stallMs (START_STALL_MS).
export async function load(source, options = {}) {
  const { signal } = options;
  if (signal?.aborted) throw abort_error("load");
  const manifestUrl = new URL(/\.json($|\?)/.test(String(source)) ? source : `${String(source).replace(/\/?$/, "/")}manifest.json`,
    globalThis.location?.href).href;
  const manifest = await manifest_fetch(manifestUrl);
  const engineFiles = options.engineFiles ?? await engine_files_fetch();
  storage_persist(manifest, options.onNotice);
  const msg = to_worker.load({ manifest, manifest_url: manifestUrl, n_ctx: options.nCtx ?? DEFAULTS.nCtx, kv_type: options.kvType,
    memory_budget: options.memoryBudget, engine_files: engineFiles, threads: options.threads, build: options.build });
  for (let attempt = 1; ; attempt++) {
    const worker = new Worker(options.workerUrl ?? new URL("./worker.js", import.meta.url), { type: "module" });
    const model = new Model(worker, manifest, options);
    try {
      return await model._load(msg, signal, options.stallMs ?? START_STALL_MS);
    } catch (err) {
      model.dispose();
      if (!err.stalled || attempt === START_ATTEMPTS) throw err;
      options.onNotice?.(`${err.message}: starting it again`);
    }
  }
}

// A step before the download (worker.js: step_post) that lasts this long means the worker is wedged: each
// step it waits on has its own shorter limit there (storage estimate 5 s, engine start and cache opening
// 20 s). Firefox wedged so, rarely, while starting the pthreads build: a worker blocked inside `new Worker()`,
// now avoided (static/thread_relay.js, docs/loading.md). For what is not known yet, a wedged worker is
// replaced: a new one starts normally, so the load starts over once in a new one.
const START_STALL_MS = 30000;
const START_ATTEMPTS = 2;
const STEP_WAIT = { worker: "loading its scripts", storage: "checking memory and storage",
  engine: "starting the engine", cache: "opening the cache" };
// A stalled step then asks the worker whether its event loop runs at all: the two cases have different
// causes (docs/loading.md), and the notice names which one it was.
const PING_MS = 2000;
const PING_ANSWERED = "its event loop still answers: a step it awaits never settled";
const PING_UNANSWERED = "it does not answer a ping either: its thread is blocked or gone";

// Asks the browser to keep this site's storage under pressure (only a page may ask: the worker
// cannot). A model of several GB would otherwise be the first thing evicted. Not awaited: a
// browser may show a prompt, and loading need not wait for the answer.
const PERSIST_ABOVE = 256 * 1024 ** 2;
function storage_persist(manifest, onNotice) {
  if (!(manifest?.gguf?.size > PERSIST_ABOVE) || !globalThis.navigator?.storage?.persist) return;
  navigator.storage.persist().then((granted) => {
    if (!granted) onNotice?.("the browser did not make this site's storage persistent: it may evict the cached model when space runs low");
  }, () => {});
}

async function manifest_fetch(url) {
  let resp;
  try {
    resp = await fetch(url, { cache: "no-cache" });
  } catch (err) {
    throw new WasmlmError("manifest", `could not reach the server for ${url} (${err.message})`);
  }
  if (!resp.ok) throw new WasmlmError("manifest", `${url} answered HTTP ${resp.status}: is the model packed on the server?`);
  try {
    return await resp.json();
  } catch {
    throw new WasmlmError("manifest", `${url} is not valid JSON: re-pack the model`);
  }
}

// The content-hashed engine URLs (cached for good); without them the worker uses the plain names.
async function engine_files_fetch() {
  try {
    const resp = await fetch(new URL("../api/engine", import.meta.url));
    return resp.ok ? await resp.json() : {};
  } catch {
    return {};
  }
}

// ---- the model ------------------------------------------------------------------------------------

class Model {
  constructor(worker, manifest, options) {
    this.manifest = manifest;
    this.id = manifest.id;
    this.name = manifest.name || manifest.id;
    this.mode = manifest.mode;          // "chat" or "completion"
    this.info = null;                   // engine info, once loaded
    this.load = null;                   // load timings
    this.stats = null;                  // engine statistics, refreshed after each generation
    this._worker = worker;
    this._options = options;
    this._op = null;                    // the operation that receives the worker's messages
    this._queue = Promise.resolve();    // operations run one at a time, in call order
    this._dead = null;                  // set when the worker has gone
    this._pong = null;                  // what a pong answers, while a ping waits
    this._threads = new ThreadHost((m) => worker.postMessage(m));   // the engine's thread workers (thread_relay.js)
    worker.onmessage = ({ data }) => this._message(data);
    worker.onerror = (ev) => this._crash(ev.message
      ? `the model's worker crashed: ${ev.message}. Load the model again.`
      : "the model's worker could not start: one of its scripts (worker.js, loader.js, engine.js or the engine build) failed to load.");
    this.chat = { completions: { create: (req) => this._create("chat", req) } };
    this.completions = { create: (req) => this._create("completion", req) };
  }

  // The prompt parts of a conversation, as create() sends them: template text is special, content never.
  render(messages, { addGenerationPrompt = true } = {}) {
    messages_check(messages);
    try {
      return prompt_parts(this.manifest, messages, { addGenerationPrompt });
    } catch (err) {
      if (err instanceof TemplateError) throw new WasmlmError("template", `${this.name}: ${err.message}`);
      throw err;
    }
  }

  // The token ids the engine would evaluate: for prompt parts, a string (plain text) or {messages}.
  tokenize(input) {
    const parts = typeof input === "string" ? [{ text: input, special: false }]
      : Array.isArray(input) ? input : this.render(input.messages, input);
    return this._run((op) => {
      op.on.tokens = (msg) => op.resolve(msg.ids);
      this._worker.postMessage(to_worker.tokenize(parts));
    });
  }

  // Forgets the KV cache (a new conversation); a generation in flight is stopped.
  reset() {
    this._worker?.postMessage(to_worker.reset());
  }

  dispose() {
    this._worker?.terminate();
    this._threads.close();
    this._crash("the model was disposed", "dispose");
    this._worker = null;
  }

  // ---- plumbing ----

  _message(msg) {
    if (this._threads.handle(msg)) return;
    if (msg.type === "notice") return this._options.onNotice?.(msg.message);
    if (msg.type === "pong") return this._pong?.();
    if (msg.type === "progress") {
      this._op?.on.progress?.(msg);
      return this._options.onProgress?.(msg);
    }
    const op = this._op;
    if (!op) return;
    if (msg.type === "error") return op.reject(new WasmlmError(msg.where || "worker", msg.message));
    op.on[msg.type]?.(msg);
  }

  // True if the worker answers a ping within ms: its event loop runs.
  _answers(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this._pong = null; resolve(false); }, ms);
      this._pong = () => { clearTimeout(timer); this._pong = null; resolve(true); };
      this._worker.postMessage(to_worker.ping());
    });
  }

  _crash(message, where = "worker") {
    this._threads.close();   // a dead model worker's threads would hold its memory
    this._dead ??= new WasmlmError(where, message);
    this._op?.reject(this._dead);
  }

  // Runs start(op) when the previous operation has finished; op.resolve/op.reject end this one.
  _run(start) {
    const run = () => new Promise((resolve, reject) => {
      if (this._dead) return reject(this._dead);
      const op = { on: {} };
      const end = (fn) => (v) => { if (this._op === op) this._op = null; op.done?.(); fn(v); };
      op.resolve = end(resolve);
      op.reject = end(reject);
      this._op = op;
      start(op);
    });
    const result = this._queue.then(run, run);
    this._queue = result.catch(() => {});
    return result;
  }

  // stallMs: how long one step before the download may last (see START_STALL_MS).
  _load(msg, signal, stallMs) {
    return this._run((op) => {
      let timer = null;
      const stalled = async (step) => {
        const alive = await this._answers(PING_MS);
        op.reject(new WasmlmError("load", `the model's worker stopped answering while ${STEP_WAIT[step] ?? step} ` +
          `(${stallMs / 1000} s; ${alive ? PING_ANSWERED : PING_UNANSWERED})`, { stalled: true }));
      };
      const watch = (step) => {
        clearTimeout(timer);
        timer = step && setTimeout(() => { op.on.progress = null; stalled(step); }, stallMs);
      };
      const onAbort = () => op.reject(abort_error("load"));
      signal?.addEventListener("abort", onAbort, { once: true });
      op.done = () => { clearTimeout(timer); signal?.removeEventListener("abort", onAbort); };
      op.on.progress = (m) => watch(m.phase === "start" ? m.step : null);
      op.on.ready = (m) => {
        Object.assign(this, { info: m.info, load: m.load, stats: m.stats });
        op.resolve(this);
      };
      watch("worker");    // until the worker's first message
      this._worker.postMessage(msg);
    });
  }

  async _create(kind, req = {}) {
    const opts = request_check(kind, req);
    const parts = kind === "chat" ? this.render(req.messages) : [{ text: req.prompt, special: false }];
    if (req.signal?.aborted) throw abort_error("generate");
    const stream = new Generation(this, kind, parts, opts, req.signal);
    await stream.started;
    return req.stream ? stream : stream.collect();
  }
}

// ---- one generation ----------------------------------------------------------------------------------

// An async iterator of OpenAI-style chunks, fed by the worker's token and done messages.
class Generation {
  constructor(model, kind, parts, opts, signal) {
    this.model = model;
    this.kind = kind;
    this.id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-wasmlm-${++serial}`;
    this.created = Math.floor(Date.now() / 1000);
    this.chunks = [];        // produced, not yet taken
    this.waiting = null;     // the consumer's pending next()
    this.error = null;
    this.finished = false;
    this.roleSent = false;
    let first;
    this.started = new Promise((resolve, reject) => { first = { resolve, reject }; });
    let mine = null;   // this generation's operation once it runs (it may wait behind another)
    const onAbort = () => { if (mine && model._op === mine) model._worker?.postMessage(to_worker.stop()); };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.done = model._run((op) => {
      mine = op;
      if (signal?.aborted) return op.reject(abort_error("generate"));
      op.on.token = (m) => { if (m.text) this.push(this.chunk_of(m.text, null)); first.resolve(); };
      op.on.done = (m) => {
        signal?.removeEventListener("abort", onAbort);
        if (m.stats?.engine) model.stats = m.stats.engine;
        if (m.reason === "prompt_too_long") {
          const s = m.stats;
          return op.reject(new WasmlmError("context", `the prompt (${s.prompt_tokens} tokens) and room for an answer `
            + `(${s.room} tokens) do not fit the ${s.n_ctx}-token context: drop old turns, shorten it or load with a larger nCtx`,
          { code: "context_full", promptTokens: s.prompt_tokens, nCtx: s.n_ctx }));
        }
        const usage = usage_of(m.stats);
        if (m.reason === "stop" && signal?.aborted) {
          return op.reject(abort_error("generate", { stats: m.stats, usage, timings: timings_of(m.stats) }));
        }
        this.push({ ...this.chunk_of(null, FINISH[m.reason] ?? "stop"), usage, timings: timings_of(m.stats), wasmlm: { ...m.stats, reason: m.reason } });
        op.resolve();
      };
      model._worker.postMessage(to_worker.generate(parts, opts.sampling, opts.maxTokens));
    });
    this.done.then(() => { this.finished = true; first.resolve(); this.wake(); },
      (err) => { this.error = err; this.finished = true; first.reject(err); this.wake(); });
    this.started.catch(() => {});
  }

  chunk_of(text, finish) {
    const base = { id: this.id, created: this.created, model: this.model.id };
    if (this.kind === "completion") {
      return { ...base, object: "text_completion", choices: [{ index: 0, text: text ?? "", logprobs: null, finish_reason: finish }] };
    }
    const delta = text == null ? {} : { content: text };
    if (!this.roleSent && text != null) { delta.role = "assistant"; this.roleSent = true; }
    return { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.wake();
  }

  wake() {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  async next() {
    for (;;) {
      if (this.chunks.length) return { value: this.chunks.shift(), done: false };
      if (this.error) { const e = this.error; this.error = null; this.errorThrown = true; throw e; }
      if (this.finished) return { value: undefined, done: true };
      await new Promise((r) => { this.waiting = r; });
    }
  }

  // A consumer that leaves the loop early stops the generation; the engine is free again once it has.
  async return() {
    if (!this.finished) this.model._worker?.postMessage(to_worker.stop());
    await this.done.catch(() => {});
    this.chunks = [];
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  // stream: false: the whole answer as one OpenAI-style object.
  async collect() {
    let text = "", last = null;
    for await (const chunk of this) {
      const c = chunk.choices[0];
      text += (this.kind === "chat" ? c.delta.content : c.text) ?? "";
      last = chunk;
    }
    const choice = this.kind === "chat"
      ? { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: last.choices[0].finish_reason }
      : { index: 0, text, logprobs: null, finish_reason: last.choices[0].finish_reason };
    return { id: this.id, object: this.kind === "chat" ? "chat.completion" : "text_completion", created: this.created,
      model: this.model.id, choices: [choice], usage: last.usage, timings: last.timings, wasmlm: last.wasmlm };
  }
}

function usage_of(s) {
  return {
    prompt_tokens: s.prompt_tokens, completion_tokens: s.generated_tokens, total_tokens: s.prompt_tokens + s.generated_tokens,
    prompt_tokens_details: { cached_tokens: s.reused_tokens },
  };
}

// llama.cpp server's names: prompt_n is what was evaluated (the rest came from the KV cache: cache_n).
function timings_of(s) {
  return {
    cache_n: s.reused_tokens, prompt_n: s.evaluated_tokens, prompt_ms: s.prompt_ms, prompt_per_second: s.prompt_tps,
    predicted_n: s.generated_tokens, predicted_ms: s.gen_ms, predicted_per_second: s.gen_tps, ttft_ms: s.ttft_ms,
  };
}

// ---- arguments -------------------------------------------------------------------------------------

function messages_check(messages) {
  if (!Array.isArray(messages) || !messages.length) throw new WasmlmError("arguments", "messages must be a non-empty array of {role, content}");
  messages.forEach((m, i) => {
    if (typeof m?.role !== "string" || !m.role) throw new WasmlmError("arguments", `messages[${i}].role must be a non-empty string`);
    if (typeof m.content !== "string") throw new WasmlmError("arguments", `messages[${i}].content must be a string (parts arrays are not supported)`);
  });
}

function request_check(kind, req) {
  if (typeof req !== "object" || req === null) throw new WasmlmError("arguments", "create() takes one object of parameters");
  if (kind === "completion" && typeof req.prompt !== "string") throw new WasmlmError("arguments", "prompt must be a string");
  if (kind === "chat") messages_check(req.messages);
  for (const key of UNSUPPORTED) if (req[key] != null) throw new WasmlmError("arguments", `${key} is not supported`);
  if (req.n != null && req.n !== 1) throw new WasmlmError("arguments", "n must be 1");
  if (req.stop != null && (!Array.isArray(req.stop) || req.stop.length)) throw new WasmlmError("arguments", "stop sequences are not supported");
  const maxTokens = req.max_completion_tokens ?? req.max_tokens ?? DEFAULTS.maxTokens;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new WasmlmError("arguments", `max_tokens must be a positive integer, not ${maxTokens}`);
  const num = (key, lo, hi) => {
    const v = req[key];
    if (v == null) return undefined;
    if (typeof v !== "number" || !(v >= lo && v <= hi)) throw new WasmlmError("arguments", `${key} must be a number in [${lo}, ${hi}], not ${v}`);
    return v;
  };
  const sampling = {
    temperature: num("temperature", 0, 2), top_p: num("top_p", 0, 1), top_k: num("top_k", 0, 1e6), min_p: num("min_p", 0, 1),
    repeat_penalty: num("repeat_penalty", 0, 10), repeat_last_n: num("repeat_last_n", 0, 1e6), seed: num("seed", 0, Number.MAX_SAFE_INTEGER),
  };
  for (const k of Object.keys(sampling)) if (sampling[k] === undefined) delete sampling[k];
  return { maxTokens, sampling };
}
