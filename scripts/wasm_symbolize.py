#!/usr/bin/env python3
"""A V8 stack of wasm frames, with C++ file:line from a build's DWARF (docs/debugging.md).

    node wasm/js/debug_trap.mjs | python3 scripts/wasm_symbolize.py build/wasm/wasmlm-debug.wasm

Reads a stack trace (stdin or a file) and, for every frame like `wasm-function[33]:0x1590`, prints the
function, file and line that llvm-symbolizer finds at that address (inlined frames too). V8 reports byte
offsets in the whole module; DWARF in wasm counts from the start of the code section's body, so the
offset is shifted first. Uses llvm-symbolizer-19 where installed, else Debian's llvm-symbolizer (14, which
comes with the emscripten package), else $LLVM_SYMBOLIZER.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

FRAME = re.compile(r"wasm-function\[(?P<index>\d+)\]:(?P<offset>0x[0-9a-fA-F]+)")
CODE_SECTION = 10


def leb128_read(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def code_body_offset(wasm: bytes) -> int:
    """File offset of the code section's body (after its id and size)."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a WebAssembly module")
    pos = 8
    while pos < len(wasm):
        section, pos = wasm[pos], pos + 1
        size, pos = leb128_read(wasm, pos)
        if section == CODE_SECTION:
            return pos
        pos += size
    raise ValueError("the module has no code section")


def symbolizer_find() -> str:
    for name in (os.environ.get("LLVM_SYMBOLIZER"), "llvm-symbolizer-19", "llvm-symbolizer"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise SystemExit("wasm_symbolize: no llvm-symbolizer (apt-get install llvm-19, or llvm for -14)")


def symbolize(wasm_path: Path, offsets: list[int]) -> list[list[tuple[str, str]]]:
    """For each module offset: [(function, file:line:column), ...], innermost (inlined) first."""
    base = code_body_offset(wasm_path.read_bytes())
    addresses = "\n".join(hex(o - base) for o in offsets) + "\n"
    out = subprocess.run([symbolizer_find(), f"--obj={wasm_path}", "--functions=linkage", "--demangle"],
                         input=addresses, capture_output=True, text=True, check=True).stdout
    frames = []
    for block in out.strip("\n").split("\n\n"):
        lines = block.splitlines()
        frames.append(list(zip(lines[0::2], lines[1::2])))
    return frames


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("wasm", type=Path, help="the build the stack came from, with DWARF (-g): wasmlm-debug.wasm")
    p.add_argument("stack", nargs="?", type=argparse.FileType("r"), default=sys.stdin)
    args = p.parse_args(argv)
    text = args.stack.read()
    offsets = [int(m["offset"], 16) for m in FRAME.finditer(text)]
    if not offsets:
        print("wasm_symbolize: no wasm frames (wasm-function[N]:0x...) in the input", file=sys.stderr)
        return 1
    for depth, frame in enumerate(symbolize(args.wasm, offsets)):
        for function, where in frame:
            print(f"#{depth} {hex(offsets[depth])} {function} at {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
