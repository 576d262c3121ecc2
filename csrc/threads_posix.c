/* SPDX-License-Identifier: MIT
 * threads_posix.c - the worker pool, the thread count and each thread's
 * GEMM packing space. Every pthread, sched, sysconf and /proc call of the
 * core is in this file, so a Windows port replaces it alone (the contract
 * is in internal.h).
 *
 * The pool: workers are created on first need and kept. A job is a number
 * of chunks; the submitting thread publishes it under a new generation,
 * wakes sleeping workers and claims chunks itself. Chunks are claimed (a
 * few at a time while many are left, one by one near the end) by a
 * compare-and-swap on one word holding (generation, chunks left), so a
 * worker that wakes late can never claim a chunk of a later job, and a
 * worker that is not running at all (both cores busy with other programs)
 * simply leaves its chunks to the submitter: a busy machine makes a job no
 * slower than running it on one thread, instead of stalling every thread
 * at a barrier as OpenMP's spinning teams did.
 * Waiting spins for a while (during training the next job usually comes
 * within tens of microseconds) and then sleeps on a condition variable.
 * How long a worker spins adapts: long on a quiet machine, where a sleep
 * and wake-up between two kernels costs more than the spin, and short as
 * soon as the worker has to wait for a CPU, which means other programs
 * want the cores and every spin would be time taken from them.
 * After fork() the child has no workers; pthread_atfork resets the pool so
 * the child creates its own on its next multi-threaded kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MAX_THREADS 1024 /* set_num_threads rejects more */
/* How long a waiting thread spins before it sleeps: */
#define SPIN_NS 50000        /* the submitter, and a worker on a busy machine */
#define QUIET_SPIN_NS 500000 /* a worker, while the machine is quiet */
#define DELAY_CHECK_NS 5000000 /* how often a worker checks (spin_time) */

/* ---- thread count ------------------------------------------------------ */

static _Atomic int num_threads = 0; /* 0: not chosen yet */

int tnn_parse_cpu_max(const char *text)
{
    char quota[32];
    long long period;
    if (sscanf(text, "%31s %lld", quota, &period) != 2 || period <= 0)
        return 0;
    if (strcmp(quota, "max") == 0)
        return 0;
    char *end;
    long long q = strtoll(quota, &end, 10);
    if (*end || q <= 0)
        return 0;
    long long cpus = (q + period - 1) / period;
    return cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
}

static int read_small_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t len = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[len] = 0;
    return 0;
}

/* The CPU quota of this process's cgroup: v2's cpu.max at the process's own
 * cgroup path, else the root's; v1's cfs quota and period. 0: none. */
static int cgroup_cpu_limit(void)
{
    char buf[512], path[600];
    if (read_small_file("/proc/self/cgroup", buf, sizeof buf) == 0) {
        char *v2 = strstr(buf, "0::");
        if (v2) {
            v2 += 3;
            v2[strcspn(v2, "\n")] = 0;
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", v2);
            if (read_small_file(path, buf, sizeof buf) == 0)
                return tnn_parse_cpu_max(buf);
        }
    }
    if (read_small_file("/sys/fs/cgroup/cpu.max", buf, sizeof buf) == 0)
        return tnn_parse_cpu_max(buf);
    char quota[32], period[32];
    if (read_small_file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", quota,
                        sizeof quota) == 0 &&
        read_small_file("/sys/fs/cgroup/cpu/cpu.cfs_period_us", period,
                        sizeof period) == 0) {
        quota[strcspn(quota, "\n")] = 0; /* v1 writes -1 for no limit */
        snprintf(buf, sizeof buf, "%s %s", quota, period);
        return tnn_parse_cpu_max(buf);
    }
    return 0;
}

static int parse_positive(const char *text)
{
    if (!text || !*text)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno || *end || n < 1 || n > MAX_THREADS)
        return 0;
    return (int)n;
}

int tnn_default_threads(void)
{
    int n = parse_positive(getenv("TINYNN_NUM_THREADS"));
    if (n)
        return n;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        n = CPU_COUNT(&allowed);
    if (n < 1)
        n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int quota = cgroup_cpu_limit();
    if (quota > 0 && quota < n)
        n = quota;
    if (n < 1)
        n = 1;
    return n > MAX_THREADS ? MAX_THREADS : n;
}

int tnn_num_threads(void)
{
    int n = num_threads;
    if (n == 0) {
        n = tnn_default_threads();
        num_threads = n;
    }
    return n;
}

void tnn_set_num_threads(int n)
{
    num_threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

int tnn_threads_for(double ops)
{
    /* Handing a chunk to a spinning worker costs about a microsecond, to a
     * sleeping one tens of microseconds: below ~256k operations (a few
     * tens of microseconds of work) one thread is as fast. */
    return ops < 262144.0 ? 1 : tnn_num_threads();
}

/* ---- the pool ------------------------------------------------------------ */

struct job {
    tnn_chunk_fn *fn;
    void *ctx;
    ptrdiff_t chunks;
};

/* One submitter at a time; a second caller runs its chunks alone. */
static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guards sleeping and waking (the two condition variables). */
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_posted = PTHREAD_COND_INITIALIZER;
static pthread_cond_t job_done = PTHREAD_COND_INITIALIZER;

static struct job job; /* stable while any of its chunks is unfinished */
/* (generation << 32) | chunks not yet claimed. A claim of k takes chunks
 * `left - 1` down to `left - k`, so chunks run from the last to the first. */
static _Atomic uint64_t claims = 0;
static _Atomic uint32_t generation = 0;  /* of the newest job */
static _Atomic ptrdiff_t finished = 0;   /* chunks of it completed */
static _Atomic int helpers_wanted = 0;   /* workers 1..helpers take part */
static _Atomic int workers_sleeping = 0; /* waiting on work_posted */
static _Atomic int submitter_sleeping = 0;
static int workers = 0; /* created so far; changed under submit_lock */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

struct worker_start {
    int id;
    uint32_t generation; /* the newest job when the worker was created */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Chunks claimed at once when `left` remain: up to CLAIM_MOST while many
 * remain (each claim is two atomics whose cache lines bounce between the
 * cores, about 0.2 us: as much as a small chunk's work), one by one near
 * the end so that the threads finish together, and never more than a
 * 32nd of what is left, so a thread descheduled while holding its claim
 * delays the job by little. Which thread runs a chunk never changes a
 * result. */
#define CLAIM_MOST 16
static uint32_t claim_size(uint32_t left)
{
    uint32_t take = left / 32;
    return take < 1 ? 1 : take > CLAIM_MOST ? CLAIM_MOST : take;
}

/* Claim and run chunks of job `gen` until none is left. */
static void run_chunks(uint32_t gen)
{
    uint64_t word = atomic_load_explicit(&claims, memory_order_acquire);
    for (;;) {
        uint32_t left = (uint32_t)word;
        if ((uint32_t)(word >> 32) != gen || left == 0)
            return;
        uint32_t take = claim_size(left);
        if (!atomic_compare_exchange_weak_explicit(&claims, &word, word - take,
                                                   memory_order_acquire,
                                                   memory_order_acquire))
            continue;
        /* The chunks are ours and unfinished, so the job cannot change. */
        ptrdiff_t chunks = job.chunks;
        for (uint32_t c = left; c > left - take; c--)
            job.fn(job.ctx, (ptrdiff_t)(c - 1));
        /* seq_cst, like the flag's store in wait_until_finished: either
         * this thread sees the submitter asleep or it sees the job done. */
        ptrdiff_t done = atomic_fetch_add(&finished, take) + take;
        if (done == chunks && atomic_load(&submitter_sleeping)) {
            pthread_mutex_lock(&sleep_lock);
            pthread_cond_signal(&job_done);
            pthread_mutex_unlock(&sleep_lock);
        }
        word = atomic_load_explicit(&claims, memory_order_acquire);
    }
}

/* Nanoseconds the calling thread has spent runnable but waiting for a
 * CPU (Linux's schedstat), or -1 where that is unknown. open/read, not
 * stdio: no allocation on a worker's way to its next job. */
static long long run_delay_ns(void)
{
    char text[96];
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = read(fd, text, sizeof text - 1);
    close(fd);
    unsigned long long ran, waited;
    if (len <= 0)
        return -1;
    text[len] = 0;
    if (sscanf(text, "%llu %llu", &ran, &waited) != 2)
        return -1;
    return (long long)waited;
}

/* What a worker remembers between jobs to choose its spin time. */
struct spin_state {
    uint64_t checked_at;  /* now_ns() of the last look at run_delay_ns */
    long long delay_then; /* run_delay_ns() at that time */
    int quiet;            /* the machine had a CPU free whenever we woke */
};

/* Measured (benchmarks/bench_train.py and a probe of schedstat): spinning
 * 500 us instead of 50 us between jobs makes batch-128 training 10-15%
 * faster on a quiet machine, where a worker that sleeps is woken several
 * times per step; on a busy machine the spinning worker is one more
 * runnable thread sharing the cores with the submitter (two processes
 * training at once: 1.5x -> 2.3x their time alone). The sign of a busy
 * machine is the worker's own run delay: quiet, it waits for a CPU under
 * 5% of the time; with one busy program per core, 30-40%. */
static uint64_t spin_time(struct spin_state *state, uint64_t now)
{
    if (now - state->checked_at >= DELAY_CHECK_NS) {
        long long delay = run_delay_ns();
        state->quiet = delay >= 0 && state->delay_then >= 0 &&
                       (uint64_t)(delay - state->delay_then) * 10 <
                           now - state->checked_at;
        state->checked_at = now;
        state->delay_then = delay;
    }
    return state->quiet ? QUIET_SPIN_NS : SPIN_NS;
}

/* Wait until the newest job is newer than `seen`; returns its generation. */
static uint32_t wait_for_work(uint32_t seen, struct spin_state *state)
{
    uint64_t now = now_ns();
    uint64_t deadline = now + spin_time(state, now);
    for (int spins = 1;; spins++) {
        uint32_t gen = atomic_load_explicit(&generation, memory_order_acquire);
        if (gen != seen)
            return gen;
        cpu_relax();
        if (spins % 64 == 0 && now_ns() > deadline)
            break;
    }
    pthread_mutex_lock(&sleep_lock);
    workers_sleeping++;
    while (atomic_load(&generation) == seen)
        pthread_cond_wait(&work_posted, &sleep_lock);
    workers_sleeping--;
    uint32_t gen = atomic_load(&generation);
    pthread_mutex_unlock(&sleep_lock);
    return gen;
}

static void *worker_main(void *arg)
{
    struct worker_start start = *(struct worker_start *)arg;
    free(arg);
    uint32_t seen = start.generation;
    struct spin_state spin = {now_ns(), run_delay_ns(), 0};
    for (;;) {
        seen = wait_for_work(seen, &spin);
        if (start.id <= atomic_load(&helpers_wanted))
            run_chunks(seen);
    }
    return NULL;
}

static void wait_until_finished(ptrdiff_t chunks)
{
    uint64_t deadline = now_ns() + SPIN_NS;
    for (int spins = 1; atomic_load(&finished) < chunks; spins++) {
        cpu_relax();
        if (spins % 64 == 0) {
            if (now_ns() > deadline)
                break;
            /* A worker holding a chunk may be waiting for this very core. */
            sched_yield();
        }
    }
    if (atomic_load(&finished) >= chunks)
        return;
    pthread_mutex_lock(&sleep_lock);
    submitter_sleeping = 1;
    while (atomic_load(&finished) < chunks)
        pthread_cond_wait(&job_done, &sleep_lock);
    submitter_sleeping = 0;
    pthread_mutex_unlock(&sleep_lock);
}

/* fork() while a job runs would copy a half-done job into the child: the
 * prepare handler waits for it, and the child, which has none of the
 * parent's workers, starts over with an empty pool. */
static void before_fork(void)
{
    pthread_mutex_lock(&submit_lock);
    pthread_mutex_lock(&sleep_lock);
}

static void after_fork_in_parent(void)
{
    pthread_mutex_unlock(&sleep_lock);
    pthread_mutex_unlock(&submit_lock);
}

static void after_fork_in_child(void)
{
    workers = 0;
    workers_sleeping = 0;
    submitter_sleeping = 0;
    pthread_cond_init(&work_posted, NULL);
    pthread_cond_init(&job_done, NULL);
    pthread_mutex_unlock(&sleep_lock);
    pthread_mutex_unlock(&submit_lock);
}

static void register_atfork(void)
{
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

/* Make sure `wanted` workers exist (called with submit_lock held); returns
 * how many do, fewer if the system refuses more threads. */
static int ensure_workers(int wanted)
{
    pthread_once(&atfork_once, register_atfork);
    /* Workers block every signal (they inherit the mask), so signals such as
     * Ctrl-C reach the interpreter's threads and not a worker. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (workers < wanted) {
        struct worker_start *start = malloc(sizeof *start);
        if (!start)
            break;
        start->id = workers + 1;
        start->generation = atomic_load(&generation);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        int err = pthread_create(&thread, &attr, worker_main, start);
        pthread_attr_destroy(&attr);
        if (err) {
            free(start);
            break;
        }
        workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return workers;
}

void tnn_parallel_for(ptrdiff_t chunks, int threads, tnn_chunk_fn *fn,
                      void *ctx)
{
    if (chunks > UINT32_MAX)
        threads = 1; /* never asked for, but the claim word holds 32 bits */
    if (threads > chunks)
        threads = (int)chunks;
    if (threads <= 1 || pthread_mutex_trylock(&submit_lock) != 0) {
        for (ptrdiff_t c = 0; c < chunks; c++)
            fn(ctx, c);
        return;
    }
    int helpers = ensure_workers(threads - 1);
    if (helpers > threads - 1)
        helpers = threads - 1;
    job = (struct job){fn, ctx, chunks};
    atomic_store(&finished, 0);
    atomic_store(&helpers_wanted, helpers);
    uint32_t gen = atomic_load(&generation) + 1;
    atomic_store_explicit(&claims, ((uint64_t)gen << 32) | (uint64_t)chunks,
                          memory_order_release);
    /* seq_cst store then load, against the worker's increment then load
     * in wait_for_work: a worker either sees the job or is woken. */
    atomic_store(&generation, gen);
    if (atomic_load(&workers_sleeping)) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&work_posted);
        pthread_mutex_unlock(&sleep_lock);
    }
    run_chunks(gen);
    wait_until_finished(chunks);
    pthread_mutex_unlock(&submit_lock);
}

/* ---- packing space ------------------------------------------------------
 * Per thread, so two Python threads (the GIL is released) and the workers
 * never share it. Allocated by a thread's first GEMM, reused by all later
 * ones, freed when the thread exits (a pthread key's destructor). */
struct pack_space {
    void *a, *b;
};

static pthread_key_t pack_key;
static pthread_once_t pack_key_once = PTHREAD_ONCE_INIT;
static int pack_key_ok = 0;

static void free_pack_space(void *space)
{
    struct pack_space *p = space;
    free(p->a);
    free(p->b);
    free(p);
}

static void make_pack_key(void)
{
    pack_key_ok = pthread_key_create(&pack_key, free_pack_space) == 0;
}

int tnn_pack_space(void **ap, void **bp)
{
    pthread_once(&pack_key_once, make_pack_key);
    if (!pack_key_ok)
        return -1;
    struct pack_space *p = pthread_getspecific(pack_key);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return -1;
        p->a = aligned_alloc(64, TNN_PACK_A_BYTES);
        p->b = aligned_alloc(64, TNN_PACK_B_BYTES);
        if (!p->a || !p->b || pthread_setspecific(pack_key, p) != 0) {
            free_pack_space(p);
            return -1;
        }
    }
    *ap = p->a;
    *bp = p->b;
    return 0;
}

/* ---- per-thread scratch space ------------------------------------------ */

struct scratch_space {
    void *data;
    size_t bytes;
};

static pthread_key_t scratch_key;
static pthread_once_t scratch_key_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok = 0;

static void free_scratch_space(void *space)
{
    struct scratch_space *s = space;
    free(s->data);
    free(s);
}

static void make_scratch_key(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, free_scratch_space) == 0;
}

void *tnn_scratch_space(size_t bytes)
{
    pthread_once(&scratch_key_once, make_scratch_key);
    if (!scratch_key_ok)
        return NULL;
    struct scratch_space *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        if (pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (bytes == 0)
        bytes = 64;
    if (s->bytes < bytes) {
        /* aligned_alloc wants a multiple of the alignment */
        size_t rounded = (bytes + 63) / 64 * 64;
        if (rounded < bytes)
            return NULL;
        void *grown = aligned_alloc(64, rounded);
        if (!grown)
            return NULL;
        free(s->data);
        s->data = grown;
        s->bytes = rounded;
    }
    return s->data;
}
