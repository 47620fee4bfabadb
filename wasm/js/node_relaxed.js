// Prepended (--pre-js) to the relaxed-SIMD builds of the CLI for Node.js (wasm/cli_node.mk):
// Node.js 20 runs relaxed SIMD only behind a flag, which V8 still takes before the module is
// compiled, for the whole process (pthread workers included).
if (typeof process === "object" && typeof require === "function") {
  require("v8").setFlagsFromString("--experimental-wasm-relaxed-simd");
}
