#include "threads.h"

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)

// A wasm build without threads: every job runs on the caller.
void pool_init(int) {}
void pool_free(void) {}
int pool_threads(void) { return 1; }
void pool_run(int64_t n_items, int64_t grain, void (*fn)(void*, int64_t, int64_t), void* ctx) {
    if (grain < 1) grain = 1;
    for (int64_t begin = 0; begin < n_items; begin += grain)
        fn(ctx, begin, begin + grain < n_items ? begin + grain : n_items);
}

#else

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

// How long an idle worker polls for the next job before it sleeps. Decode issues jobs a few
// hundred microseconds apart; waking a sleeping thread costs tens of microseconds each time.
static const std::chrono::microseconds SPIN_TIME(2000);

typedef void (*job_fn)(void*, int64_t, int64_t);

// Chunks are claimed from `ticket`: the job's number in the high 32 bits, the next unclaimed
// item in the low 32. A claim is a compare-exchange on the whole ticket, so a worker that wakes
// late and reads the fields of a newer job can never claim a chunk of it by mistake, and the
// caller never waits for a worker that has not started: it waits only for claimed chunks.
struct pool {
    std::vector<pthread_t> workers;
    std::atomic<uint64_t> ticket{0};
    std::atomic<job_fn> fn{nullptr};
    std::atomic<void*> ctx{nullptr};
    std::atomic<int64_t> n_items{0};
    std::atomic<int64_t> grain{1};
    std::atomic<int64_t> done_items{0};
    uint32_t job_number = 0; // the caller's count of jobs
    std::atomic<int> sleepers{0};
    std::atomic<bool> stopping{false};
    std::mutex mutex;
    std::condition_variable wake;
};

static pool* g_pool = nullptr;

static inline uint32_t ticket_job(uint64_t t) { return (uint32_t)(t >> 32); }

// Runs chunks of job `job` until none is left (or the pool has moved on to another job).
static void job_work(pool* p, uint32_t job) {
    for (;;) {
        uint64_t t = p->ticket.load(std::memory_order_acquire);
        if (ticket_job(t) != job) return;
        job_fn fn = p->fn.load(std::memory_order_relaxed);
        void* ctx = p->ctx.load(std::memory_order_relaxed);
        int64_t n = p->n_items.load(std::memory_order_relaxed);
        int64_t grain = p->grain.load(std::memory_order_relaxed);
        int64_t begin = (int64_t)(uint32_t)t;
        if (begin >= n) return;
        int64_t end = begin + grain < n ? begin + grain : n;
        if (!p->ticket.compare_exchange_weak(t, ((uint64_t)job << 32) | (uint64_t)end,
                                             std::memory_order_acq_rel))
            continue;
        fn(ctx, begin, end);
        p->done_items.fetch_add(end - begin, std::memory_order_release);
    }
}

// Returns the job number of the ticket once it differs from `seen`: spins first, then sleeps.
static uint32_t worker_wait(pool* p, uint32_t seen) {
    auto start = std::chrono::steady_clock::now();
    for (int spins = 1;; spins++) {
        uint32_t job = ticket_job(p->ticket.load(std::memory_order_acquire));
        if (job != seen || p->stopping.load(std::memory_order_relaxed)) return job;
        if (spins % 1024 == 0 && std::chrono::steady_clock::now() - start > SPIN_TIME) break;
    }
    std::unique_lock<std::mutex> lock(p->mutex);
    p->sleepers.fetch_add(1); // seq_cst: pairs with the ticket store in pool_run
    p->wake.wait(lock, [&] { return ticket_job(p->ticket.load()) != seen || p->stopping.load(); });
    p->sleepers.fetch_sub(1);
    return ticket_job(p->ticket.load(std::memory_order_acquire));
}

static void* worker_main(void* arg) {
    pool* p = (pool*)arg;
    uint32_t seen = 0;
    for (;;) {
        seen = worker_wait(p, seen);
        if (p->stopping.load()) return nullptr;
        job_work(p, seen);
    }
}

void pool_free(void) {
    if (!g_pool) return;
    {
        std::lock_guard<std::mutex> lock(g_pool->mutex);
        g_pool->stopping.store(true);
    }
    g_pool->wake.notify_all();
    for (pthread_t t : g_pool->workers) pthread_join(t, nullptr);
    delete g_pool;
    g_pool = nullptr;
}

void pool_init(int n_threads) {
    if (n_threads <= 0) n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads < 1) n_threads = 1;
    if (pool_threads() == n_threads) return;
    pool_free();
    if (n_threads == 1) return;
    g_pool = new pool();
    for (int i = 1; i < n_threads; i++) {
        // In wasm a thread needs a Web Worker made in advance (PTHREAD_POOL_SIZE); pthread_create
        // fails once they are used up, and the pool then makes do with the threads it has.
        pthread_t t;
        if (pthread_create(&t, nullptr, worker_main, g_pool) != 0) break;
        g_pool->workers.push_back(t);
    }
    if (g_pool->workers.empty()) pool_free();
}

int pool_threads(void) { return g_pool ? (int)g_pool->workers.size() + 1 : 1; }

static void run_inline(int64_t n_items, int64_t grain, job_fn fn, void* ctx) {
    for (int64_t begin = 0; begin < n_items; begin += grain)
        fn(ctx, begin, begin + grain < n_items ? begin + grain : n_items);
}

void pool_run(int64_t n_items, int64_t grain, job_fn fn, void* ctx) {
    if (grain < 1) grain = 1;
    pool* p = g_pool;
    if (!p || n_items <= grain || n_items > (int64_t)UINT32_MAX) return run_inline(n_items, grain, fn, ctx);
    uint32_t job = ++p->job_number;
    if (job == 0) job = ++p->job_number; // 0 is what idle workers start from
    p->fn.store(fn, std::memory_order_relaxed);
    p->ctx.store(ctx, std::memory_order_relaxed);
    p->n_items.store(n_items, std::memory_order_relaxed);
    p->grain.store(grain, std::memory_order_relaxed);
    p->done_items.store(0, std::memory_order_relaxed);
    p->ticket.store((uint64_t)job << 32); // seq_cst: publishes the fields, pairs with sleepers++
    if (p->sleepers.load() > 0) {
        std::lock_guard<std::mutex> lock(p->mutex);
        p->wake.notify_all();
    }
    job_work(p, job);
    while (p->done_items.load(std::memory_order_acquire) < n_items) std::this_thread::yield();
}

#endif
