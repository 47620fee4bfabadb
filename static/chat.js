// The chat page: picks a model, talks to it through the JS API (wasmlm.js: the chat template is rendered
// on this device, nothing typed goes to the server), renders the conversation and the statistics.
// Everything the page shows comes from `view`, which tests read through window.wasmlm.
import { DEFAULTS, load } from "./wasmlm.js";

import { opchart_render } from "./opchart.js";
import { telemetry_send, telemetry_setup } from "./telemetry.js";

const $ = (sel) => document.querySelector(sel);
const el = (tag, cls, text) => Object.assign(document.createElement(tag), cls ? { className: cls } : {}, text != null ? { textContent: text } : {});

const DEFAULT_SYSTEM = "You are a helpful assistant. Answer briefly and clearly.";
const BUILD_LABELS = { "relaxed-mt": "threads + relaxed SIMD", relaxed: "relaxed SIMD", mt: "threads + SIMD", simd: "SIMD",
  scalar: "scalar", debug: "debug (DWARF)" };
const STOP_GRACE_MS = 3000;   // a worker that does not stop by then is terminated and restarted

const view = {
  state: "idle",              // idle | loading | ready | generating | error
  models: [],
  model: null,                // the entry from /api/models being used
  progress: null,             // the last progress message
  info: null,                 // engine info from "ready"
  load: null,                 // load timings from "ready"
  stats: null,                // engine statistics (memory, counters), refreshed after each reply
  last: null,                 // stats of the last generation
  notices: [],
  error: null,                // { where, message }
  messages: [],               // the conversation: [{role, content}]
  reply: "",                  // text of the reply being streamed
  replies: 0,                 // finished generations
};

let model = null;             // the loaded model (wasmlm.js)
let loads = 0;                // bumped by each load, so a superseded one is dropped
let controller = null;        // aborts the generation in flight
let stopTimer = null;
let conversation = 0;         // bumped by New chat, so a reply still in flight is not filed into the new one

// ---- the test hook: a read-only window on `view` -----------------------------------------

Object.defineProperty(window, "wasmlm", {
  value: new Proxy({}, {
    get: (_, k) => (k in view ? structuredClone(view[k]) : undefined),
    set: () => false,
    ownKeys: () => Reflect.ownKeys(view),
    getOwnPropertyDescriptor: (_, k) => (k in view ? { enumerable: true, configurable: true, value: structuredClone(view[k]) } : undefined),
  }),
  writable: false,
});

// ---- settings ------------------------------------------------------------------------------

// The form's sampling fields by the API's (OpenAI and llama.cpp) parameter names.
const SAMPLING_FIELDS = { temperature: "#temperature", top_k: "#top-k", top_p: "#top-p", min_p: "#min-p",
  repeat_penalty: "#repeat-penalty", seed: "#seed" };

// A blank sampling field is left out: the engine's default applies.
function settings_read() {
  const num = (id) => Number($(id).value);
  const sampling = {};
  for (const [key, id] of Object.entries(SAMPLING_FIELDS)) if ($(id).value !== "") sampling[key] = num(id);
  return { sampling, maxTokens: num("#max-tokens"), nCtx: num("#n-ctx"), system: $("#system").value.trim() };
}

// The form starts from the API's defaults; once a model is loaded, blank fields show the engine's.
function settings_defaults_fill(engineDefaults) {
  if (!engineDefaults) {
    $("#max-tokens").value ||= DEFAULTS.maxTokens;
    $("#n-ctx").value = DEFAULTS.nCtx;
    return;
  }
  for (const [key, id] of Object.entries(SAMPLING_FIELDS)) if ($(id).value === "" && key in engineDefaults) $(id).value = engineDefaults[key];
}

// Half the device's memory where the browser tells it, else the wasm32 limit applies alone.
function memory_budget() {
  return navigator.deviceMemory ? (navigator.deviceMemory * 1024 ** 3) / 2 : undefined;
}

// ---- loading ---------------------------------------------------------------------------------

async function models_fetch() {
  const resp = await fetch("/api/models");
  if (!resp.ok) throw new Error(`/api/models answered HTTP ${resp.status}`);
  const body = await resp.json();
  return Array.isArray(body) ? body : body.models;
}

async function model_load(entry) {
  const mine = ++loads;
  controller?.abort();
  model?.dispose();
  model = null;
  Object.assign(view, { state: "loading", model: entry, progress: null, info: null, load: null, last: null, error: null, notices: [] });
  render();
  let loaded;
  try {
    loaded = await load(model_manifest_url(entry), {
      nCtx: settings_read().nCtx, kvType: kv_wanted(), memoryBudget: memory_budget(), engineFiles: engine_files(), threads: threads_wanted(), build: build_wanted(),
      onProgress: (p) => { if (mine === loads) { view.progress = p; render(); } },
      onNotice: (message) => { if (mine === loads) { view.notices.push(message); render(); } },
    });
  } catch (err) {
    if (mine === loads) fail(err.where === "worker" ? "the worker" : err.where || "the worker", err.message);
    return;
  }
  if (mine !== loads) return loaded.dispose();
  model = loaded;
  Object.assign(view, { state: "ready", info: model.info, load: model.load, stats: model.stats });
  settings_defaults_fill(model.info?.defaults);
  render();
}

// ?threads=N asks for the pthreads build with N threads (1 = single-thread); absent, the worker guesses.
function threads_wanted() {
  const n = parseInt(new URLSearchParams(location.search).get("threads"), 10);
  return n > 0 ? n : undefined;
}

// ?build=debug loads the debug build (DWARF, for DevTools' C/C++ debugging: docs/debugging.md).
// ?kv=q8_0: the KV cache in q8_0, half the memory of f16 (long contexts of big models).
function kv_wanted() {
  const k = new URLSearchParams(location.search).get("kv");
  return k === "q8_0" || k === "f16" ? k : undefined;
}

function build_wanted() {
  const b = new URLSearchParams(location.search).get("build");
  return /^[a-z0-9-]{1,32}$/.test(b || "") ? b : undefined;
}

// The server names each engine file by its content hash (cached for good); the template lists them.
function engine_files() {
  try {
    return JSON.parse(document.body.dataset.engineFiles || "{}");
  } catch {
    return {};
  }
}

function model_manifest_url(model) {
  return model.manifest || model.manifest_url || `/chunks/${model.id}/manifest.json`;
}

function fail(where, message) {
  clearTimeout(stopTimer);
  view.error = { where, message };
  if (view.state === "loading" || view.state === "idle") view.state = "error";
  else view.state = "ready";
  render();
}

// ---- generation --------------------------------------------------------------------------------

// Streams one answer into view.reply; resolves to {stats} (stats.reason says why it ended) or {error}.
async function stream_run(create, s) {
  controller = new AbortController();
  try {
    const stream = await create({ ...s.sampling, max_tokens: s.maxTokens, stream: true, signal: controller.signal });
    let last = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      const text = c.delta?.content ?? c.text ?? "";
      if (text) { view.reply += text; reply_render(); }
      last = chunk;
    }
    return { stats: last.wasmlm };
  } catch (err) {
    if (err.name === "AbortError" && err.stats) return { stats: { ...err.stats, reason: "stop" } };
    return { error: err };
  } finally {
    controller = null;
    clearTimeout(stopTimer);
  }
}

function turn_record(stats) {
  view.last = stats;
  view.stats = stats.engine;
  view.replies++;
}

function is_chat() {
  return (view.info?.mode || view.model?.mode) !== "completion";
}

async function send() {
  const box = $("#input");
  const text = box.value;
  if (view.state !== "ready" || (!text.trim() && is_chat())) return;
  const s = settings_read();
  const replies = view.replies;
  box.value = "";
  view.error = null;
  view.state = "generating";
  view.reply = "";
  if (is_chat()) {
    view.messages.push({ role: "user", content: text });
    await chat_turn(s);
  } else {
    await completion_turn(text, s);
  }
  if (view.state === "generating") view.state = "ready";   // not when Stop's grace ran out and a load began
  if (view.replies > replies) telemetry_send(view.info, view.load, view.last);
  render();
  box.focus();
}

// Sends the conversation; when the context is full, drops the oldest turns (system kept) and tries again.
async function chat_turn(s) {
  const mine = conversation;
  render();
  for (;;) {
    const messages = [...(s.system ? [{ role: "system", content: s.system }] : []), ...view.messages];
    const { stats, error } = await stream_run((req) => model.chat.completions.create({ messages, ...req }), s);
    if (mine !== conversation || error?.where === "dispose") return;
    if (error?.code === "context_full" && view.messages.length > 1) {
      view.messages.splice(0, view.messages[1]?.role === "assistant" ? 2 : 1);
      view.notices.push("The context was full: the oldest turn was dropped (the system prompt is kept).");
      render();
      continue;
    }
    if (error) {
      if (!view.reply) view.messages.pop();
      return fail(error.where || "generate", error.message);
    }
    view.messages.push({ role: "assistant", content: view.reply });
    return turn_record(stats);
  }
}

// Base models continue a document: the whole text so far goes in, the cache keeps the shared start.
async function completion_turn(text, s) {
  const mine = conversation;
  const doc = (view.messages[0]?.content || "") + text;
  view.messages = [{ role: "document", content: doc }];
  render();
  const { stats, error } = await stream_run((req) => model.completions.create({ prompt: doc, ...req }), s);
  if (mine !== conversation || error?.where === "dispose") return;
  if (error?.code === "context_full") return fail("context", `the document no longer fits the ${error.nCtx}-token context; start a new one.`);
  if (error) return fail(error.where || "generate", error.message);
  view.messages[0].content = doc + view.reply;
  view.reply = "";
  turn_record(stats);
}

function stop() {
  if (view.state !== "generating" || !controller) return;
  controller.abort();
  clearTimeout(stopTimer);
  stopTimer = setTimeout(() => {
    view.notices.push("The model did not stop in time: it was restarted.");
    model_load(view.model);
  }, STOP_GRACE_MS);
}

function chat_new() {
  if (view.state === "generating") stop();
  conversation++;
  view.messages = [];
  view.reply = "";
  view.error = null;
  model?.reset();
  render();
  $("#input").focus();
}

// ---- rendering -----------------------------------------------------------------------------------

const fmt = {
  mb: (b) => `${(b / 1e6).toFixed(b < 1e7 ? 1 : 0)} MB`,
  s: (ms) => (ms == null ? "–" : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`),
  tps: (x) => (x == null ? "–" : `${x.toFixed(1)} tok/s`),
  eta: (s) => (s == null ? "estimating" : s < 1 ? "under a second left" : s < 90 ? `${Math.round(s)} s left` : `${Math.round(s / 60)} min left`),
};

function render() {
  document.body.dataset.state = view.state;
  progress_render();
  messages_render();
  stats_render();
  notices_render();
  error_render();
  const chat = is_chat();
  $("#input").placeholder = !view.info ? (view.state === "loading" ? "The model is loading…" : "No model is loaded") : chat ? "Message (Enter sends, Shift+Enter adds a line)" : "Text to continue (Enter continues, Shift+Enter adds a line)";
  $("#input-label").textContent = chat ? "Message" : "Text to continue";
  $("#send").textContent = chat ? "Send" : "Continue";
  $("#send").disabled = view.state !== "ready";
  $("#stop").disabled = view.state !== "generating";
  $("#system-row").hidden = !chat;
  $("#mode").textContent = view.model ? (chat ? "chat" : "completion") : "";
}

// The worker's steps before the download (static/worker.js: step_post).
const START_TEXT = {
  manifest: "Reading the manifest…", storage: "Checking memory and storage…",
  engine: "Starting the engine…", cache: "Opening the cache…",
};

function progress_render() {
  const box = $("#loading");
  box.hidden = view.state !== "loading";
  if (box.hidden) return;
  const p = view.progress;
  const bar = $("#load-bar");
  if (!p || p.phase === "start") {
    bar.removeAttribute("value");
    $("#load-text").textContent = START_TEXT[p?.step ?? "manifest"];
    return;
  }
  bar.max = p.total;
  bar.value = p.bytes;
  const pct = Math.floor((p.bytes / p.total) * 100);
  $("#load-text").textContent = p.phase === "engine"
    ? "Starting the engine…"
    : `${pct}% · ${fmt.mb(p.bytes)} of ${fmt.mb(p.total)} · ${p.mbps.toFixed(1)} MB/s · ${fmt.eta(p.eta_s)}`;
}

function messages_render() {
  const list = $("#messages");
  list.replaceChildren();
  if (!view.messages.length && view.state !== "loading") {
    list.append(el("p", "empty", view.state === "error" ? "" : is_chat() ? "Ask anything. The model runs on this device; nothing you type leaves it." : "Write the start of a text and the model continues it."));
  }
  for (const m of view.messages) list.append(message_el(m.role, m.content));
  if (view.state === "generating") {
    if (is_chat()) list.append(message_el("assistant", view.reply, true));
    else list.lastElementChild?.querySelector(".text").append(el("span", "continuation", view.reply));
  }
  list.scrollTop = list.scrollHeight;
}

function message_el(role, text, live = false) {
  const item = el("article", `msg ${role}${live ? " live" : ""}`);
  item.append(el("div", "role", role === "user" ? "You" : role === "assistant" ? "Model" : "Document"), el("div", "text", text));
  return item;
}

// Streaming tokens touch only the live bubble, not the whole list.
function reply_render() {
  const live = is_chat() ? $("#messages .live .text") : $("#messages .continuation");
  if (!live) return render();
  live.textContent = view.reply;
  const list = $("#messages");
  list.scrollTop = list.scrollHeight;
}

function stats_render() {
  const rows = [];
  const L = view.load, S = view.last, I = view.info;
  if (I) rows.push(["Build", `${BUILD_LABELS[I.build] ?? I.build} · ${I.threads} thread${I.threads > 1 ? "s" : ""}`]);
  if (L) {
    rows.push(["Load", `${fmt.s(L.total_ms)} (download ${fmt.s(L.download_ms)}, decode ${fmt.s(L.decode_ms)}, engine ${fmt.s(L.engine_ms)})`]);
    rows.push(["Shards", `${L.from_network} downloaded, ${L.from_cache} from cache${L.caching ? "" : " · caching off"}`]);
  }
  const mem = view.stats?.memory;
  if (mem) rows.push(["Memory", `${fmt.mb(mem.heap || mem.weights + mem.kv + mem.scratch)} (weights ${fmt.mb(mem.weights)}, KV ${fmt.mb(mem.kv)})`]);
  if (S) {
    rows.push(["First token", fmt.s(S.ttft_ms)]);
    rows.push(["Prompt", `${fmt.tps(S.prompt_tps)} · ${S.evaluated_tokens} new, ${S.reused_tokens} reused`]);
    rows.push(["Generation", `${fmt.tps(S.gen_tps)} · ${S.generated_tokens} tokens`]);
    rows.push(["Context", `${S.n_past} of ${S.n_ctx} tokens`]);
  }
  const dl = $("#stats");
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", null, k), el("dd", null, v)]));
  if (!rows.length) dl.append(el("dd", "muted", "Statistics appear once the model is loaded."));
  opchart_render($("#op-timings"), S ? view.stats?.ms : null);
}

function notices_render() {
  const box = $("#notices");
  box.replaceChildren(...view.notices.slice(-3).map((n) => el("p", "notice", n)));
}

function error_render() {
  const box = $("#error");
  box.hidden = !view.error;
  if (!view.error) return;
  $("#error-where").textContent = `Problem in ${view.error.where}`;
  const where = view.error.where;
  const m = view.error.message.startsWith(`${where}: `) ? view.error.message.slice(where.length + 2) : view.error.message;
  $("#error-text").textContent = m.charAt(0).toUpperCase() + m.slice(1);
  $("#error-retry").hidden = view.state !== "error";
}

// ---- wiring --------------------------------------------------------------------------------------

function model_picker_fill() {
  const pick = $("#model");
  pick.replaceChildren(...view.models.map((m) => el("option", null, `${m.name || m.id}${m.mode === "completion" ? " (completion)" : ""}`)));
  pick.querySelectorAll("option").forEach((o, i) => { o.value = view.models[i].id; });
  pick.value = view.model?.id || "";
}

function wire() {
  $("#composer").addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  $("#input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  $("#stop").addEventListener("click", stop);
  $("#new-chat").addEventListener("click", chat_new);
  $("#model").addEventListener("change", (ev) => {
    const m = view.models.find((x) => x.id === ev.target.value);
    view.messages = [];
    history.replaceState(null, "", `?model=${encodeURIComponent(m.id)}`);
    model_load(m);
  });
  $("#n-ctx").addEventListener("change", () => view.model && model_load(view.model));
  $("#error-retry").addEventListener("click", () => view.model && model_load(view.model));
  $("#error-close").addEventListener("click", () => { view.error = null; render(); });
  $("#system").value = DEFAULT_SYSTEM;
  settings_defaults_fill(null);
  telemetry_setup($("#telemetry"));
  if (matchMedia("(max-width: 760px)").matches) $("#settings").open = false;   // phones: chat first
}

// Caches the page, its modules and the engine so that a reload works with the server gone (static/sw.js).
function offline_enable() {
  if (!("serviceWorker" in navigator) || new URLSearchParams(location.search).get("sw") === "0") return;
  navigator.serviceWorker.register("/sw.js").catch((err) => console.info(`wasmlm: no service worker (${err.message}): the page needs the server to reload`));
}

async function main() {
  offline_enable();
  wire();
  render();
  try {
    view.models = await models_fetch();
  } catch (err) {
    return fail("models", `${err.message}. Is the server running, and has it packed models (wasmlm pack)?`);
  }
  if (!view.models.length) return fail("models", "the server has no packed models. Run `wasmlm pack MODEL.gguf` and reload.");
  const wanted = new URLSearchParams(location.search).get("model");
  view.model = view.models.find((m) => m.id === wanted) || view.models[0];
  model_picker_fill();
  model_load(view.model);
}

main();
