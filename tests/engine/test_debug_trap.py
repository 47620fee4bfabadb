"""docs/debugging.md's workflow: a trap in the debug build under Node, symbolized with the build's DWARF,
names the C++ source file, function and line where it happened, and each caller."""
import re
import subprocess
import sys

from conftest import ROOT, make

DEBUG_WASM = ROOT / "build" / "wasm" / "wasmlm-debug.wasm"
SOURCE = ROOT / "wasm" / "debug_trap.cpp"
DEPTH = 3


def source_line(needle: str) -> int:
    return next(i for i, line in enumerate(SOURCE.read_text().splitlines(), 1) if needle in line)


def trap_stack(build: str) -> str:
    run = subprocess.run(["node", str(ROOT / "wasm" / "js" / "debug_trap.mjs"), "--build", build,
                          "--depth", str(DEPTH)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("RuntimeError: unreachable"), run.stdout
    return run.stdout


def test_trap_symbolized_names_file_function_and_line():
    make(str(ROOT / "build" / "wasm" / "wasmlm-debug.js"))
    stack = trap_stack("debug")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "wasm_symbolize.py"), str(DEBUG_WASM)],
                         input=stack, capture_output=True, text=True, check=True, timeout=60)
    frames = [re.match(r"#(\d+) 0x[0-9a-f]+ (.+) at (.+):(\d+):(\d+)$", line) for line in run.stdout.splitlines()]
    assert all(frames), run.stdout
    where = [(f[2], f[3], int(f[4])) for f in frames]
    trap = ("(anonymous namespace)::debug_trap_descend(int)", str(SOURCE), source_line("__builtin_trap"))
    descend = (trap[0], str(SOURCE), source_line("return debug_trap_descend(depth - 1)"))
    entry = ("wl_debug_trap", str(SOURCE), source_line("return debug_trap_descend(depth);"))
    assert where == [trap] + [descend] * DEPTH + [entry], run.stdout


def test_release_build_traps_the_same_without_lines():
    """The simd build has the entry point too, but no DWARF: the symbolizer finds no source there."""
    make(str(ROOT / "build" / "wasm" / "wasmlm-simd.js"))
    stack = trap_stack("simd")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "wasm_symbolize.py"),
                          str(ROOT / "build" / "wasm" / "wasmlm-simd.wasm")],
                         input=stack, capture_output=True, text=True, check=True, timeout=60)
    assert "debug_trap.cpp" not in run.stdout
