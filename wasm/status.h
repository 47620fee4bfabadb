// status: error codes shared by every part of the engine, and the message of the last failure.
// Nothing in the engine aborts or throws across the API: failures return a negative code and
// leave a sentence here for the caller.
#pragma once

enum wl_status {
    WL_OK = 0,
    WL_ERR_BAD_MAGIC = -1,
    WL_ERR_VERSION = -2,
    WL_ERR_TRUNCATED = -3,
    WL_ERR_TENSOR_BOUNDS = -4,
    WL_ERR_SHAPE = -5,
    WL_ERR_TYPE = -6,
    WL_ERR_KEY = -7,
    WL_ERR_ARCH = -8,
    WL_ERR_NO_MEMORY = -9,
    WL_ERR_ARG = -10,
    WL_ERR_CONTEXT_FULL = -11,
    WL_ERR_BROTLI = -12,
};

// Records `code` with a printf-style message and returns `code`, so callers can write
// `return status_fail(WL_ERR_KEY, "missing key %s", key);`
int status_fail(int code, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
const char* status_message(void);
int status_code(void);
