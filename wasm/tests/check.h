// check: the tiny harness every engine test shares. CHECK counts a condition (and says where it
// failed, with the engine's last error message); check_report prints the closing line that CI
// reads and gives the exit code.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include <string>
#include <vector>

#include "file_read.h"
#include "status.h"

static int g_passed, g_failed;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (cond) {                                                                          \
            g_passed++;                                                                      \
        } else {                                                                             \
            g_failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, status_message()); \
        }                                                                                    \
    } while (0)

// Token ids as "1 2 3 ", for failure messages.
static inline std::string ids_str(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += std::to_string(id) + " ";
    return s;
}

static inline int check_report(void) {
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
