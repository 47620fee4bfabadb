// Prepended (--pre-js) to the CLI's builds for Node.js (wasm/cli_node.mk). Emscripten 3.1.6's
// readv/writev read each iovec's pointer as a signed int (HEAP32), so a read into memory above
// 2 GiB (a GGUF over 2 GiB lies there) or a write from it would land elsewhere, silently. These
// replacements read them unsigned; they run before main (preRun), once the glue has defined SYSCALLS.
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
  SYSCALLS.doWritev = each(FS.write);
});
