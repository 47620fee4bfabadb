// The model worker's part of a pthreads engine start (see index.html): compile the engine, make the pool's
// worker, post it the module, a shared memory and the glue's URL.
const RELAY = new URL(location.href).searchParams.get("mode") === "relay";
const post = (m) => self.postMessage(m);
const step = (what) => post({ type: "step", what });
let pool = null;
self.onmessage = ({ data }) => {
  if (data.type === "ping") post({ type: "pong" });
  if (data.type === "from-pool") pool.onmessage?.({ data: data.data });
};

step("running");
const engine = await WebAssembly.compile(await (await fetch("/build/wasmlm-relaxed-mt.wasm")).arrayBuffer());
// (module (import "env" "memory" (memory 256 65536 shared))): what the pool worker instantiates
const tiny = await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 2, 19, 1, 3, 101, 110, 118, 6,
  109, 101, 109, 111, 114, 121, 2, 3, 128, 2, 128, 128, 4]));
const memory = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true });
step("compiled");
pool = RELAY ? { postMessage: (data) => post({ type: "to-pool", data }), onmessage: null }
  : new Worker(new URL("nested.js", import.meta.url));
step("pool-made");
pool.onmessage = ({ data }) => { if (data.cmd === "loaded") { step("pool-loaded"); post({ type: "ready", bytes: engine ? 1 : 0 }); } };
pool.postMessage({ cmd: "load", wasmModule: tiny, wasmMemory: memory, urlOrBlob: new URL("/build/wasmlm-relaxed-mt.js", location.href).href });
step("pool-posted");
