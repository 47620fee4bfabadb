// One SIMD128 instruction (i32x4.splat of 0, dropped): validates only where wasm SIMD is on.
const SIMD_MODULE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0,
  10, 9, 1, 7, 0, 65, 0, 253, 17, 26, 11]);

onmessage = () => {
  console.log("probe worker says hello");
  postMessage({
    sharedArrayBuffer: typeof SharedArrayBuffer === "function",
    simd: WebAssembly.validate(SIMD_MODULE),
  });
};
