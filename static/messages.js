// The messages between the page (static/wasmlm.js) and the model worker (static/worker.js), and the error
// both sides raise. Everything that crosses is data, named in snake_case like the statistics it carries
// and the OpenAI-style API above it; JavaScript code and options stay camelCase. docs/contracts.md lists
// the same messages in prose.

// ---- page -> worker ------------------------------------------------------------------------------

/**
 * @typedef {{type: "load", manifest: object, manifest_url: string, n_ctx?: number, kv_type?: "f16" | "q8_0",
 *   memory_budget?: number, engine_files?: Object<string, string>, threads?: number, build?: string}} LoadMessage
 *   manifest: the model's manifest.json as the page read it (the worker does not fetch it again); manifest_url:
 *   where shard names are resolved from; n_ctx is shortened when the memory plan says so (with a notice);
 *   build: the page's ?build=NAME, that engine build as it is; absent, the worker chooses.
 * @typedef {{temperature?: number, top_k?: number, top_p?: number, min_p?: number, repeat_penalty?: number,
 *   repeat_last_n?: number, seed?: number}} Sampling   the OpenAI-style request's names; absent: the engine's defaults
 * @typedef {{text: string, special: boolean}} PromptPart   special: template text, which may become control tokens
 * @typedef {{type: "generate", parts: PromptPart[], sampling: Sampling, max_tokens: number}} GenerateMessage
 * @typedef {{type: "tokenize", parts: PromptPart[]}} TokenizeMessage   answered by a TokensMessage
 * @typedef {{type: "stop"}} StopMessage     ends the generation in flight
 * @typedef {{type: "reset"}} ResetMessage   forgets the KV cache (a new conversation)
 * @typedef {{type: "ping"}} PingMessage     answered by a PongMessage whenever the worker's event loop runs
 * @typedef {{type: "thread_message", id: number, data: any}} ThreadMessage   from engine thread worker id
 *   (static/thread_relay.js: the page makes the pthreads builds' workers and relays their messages)
 * @typedef {{type: "thread_error", id: number, message: string, filename: string, lineno: number}} ThreadError
 */
export const to_worker = {
  load: (fields) => ({ type: "load", ...fields }),
  generate: (parts, sampling, max_tokens) => ({ type: "generate", parts, sampling, max_tokens }),
  tokenize: (parts) => ({ type: "tokenize", parts }),
  stop: () => ({ type: "stop" }),
  reset: () => ({ type: "reset" }),
  ping: () => ({ type: "ping" }),
  thread_message: (id, data) => ({ type: "thread_message", id, data }),
  thread_error: (id, message, filename, lineno) => ({ type: "thread_error", id, message, filename, lineno }),
};

// ---- worker -> page ------------------------------------------------------------------------------

/**
 * @typedef {"storage" | "engine" | "cache"} LoadStep   what a load waits on before its download
 * @typedef {{type: "progress", phase: "start" | "download" | "engine", step: LoadStep | null, bytes: number,
 *   total: number, mbps: number, eta_s: number | null}} ProgressMessage
 *   phase "start": a step before the download (bytes 0); "download": shards arriving; "engine": all in place,
 *   the engine takes them.
 * @typedef {{type: "ready", info: object, stats: object, load: object}} ReadyMessage   docs/contracts.md: ready.load
 * @typedef {{type: "token", text: string, id: number}} TokenMessage   id -1: the UTF-8 decoder's tail
 * @typedef {"eog" | "length" | "context_full" | "stop" | "prompt_too_long"} DoneReason
 *   context_full: the context filled while generating; prompt_too_long: nothing was generated, the prompt and
 *   room for an answer do not fit (stats: {prompt_tokens, n_ctx, room}).
 * @typedef {{type: "done", reason: DoneReason, stats: object}} DoneMessage
 * @typedef {{type: "tokens", ids: number[]}} TokensMessage
 * @typedef {{type: "notice", message: string}} NoticeMessage   worth telling the user; the load goes on
 * @typedef {{type: "error", where: string, message: string}} ErrorMessage   the request failed
 * @typedef {{type: "pong"}} PongMessage   the answer to a ping, even in the middle of a load
 * @typedef {{type: "thread_start", id: number, url: string}} ThreadStart   make engine thread worker id from url
 * @typedef {{type: "thread_post", id: number, data: any}} ThreadPost   post data to thread worker id
 * @typedef {{type: "thread_stop", id: number}} ThreadStop   terminate thread worker id
 */
export const to_page = {
  progress: (phase, { step = null, bytes = 0, total = 0, mbps = 0, eta_s = null } = {}) =>
    ({ type: "progress", phase, step, bytes, total, mbps, eta_s }),
  ready: (info, stats, load) => ({ type: "ready", info, stats, load }),
  token: (text, id) => ({ type: "token", text, id }),
  done: (reason, stats) => ({ type: "done", reason, stats }),
  tokens: (ids) => ({ type: "tokens", ids }),
  notice: (message) => ({ type: "notice", message }),
  pong: () => ({ type: "pong" }),
  thread_start: (id, url) => ({ type: "thread_start", id, url }),
  thread_post: (id, data) => ({ type: "thread_post", id, data }),
  thread_stop: (id) => ({ type: "thread_stop", id }),
  error: (err, where) => ({ type: "error", where: err.where || where, message: err.message || String(err) }),
};

// ---- errors --------------------------------------------------------------------------------------

// Every failure is one of these: `where` says which part failed (manifest, shard N, engine, memory, load,
// template, context, arguments, generate, worker, ...), the message what to do about it.
export class WasmlmError extends Error {
  constructor(where, message, extra = {}) {
    super(message);
    this.name = "WasmlmError";
    this.where = where;
    Object.assign(this, extra);
  }
}

export const fail = (where, message, extra) => new WasmlmError(where, message, extra);
