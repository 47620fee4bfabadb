// Tokenizer speed of the wasm engine (simd build) under Node.js: each vocabulary file given on the
// command line tokenizes the text file (no BOS, no special tokens), best of N runs, in CPU time
// (the machine may be shared; tokenizing is single-threaded).
//   node scripts/tokenizer_bench.mjs TEXT RUNS VOCAB.gguf ...   -> one JSON line per vocabulary
import { readFileSync } from "node:fs";
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
    const t0 = process.cpuUsage();
    n = engine.tokenize(text, { addBos: false }).length;
    const dt = process.cpuUsage(t0);
    best = Math.min(best, (dt.user + dt.system) / 1000);
  }
  console.log(JSON.stringify({ path, bytes, tokens: n, ms: best }));
  engine.dispose();
}
