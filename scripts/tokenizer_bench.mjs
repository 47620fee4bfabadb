// Tokenizer speed of the wasm engine (simd build) under Node.js: each vocabulary file given on the
// command line tokenizes the text file (no BOS, no special tokens), best of N runs.
//   node scripts/tokenizer_bench.mjs TEXT RUNS VOCAB.gguf ...   -> one JSON line per vocabulary
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { loadEngine } from "../static/engine.js";

const [textPath, runs, ...vocabs] = process.argv.slice(2);
const text = readFileSync(textPath, "utf8");
const bytes = Buffer.byteLength(text);
for (const path of vocabs) {
  const engine = await loadEngine({ build: "simd", threads: 1 });
  const data = readFileSync(path);
  const ptr = engine.malloc(data.length);
  engine.heap().set(data, ptr);
  engine.create(ptr, data.length, { nCtx: 0, threads: 1 });
  let best = Infinity, n = 0;
  for (let i = 0; i < Number(runs); i++) {
    const t0 = performance.now();
    n = engine.tokenize(text, { addBos: false }).length;
    best = Math.min(best, performance.now() - t0);
  }
  console.log(JSON.stringify({ path, bytes, tokens: n, ms: best }));
  engine.dispose();
}
