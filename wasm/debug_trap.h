// Test-only entry point for docs/debugging.md: traps on purpose, a few calls deep, so that a test can
// check that a trap's stack, symbolized from the debug build's DWARF, names the right C++ file and function.
#pragma once

extern "C" {
// Never returns: executes `unreachable` at depth 0 of debug_trap_descend (debug_trap.cpp). Nothing in the
// engine calls it; the page never does either.
int wl_debug_trap(int depth);
}
