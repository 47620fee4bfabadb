// threads: a tiny thread pool that splits a range of items (matrix rows) between threads.
//
// The caller works too: pool_init(4) starts 3 workers. Between jobs the workers spin briefly and
// then sleep, so the many small jobs of one decode step (several per layer) cost little to hand
// out. Builds without threads (wasm without -pthread) and pools of one thread run jobs inline.
#pragma once
#include <stdint.h>

// Starts n_threads - 1 workers (n_threads <= 0 means one per hardware thread). Calling it again
// with another count replaces the pool. Not thread-safe: call it from the thread that runs jobs.
void pool_init(int n_threads);
void pool_free(void);
int pool_threads(void); // threads that share a job, the caller included (1 without a pool)

// Calls fn(ctx, begin, end) over [0, n_items) in chunks of `grain` items (the last may be
// shorter), spread over the pool; returns when every chunk is done. fn must be safe to run
// concurrently on disjoint ranges.
void pool_run(int64_t n_items, int64_t grain, void (*fn)(void* ctx, int64_t begin, int64_t end),
              void* ctx);
