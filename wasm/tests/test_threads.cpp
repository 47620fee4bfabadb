// Thread pool: every item is visited exactly once, for any split, pool size and job sequence.
#include <stdio.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "threads.h"
#include "check.h"


struct visits {
    std::vector<std::atomic<int>> count;
    std::atomic<int> bad_ranges{0};
    int64_t grain;
    explicit visits(int64_t n, int64_t g) : count(n), grain(g) {}
};

static void visit(void* ctx, int64_t begin, int64_t end) {
    visits* v = (visits*)ctx;
    if (end <= begin || end - begin > v->grain || begin % v->grain != 0) v->bad_ranges++;
    for (int64_t i = begin; i < end; i++) v->count[i]++;
}

static bool run_once(int64_t n, int64_t grain) {
    visits v(n, grain);
    pool_run(n, grain, visit, &v);
    bool ok = v.bad_ranges == 0;
    for (int64_t i = 0; i < n; i++) ok = ok && v.count[i] == 1;
    return ok;
}

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
static const bool HAS_THREADS = false;
#else
static const bool HAS_THREADS = true;
#endif

struct meeting {
    std::mutex mutex;
    std::set<std::thread::id> seen;
};

// Each item waits (up to a second) until two threads have been seen: proves the work is shared.
static void meet(void* ctx, int64_t, int64_t) {
    meeting* m = (meeting*)ctx;
    auto start = std::chrono::steady_clock::now();
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(m->mutex);
            m->seen.insert(std::this_thread::get_id());
            if (m->seen.size() >= 2) return;
        }
        if (std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) return;
    }
}

static void test_pool(int n_threads) {
    pool_init(n_threads);
    CHECK(pool_threads() == (HAS_THREADS ? n_threads : 1));
    if (pool_threads() > 1) {
        meeting m;
        pool_run(64, 1, meet, &m);
        CHECK(m.seen.size() >= 2);
    }
    bool all = true;
    for (int64_t n : {0, 1, 2, 7, 64, 1000, 4097})
        for (int64_t grain : {1, 3, 16, 5000}) all = all && run_once(n, grain);
    CHECK(all);
    // Many tiny jobs back to back, as decode issues them.
    bool many = true;
    for (int i = 0; i < 20000 && many; i++) many = run_once(64, 8);
    CHECK(many);
}

int main(void) {
    test_pool(1);
    test_pool(2);
    test_pool(4);
    test_pool(2); // shrinking replaces the pool
    pool_free();
    CHECK(pool_threads() == 1);
    CHECK(run_once(100, 7)); // without a pool, jobs run inline
    return check_report();
}
