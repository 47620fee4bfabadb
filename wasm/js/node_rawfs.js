// Prepended (--pre-js) to the CLI's builds for Node.js (wasm/cli_node.mk). Emscripten 3.1.6's
// readv/writev read each iovec's pointer as a signed int (HEAP32), so a read into memory above
// 2 GiB (a GGUF over 2 GiB lies there) or a write from it would land elsewhere, silently. These
// replacements read them unsigned; they run before main (preRun), once the glue has defined SYSCALLS.
// Writes also wait out a full pipe (write_waiting).
// A program that touches no file gets no file system from Emscripten: nothing to mend.
Module["preRun"] = [].concat(Module["preRun"] || [], function rawfs_unsigned() {
  if (typeof FS === "undefined" || typeof SYSCALLS.doReadv !== "function") return;
  const views = () => {
    if (wasmMemory.buffer !== buffer) updateGlobalBufferAndViews(wasmMemory.buffer); // grown by another thread
    return { u32: HEAPU32, i8: HEAP8 };
  };
  const each = (io) => (stream, iov, iovcnt, offset) => {
    let done = 0;
    for (let i = 0; i < iovcnt; i++) {
      const { u32, i8 } = views();
      const ptr = u32[(iov >>> 2) + 2 * i], len = u32[(iov >>> 2) + 2 * i + 1];
      const n = io(stream, i8, ptr, len, offset);
      if (n < 0) return -1;
      done += n;
      if (io === FS.read && n < len) break;
    }
    return done;
  };
  SYSCALLS.doReadv = each(FS.read);
  SYSCALLS.doWritev = each(write_waiting(FS.write));
});

// The threaded builds' stdout is a non-blocking pipe (Node's worker threads leave it so): once the reader
// falls 64 KiB behind, a write answers EAGAIN, and the C library then drops the rest of the output while
// the program exits 0 (`layers` of SmolLM2 piped to a reader that slept 3 s: 50 KB of 1.8 MB). Waiting
// for the reader, a millisecond at a time, keeps every byte.
function write_waiting(write) {
  const EAGAIN = 6;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  return (...args) => {
    for (;;) {
      try {
        return write(...args);
      } catch (e) {
        if (!(e instanceof FS.ErrnoError) || e.errno !== EAGAIN) throw e;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
  };
}
