// pool.c — persistent worker threads. Workers spin briefly on a generation counter, then sleep on a
// condition variable. A job's tasks are split into one contiguous range per thread; thread k
// claims tasks from range k first (an atomic on a cache line of its own, so claiming does not
// bounce a shared line between the cores per task), then helps with the other ranges. Each range
// has a cursor word (generation << 32 | next task index), claimed with a compare-and-swap, so a
// worker that wakes up late can never claim a task of a newer job with a stale function, and the
// caller (which also runs tasks, as thread 0) only waits for tasks that were actually claimed.
// Before a new job's function, context and task count are written, the old generation is closed
// (every cursor set past every task), so a worker that read the old generation and then the new
// task count cannot claim an extra task of it.
#include "dms_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sched.h>
#include <time.h>

#define DMS_CACHELINE 64

#define DMS_POOL_MAX_THREADS 64

struct dms_pool;
typedef struct {
    struct dms_pool *pool;
    int index;  // 1..nthreads-1; the caller of dms_pool_run is thread 0
} dms_worker;

struct dms_pool {
    int nthreads;
    pthread_t *threads;
    dms_worker *workers;
    int64_t spin_ns;
    pthread_mutex_t run_mu;  // serialises concurrent callers of dms_pool_run
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Alignas(DMS_CACHELINE) _Atomic uint64_t state;  // gen << 32: what sleeping and spinning workers watch
    _Atomic(dms_task_fn) fn;
    _Atomic(void *) ctx;
    atomic_int ntasks;
    atomic_int stop;
    _Alignas(DMS_CACHELINE) atomic_int done;
    _Alignas(DMS_CACHELINE) atomic_int sleepers;
    struct {
        _Alignas(DMS_CACHELINE) _Atomic uint64_t next;  // gen << 32 | next task of range k
    } cursor[DMS_POOL_MAX_THREADS];
};

static _Thread_local int tls_in_pool = 0;  // nested dms_pool_run calls run inline

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// The first task of range k of `ntasks` split over `nthreads`.
static int64_t range_begin(int64_t ntasks, int k, int nthreads) { return ntasks * k / nthreads; }

// Claims and runs tasks of generation `gen`, from range `self` first, until none is left; then
// counts them as done in one atomic add.
static void run_tasks(dms_pool *p, uint32_t gen, int self) {
    const int nth = p->nthreads;
    int ran = 0;
    for (int j = 0; j < nth; j++) {
        const int k = (self + j) % nth;
        for (;;) {
            uint64_t s = atomic_load_explicit(&p->cursor[k].next, memory_order_acquire);
            if ((uint32_t)(s >> 32) != gen) goto finished;  // a newer job: nothing of ours is left
            uint32_t i = (uint32_t)s;
            int nt = atomic_load_explicit(&p->ntasks, memory_order_acquire);
            dms_task_fn fn = atomic_load_explicit(&p->fn, memory_order_acquire);
            void *ctx = atomic_load_explicit(&p->ctx, memory_order_acquire);
            if ((int64_t)i >= range_begin(nt, k + 1, nth)) break;  // range k is exhausted (or closed)
            // Success means range k of generation `gen` still had task i unclaimed and was not
            // closed, so fn/ctx/nt (read after an acquire of this generation, and only rewritten
            // after every range is closed) are its own.
            if (!atomic_compare_exchange_weak_explicit(&p->cursor[k].next, &s, s + 1, memory_order_acq_rel,
                                                       memory_order_acquire))
                continue;
            fn(ctx, (int)i, nt);
            ran++;
        }
    }
finished:
    if (ran) atomic_fetch_add_explicit(&p->done, ran, memory_order_release);
}

static void *worker_main(void *arg) {
    const dms_worker *w = (const dms_worker *)arg;
    dms_pool *p = w->pool;
    tls_in_pool = 1;
    uint32_t seen = 0;
    for (;;) {
        // wait for a new generation: spin, then sleep
        uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
        if ((uint32_t)(s >> 32) == seen) {
            int64_t t0 = now_ns();
            int spins = 0;
            for (;;) {
                dms_cpu_relax();
                s = atomic_load_explicit(&p->state, memory_order_acquire);
                if ((uint32_t)(s >> 32) != seen) break;
                if (++spins == 64) {
                    spins = 0;
                    if (now_ns() - t0 > p->spin_ns) {
                        pthread_mutex_lock(&p->mu);
                        atomic_fetch_add_explicit(&p->sleepers, 1, memory_order_seq_cst);
                        for (;;) {
                            s = atomic_load_explicit(&p->state, memory_order_seq_cst);
                            if ((uint32_t)(s >> 32) != seen) break;
                            pthread_cond_wait(&p->cv, &p->mu);
                        }
                        atomic_fetch_sub_explicit(&p->sleepers, 1, memory_order_seq_cst);
                        pthread_mutex_unlock(&p->mu);
                        break;
                    }
                }
            }
        }
        seen = (uint32_t)(s >> 32);
        if (atomic_load_explicit(&p->stop, memory_order_acquire)) break;
        run_tasks(p, seen, w->index);
    }
    return NULL;
}

// Makes the current generation unclaimable (every cursor past any task count); returns the next one.
static uint32_t close_generation(dms_pool *p) {
    uint32_t gen = (uint32_t)(atomic_load_explicit(&p->state, memory_order_relaxed) >> 32);
    for (int k = 0; k < p->nthreads; k++)
        atomic_store_explicit(&p->cursor[k].next, ((uint64_t)gen << 32) | UINT32_MAX, memory_order_seq_cst);
    return gen + 1;
}

// Opens generation `gen` of `ntasks` tasks: the cursors at their ranges' starts, then the word the
// workers watch.
static void publish(dms_pool *p, uint32_t gen, int ntasks) {
    for (int k = 0; k < p->nthreads; k++)
        atomic_store_explicit(&p->cursor[k].next, ((uint64_t)gen << 32) | (uint64_t)range_begin(ntasks, k, p->nthreads),
                              memory_order_seq_cst);
    atomic_store_explicit(&p->state, (uint64_t)gen << 32, memory_order_seq_cst);
    if (atomic_load_explicit(&p->sleepers, memory_order_seq_cst) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

dms_pool *dms_pool_create(int nthreads) {
    if (nthreads < 1) nthreads = 1;
    if (nthreads > DMS_POOL_MAX_THREADS) nthreads = DMS_POOL_MAX_THREADS;
    dms_pool *p = NULL;
    if (posix_memalign((void **)&p, DMS_CACHELINE, sizeof(dms_pool)) != 0) return NULL;
    memset(p, 0, sizeof(*p));
    p->nthreads = nthreads;
    p->spin_ns = 50000;  // 50 us
    const char *env = getenv("DMS_POOL_SPIN_US");
    if (env) p->spin_ns = (int64_t)atol(env) * 1000;
    pthread_mutex_init(&p->run_mu, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->state, 0);
    for (int k = 0; k < DMS_POOL_MAX_THREADS; k++) atomic_init(&p->cursor[k].next, UINT32_MAX);
    atomic_init(&p->fn, NULL);
    atomic_init(&p->ctx, NULL);
    atomic_init(&p->ntasks, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleepers, 0);
    p->threads = NULL;
    if (nthreads > 1) {
        p->threads = (pthread_t *)calloc((size_t)nthreads - 1, sizeof(pthread_t));
        p->workers = (dms_worker *)calloc((size_t)nthreads - 1, sizeof(dms_worker));
        if (!p->threads || !p->workers) p->nthreads = 1;
        for (int i = 0; i < p->nthreads - 1; i++) {
            p->workers[i] = (dms_worker){p, i + 1};
            if (pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]) != 0) {
                p->nthreads = i + 1;  // run with the threads we got
                break;
            }
        }
    }
    return p;
}

void dms_pool_destroy(dms_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->run_mu);
    uint32_t gen = close_generation(p);
    atomic_store_explicit(&p->stop, 1, memory_order_seq_cst);
    atomic_store_explicit(&p->ntasks, 0, memory_order_release);
    publish(p, gen, 0);
    for (int i = 0; i < p->nthreads - 1; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_unlock(&p->run_mu);
    free(p->threads);
    free(p->workers);
    pthread_mutex_destroy(&p->run_mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int dms_pool_threads(const dms_pool *p) { return p ? p->nthreads : 1; }

void dms_pool_run(dms_pool *p, dms_task_fn fn, void *ctx, int ntasks) {
    if (ntasks <= 0) return;
    if (!p || p->nthreads <= 1 || ntasks == 1 || tls_in_pool) {
        for (int i = 0; i < ntasks; i++) fn(ctx, i, ntasks);
        return;
    }
    pthread_mutex_lock(&p->run_mu);
    uint32_t gen = close_generation(p);
    atomic_store_explicit(&p->fn, fn, memory_order_release);
    atomic_store_explicit(&p->ctx, ctx, memory_order_release);
    atomic_store_explicit(&p->ntasks, ntasks, memory_order_release);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    publish(p, gen, ntasks);
    tls_in_pool = 1;
    run_tasks(p, gen, 0);
    tls_in_pool = 0;
    unsigned spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < ntasks) {
        dms_cpu_relax();
        if (++spins > (1u << 20)) { sched_yield(); }
    }
    pthread_mutex_unlock(&p->run_mu);
}
