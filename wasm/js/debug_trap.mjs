// debug_trap: loads a wasm build under Node.js and calls the test-only wl_debug_trap (wasm/debug_trap.h),
// which traps a few calls deep; prints the trap's stack as V8 reports it (wasm function indices and byte
// offsets), for `python3 scripts/wasm_symbolize.py` to turn into C++ functions and file:line.
//
//   node wasm/js/debug_trap.mjs [--build debug] [--depth 3]
import { loadEngine } from "../../static/engine.js";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

const engine = await loadEngine({ build: option("--build", "debug") });
try {
  engine.m._wl_debug_trap(Number(option("--depth", "3")));
  console.error("wl_debug_trap returned: it should have trapped");
  process.exit(1);
} catch (err) {
  if (!(err instanceof WebAssembly.RuntimeError)) throw err;
  console.log(err.stack);
}
