"use strict";
// The pool's worker, as Emscripten's wasmlm-*-mt.worker.js: import the glue, instantiate the module.
self.onmessage = ({ data }) => {
  if (data.cmd !== "load") return;
  import(data.urlOrBlob).then(() => {
    new WebAssembly.Instance(data.wasmModule, { env: { memory: data.wasmMemory } });
    postMessage({ cmd: "loaded" });
  });
};
