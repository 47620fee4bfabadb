#include "status.h"

#include <stdarg.h>
#include <stdio.h>

static thread_local char g_message[512] = "no error";
static thread_local int g_code = WL_OK;

int status_fail(int code, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(g_message, sizeof(g_message), fmt, args);
    va_end(args);
    g_code = code;
    return code;
}

const char* status_message(void) { return g_message; }
int status_code(void) { return g_code; }
