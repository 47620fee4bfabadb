// node_cli: the commands of the native wasmlm-cli (wasm/cli.cpp), run on a wasm build under Node.js.
//
//   node wasm/js/node_cli.mjs {info|tokenize|logits|perplexity|generate|bench|layers} GGUF ... [--build B]
//        [--cache-type f16|q8_0]
//
// Same commands, options, output and errors as cli.cpp (read it side by side: the functions
// mirror each other). Only here: --build simd|mt|scalar|debug|relaxed|relaxed-mt picks the wasm
// build (default relaxed, or relaxed-mt when --threads > 1; engine.js turns on Node.js 20's
// --experimental-wasm-relaxed-simd for them).
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { loadEngine } from "../../static/engine.js";

// ---------------------------------------------------------------------------------------------
// output and failing

// Written synchronously: process.exit() would cut off what process.stdout still buffers for a pipe.
function write_all(fd, data) {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  for (let done = 0; done < bytes.length;) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (err) {
      if (err.code !== "EAGAIN") throw err;
    }
  }
}
const out = (data) => write_all(1, data);

function die(code, message) {
  write_all(2, `error: ${message}\n`);
  process.exit(code);
}

function die_engine(what, err) {
  if (err?.name !== "EngineError") throw err;
  die(1, `${what}: ${err.message}`);
}

const now_ms = () => performance.now();

// The messages of C's strerror, so both CLIs say the same.
const STRERROR = { ENOENT: "No such file or directory", EACCES: "Permission denied", EISDIR: "Is a directory" };
const strerror = (err) => STRERROR[err.code] ?? err.message;

// ---------------------------------------------------------------------------------------------
// arguments: positionals, then --name value options

const FLAGS = ["--parse-special"];

function args_parse(argv) {
  const a = { pos: [], opts: [], flags: [] };
  for (let i = 1; i < argv.length; i++) {
    const s = argv[i];
    if (FLAGS.includes(s)) a.flags.push(s);
    else if (s.length > 1 && s[0] === "-" && !/[0-9]/.test(s[1])) {
      if (i + 1 >= argv.length) die(2, `option ${s} needs a value`);
      a.opts.push([s, argv[++i]]);
    } else a.pos.push(s);
  }
  return a;
}

function opt_str(a, name, fallback) {
  const at = a.opts.findIndex(([n]) => n === name);
  if (at < 0) return fallback;
  return a.opts.splice(at, 1)[0][1];
}

// strtod's whole-string forms (decimal, exponent, inf, nan)
const NUMBER = /^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)$/i;

function opt_num(a, name, fallback) {
  const s = opt_str(a, name, null);
  if (s === null) return fallback;
  if (!NUMBER.test(s)) die(2, `option ${name} expects a number, got '${s}'`);
  return /inf/i.test(s) ? (s.includes("-") ? -Infinity : Infinity) : Number(s.trim());
}

const opt_int = (a, name, fallback) => Math.trunc(opt_num(a, name, fallback)) | 0;
const flag = (a, name) => a.flags.includes(name);

function args_done(a, n_pos, usage) {
  if (a.opts.length) die(2, `unknown option ${a.opts[0][0]} (usage: ${usage})`);
  if (a.pos.length !== n_pos) die(2, `usage: ${usage}`);
}

// ---------------------------------------------------------------------------------------------
// files and the engine

function file_read(path) {
  try {
    return readFileSync(path);
  } catch (err) {
    die(1, `cannot open ${path}: ${strerror(err)}`);
  }
}

let g_build = null; // --build, taken before each command parses its own options
let g_kv_type = "f16"; // --cache-type, likewise

// The GGUF file is read straight into wasm memory, where the engine uses its weights in place.
async function engine_load(path, n_ctx, n_threads) {
  const t0 = now_ms();
  let fd;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    die(1, `cannot open ${path}: ${strerror(err)}`);
  }
  const size = fstatSync(fd).size;
  const engine = await loadEngine({ build: g_build ?? (n_threads > 1 ? "relaxed-mt" : "relaxed"), threads: n_threads });
  const ptr = engine.ggufAlloc(size);
  if (!ptr) die(1, `${path}: cannot reserve ${size} bytes of wasm memory`);
  for (let at = 0; at < size;) {
    const n = readSync(fd, engine.heap(), ptr + at, Math.min(size - at, 1 << 24), at);
    if (n <= 0) die(1, `cannot read ${path}`);
    at += n;
  }
  closeSync(fd);
  try {
    engine.create(ptr, size, { nCtx: n_ctx, threads: n_threads, kvType: g_kv_type });
  } catch (err) {
    if (err?.name !== "EngineError") throw err;
    die(1, `${path}: ${err.message}`);
  }
  return { engine, load_ms: now_ms() - t0 };
}

function tokenize(e, text, add_bos, parse_special) {
  try {
    return e.tokenize(text, { addBos: add_bos, parseSpecial: parse_special });
  } catch (err) {
    die_engine("tokenize", err);
  }
}

function piece(e, id) {
  try {
    return e.piece(id);
  } catch (err) {
    die_engine("token piece", err);
  }
}

function evaluate(e, ids, all_logits) {
  try {
    return e.eval(ids, { allLogits: all_logits });
  } catch (err) {
    die_engine("eval", err);
  }
}

// "[1, 2, 3]" -> ids (or the values of another option `name`)
function ids_parse(s, name = "--ids") {
  const bad = () => die(2, `${name} expects a JSON list of integers, got '${s}'`);
  const m = /^ *\[([^\]]*)\]/.exec(s);
  if (!m) bad();
  const ids = [];
  for (const part of m[1].split(/[ ,]+/).filter(Boolean)) {
    const v = /^[+-]?\d+/.exec(part);
    if (!v || Number(v[0]) < 0 || Number(v[0]) > 2147483647) bad();
    ids.push(Number(v[0]));
  }
  if (!ids.length) die(2, `${name} needs at least one id`);
  return Int32Array.from(ids);
}

const fixed = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : String(x).toLowerCase());

// ---------------------------------------------------------------------------------------------
// commands

async function cmd_info(a) {
  const threads = opt_int(a, "--threads", 1);
  const n_ctx = opt_int(a, "--ctx", 0);
  args_done(a, 1, "info GGUF");
  const l = await engine_load(a.pos[0], n_ctx, threads);
  out(`${l.engine.infoJson()}\n`);
  l.engine.dispose();
}

async function cmd_tokenize(a) {
  const special = flag(a, "--parse-special");
  args_done(a, 2, "tokenize GGUF TEXT [--parse-special]");
  const l = await engine_load(a.pos[0], 1, 1);
  const ids = tokenize(l.engine, a.pos[1], true, special);
  out(`[${Array.from(ids).join(", ")}]\n`);
  l.engine.dispose();
}

// The top ids of a row, highest first.
function top_ids(row, top) {
  const best = [];
  for (let i = 0; i < row.length; i++) {
    if (best.length === top && row[i] <= row[best[top - 1]]) continue;
    let at = Math.min(best.length, top - 1);
    while (at > 0 && row[best[at - 1]] < row[i]) at--;
    best.splice(at, 0, i);
    if (best.length > top) best.pop();
  }
  return best;
}

// Top-K [id, logit] pairs of every position, highest first.
async function cmd_logits(a) {
  const ids_text = opt_str(a, "--ids", null);
  let top = opt_int(a, "--top", 5);
  const threads = opt_int(a, "--threads", 1);
  const n_ctx = opt_int(a, "--ctx", 0);  // the context the model is set up for (rope factors depend on it)
  args_done(a, 1, "logits GGUF --ids JSON [--top K] [--ctx N]");
  if (ids_text === null) die(2, "logits needs --ids JSON");
  const ids = ids_parse(ids_text);
  const l = await engine_load(a.pos[0], Math.max(n_ctx, ids.length), threads);
  const logits = evaluate(l.engine, ids, true);
  const n_vocab = l.engine.nVocab();
  top = Math.max(1, Math.min(top, n_vocab));
  const rows = [];
  for (let t = 0; t < ids.length; t++) {
    const row = logits.subarray(t * n_vocab, (t + 1) * n_vocab);
    rows.push(`[${top_ids(row, top).map((id) => `[${id}, ${fixed(row[id], 5)}]`).join(", ")}]`);
  }
  out(`[${rows.join(",\n ")}]\n`);
  l.engine.dispose();
}

// -log p(target) under a row of logits (float differences, double sums, as in cli.cpp)
function nll(row, target) {
  let max = row[0];
  for (let i = 1; i < row.length; i++) max = Math.max(max, row[i]);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(Math.fround(row[i] - max));
  return Math.log(sum) - Math.fround(row[target] - max);
}

// llama.cpp's protocol (see cmd_perplexity in cli.cpp).
async function cmd_perplexity(a) {
  const ctx = opt_int(a, "--ctx", 512);
  const threads = opt_int(a, "--threads", 1);
  args_done(a, 2, "perplexity GGUF FILE [--ctx 512]");
  if (ctx < 4) die(2, "--ctx must be at least 4");
  const text = file_read(a.pos[1]).toString("utf8");
  const l = await engine_load(a.pos[0], ctx, threads);
  const e = l.engine;
  const info = e.info();
  const tokens = tokenize(e, text, true, false);
  const n_chunks = Math.floor(tokens.length / ctx);
  if (n_chunks === 0) die(1, `${a.pos[1]} has ${tokens.length} tokens, fewer than one chunk of ${ctx}`);

  const first = ctx >> 1, piece_len = 64, n_vocab = e.nVocab();
  let nll_sum = 0, count = 0;
  for (let c = 0; c < n_chunks; c++) {
    const chunk = tokens.slice(c * ctx, (c + 1) * ctx);
    if (info.add_bos) chunk[0] = info.bos;
    try {
      e.truncate(0);
    } catch (err) {
      die_engine("kv truncate", err);
    }
    evaluate(e, chunk.subarray(0, first), false);
    for (let start = first; start < ctx; start += piece_len) {
      const n = Math.min(piece_len, ctx - start);
      const logits = evaluate(e, chunk.subarray(start, start + n), true);
      for (let i = 0; i < n && start + i < ctx - 1; i++) {
        nll_sum += nll(logits.subarray(i * n_vocab, (i + 1) * n_vocab), chunk[start + i + 1]);
        count++;
      }
    }
    write_all(2, `chunk ${c + 1}/${n_chunks}: perplexity so far ${fixed(Math.exp(nll_sum / count), 4)}\n`);
  }
  out(`{"perplexity": ${fixed(Math.exp(nll_sum / count), 4)}, "chunks": ${n_chunks}, "tokens_scored": ${count}}\n`);
  e.dispose();
}

function sampler_options(a) {
  return {
    temperature: opt_num(a, "--temp", 0.8),
    topK: opt_int(a, "--top-k", 40),
    topP: opt_num(a, "--top-p", 0.95),
    minP: opt_num(a, "--min-p", 0.05),
    repeatPenalty: opt_num(a, "--repeat-penalty", 1.0),
    repeatLastN: 64,
    seed: Math.max(0, Math.trunc(opt_num(a, "--seed", 0))),
  };
}

function sampler_from(e, options) {
  try {
    return e.sampler(options);
  } catch (err) {
    if (err?.name !== "EngineError") throw err;
    die(2, `sampler: ${err.message}`);
  }
}

async function cmd_generate(a) {
  const n_gen = opt_int(a, "-n", 64);
  const threads = opt_int(a, "--threads", 1);
  const n_ctx = opt_int(a, "--ctx", 0);
  const options = sampler_options(a);
  args_done(a, 2, "generate GGUF PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] " +
    "[--repeat-penalty R] [--seed S]");
  const l = await engine_load(a.pos[0], n_ctx, threads);
  const e = l.engine;
  const s = sampler_from(e, options);
  // the prompt is the user's own text on their machine: template tokens written in it count
  const prompt = tokenize(e, a.pos[1], true, true);
  if (!prompt.length) die(2, "the prompt gives no tokens");
  for (const id of prompt) s.accept(id);
  evaluate(e, prompt, false);
  for (let i = 0; i < n_gen; i++) {
    let id;
    try {
      id = s.sample();
    } catch (err) {
      die_engine("sample", err);
    }
    if (e.isEog(id)) break;
    out(piece(e, id));
    if (i + 1 === n_gen) break;
    try {
      e.eval(Int32Array.of(id));
    } catch (err) {
      if (err?.code === -11) break; // WL_ERR_CONTEXT_FULL
      die_engine("eval", err);
    }
  }
  out("\n");
  write_all(2, `${e.statsJson()}\n`);
  s.free();
  e.dispose();
}

// A fixed English text, repeated as needed, gives the prompt tokens (the same as cli.cpp's).
const BENCH_TEXT =
  "The old lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a lamp and a " +
  "notebook in which he wrote down the ships he saw, the colour of the sea, and the direction of the wind. ";

async function cmd_bench(a) {
  const n_prompt = opt_int(a, "--prompt", 128);
  const n_gen = opt_int(a, "--gen", 64);
  const threads = opt_int(a, "--threads", 1);
  args_done(a, 1, "bench GGUF [--prompt 128] [--gen 64]");
  if (n_prompt < 1 || n_gen < 1) die(2, "--prompt and --gen must be positive");
  const l = await engine_load(a.pos[0], n_prompt + n_gen, threads);
  const e = l.engine;
  let text = "";
  let prompt = new Int32Array(0);
  while (prompt.length < n_prompt) {
    text += BENCH_TEXT;
    prompt = tokenize(e, text, true, false);
  }
  prompt = prompt.subarray(0, n_prompt);
  const greedy = sampler_from(e, { temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, repeatLastN: 0, seed: 0 });

  const t0 = now_ms();
  evaluate(e, prompt, false);
  const t_prefill = now_ms() - t0;
  let id = greedy.sample();
  const ttft = now_ms() - t0;
  const t1 = now_ms();
  for (let i = 0; i < n_gen; i++) {
    evaluate(e, Int32Array.of(id), false);
    id = greedy.sample();
  }
  const t_decode = now_ms() - t1;

  const info = e.info(), stats_text = e.statsJson(), stats = JSON.parse(stats_text);
  out(`{"prefill_tps": ${fixed(n_prompt * 1000 / t_prefill, 2)}, ` +
    `"decode_tps": ${fixed(n_gen * 1000 / t_decode, 2)}, "ttft_ms": ${fixed(ttft, 2)}, "load_ms": ${fixed(l.load_ms, 2)}, ` +
    `"memory_bytes": ${fixed(stats.memory.heap, 0)}, "weights_bytes": ${fixed(info.weights_bytes, 0)}, ` +
    `"kv_bytes": ${fixed(info.kv_bytes, 0)}, "threads": ${info.threads | 0}, "simd": ${JSON.stringify(info.simd)}, ` +
    `"stats": ${stats_text}}\n`);
  greedy.free();
  e.dispose();
}

// Per-layer hidden states (see cmd_layers in cli.cpp). String(x) of a float32 value parses back
// to the same float32, as cli.cpp's %.9g does.
async function cmd_layers(a) {
  const ids_text = opt_str(a, "--ids", null);
  const positions_text = opt_str(a, "--positions", null);
  const logits_path = opt_str(a, "--logits", null);
  const perturb_layer = opt_int(a, "--perturb-layer", -1);
  const perturb = opt_num(a, "--perturb", 0.05);
  const threads = opt_int(a, "--threads", 1);
  args_done(a, 1, "layers GGUF --ids JSON [--positions JSON] [--logits FILE] [--perturb-layer L [--perturb A]]");
  if (ids_text === null) die(2, "layers needs --ids JSON");
  const ids = ids_parse(ids_text);
  const positions = positions_text === null ? ids.map((_, t) => t) : ids_parse(positions_text, "--positions");
  for (const p of positions) if (p >= ids.length) die(2, `--positions: ${p} is not a position of the ${ids.length} ids`);
  const l = await engine_load(a.pos[0], ids.length, threads);
  const e = l.engine;
  try {
    e.debugPerturb(perturb_layer, perturb);
  } catch (err) {
    die_engine("perturb", err);
  }
  try {
    e.capture(positions);
  } catch (err) {
    die_engine("capture", err);
  }
  const logits = evaluate(e, ids, logits_path !== null);
  const n_vocab = e.nVocab();
  let logit_rows = null; // copied before any call that may grow memory and move the view
  if (logits_path !== null) {
    logit_rows = new Float32Array(positions.length * n_vocab);
    positions.forEach((p, i) => logit_rows.set(logits.subarray(p * n_vocab, (p + 1) * n_vocab), i * n_vocab));
  }
  const { n_layer, n_embd } = e.info();
  const states = e.capturedStates();
  const rows = [];
  for (let i = 0; i < positions.length; i++) {
    const layers = [];
    for (let r = 0; r <= n_layer; r++) {
      const at = (i * (n_layer + 1) + r) * n_embd;
      layers.push(`[${Array.from(states.subarray(at, at + n_embd), String).join(", ")}]`);
    }
    rows.push(`[${layers.join(", ")}]`);
  }
  out(`{"n_layer": ${n_layer}, "n_embd": ${n_embd}, "positions": [${Array.from(positions).join(", ")}],\n "states": [${rows.join(",\n  ")}]}\n`);
  if (logits_path !== null) {
    try {
      writeFileSync(logits_path, new Uint8Array(logit_rows.buffer));
    } catch (err) {
      die(1, `cannot open ${logits_path}: ${strerror(err)}`);
    }
  }
  e.dispose();
}

const COMMANDS = { info: cmd_info, tokenize: cmd_tokenize, logits: cmd_logits, perplexity: cmd_perplexity,
  generate: cmd_generate, bench: cmd_bench, layers: cmd_layers };

async function main(argv) {
  const usage = "usage: wasmlm-cli {info|tokenize|logits|perplexity|generate|bench|layers} GGUF ...";
  if (argv.length < 1) die(2, usage);
  const a = args_parse(argv);
  g_build = opt_str(a, "--build", null);
  if (g_build !== null && !["simd", "mt", "scalar", "debug", "relaxed", "relaxed-mt"].includes(g_build)) {
    die(2, `--build must be simd, mt, scalar, debug, relaxed or relaxed-mt, got '${g_build}'`);
  }
  g_kv_type = opt_str(a, "--cache-type", "f16");
  if (!["f16", "q8_0"].includes(g_kv_type)) die(2, `--cache-type must be f16 or q8_0, got '${g_kv_type}'`);
  const cmd = COMMANDS[argv[0]];
  if (!cmd) die(2, `unknown command '${argv[0]}' (${usage})`);
  await cmd(a);
  process.exit(0); // the mt build's workers would keep Node alive
}

await main(process.argv.slice(2));
