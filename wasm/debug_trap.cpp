// See debug_trap.h. The frames are kept apart (noinline) so the symbolized stack shows each of them.
#include "debug_trap.h"

namespace {

__attribute__((noinline)) int debug_trap_descend(volatile int depth) {
    if (depth <= 0) __builtin_trap();
    return debug_trap_descend(depth - 1) + 1;
}

}  // namespace

extern "C" int wl_debug_trap(int depth) {
    return debug_trap_descend(depth);
}
