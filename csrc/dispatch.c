/* SPDX-License-Identifier: MIT
 * dispatch.c - the SIMD path (detected once, overridable), the thread count,
 * and each calling thread's GEMM packing space.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tinynn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int simd_ready = 0;
static enum tnn_simd simd_path = TNN_SIMD_PORTABLE;
static int num_threads = 0; /* 0: not yet chosen */

static int cpu_has(enum tnn_simd path)
{
    if (path == TNN_SIMD_PORTABLE)
        return 1;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (path == TNN_SIMD_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (path == TNN_SIMD_AVX512)
        return __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("fma");
#endif
    return 0;
}

enum tnn_simd tnn_simd_best(void)
{
    if (cpu_has(TNN_SIMD_AVX512))
        return TNN_SIMD_AVX512;
    if (cpu_has(TNN_SIMD_AVX2))
        return TNN_SIMD_AVX2;
    return TNN_SIMD_PORTABLE;
}

const char *tnn_simd_name(enum tnn_simd path)
{
    switch (path) {
    case TNN_SIMD_AVX2:
        return "avx2";
    case TNN_SIMD_AVX512:
        return "avx512";
    default:
        return "portable";
    }
}

enum tnn_simd tnn_simd_active(void)
{
    if (!simd_ready) {
        /* TINYNN_SIMD names a path to force; an unknown or unsupported one
         * falls back to the best path rather than failing at import. */
        const char *forced = getenv("TINYNN_SIMD");
        simd_path = tnn_simd_best();
        for (int p = TNN_SIMD_PORTABLE; forced && p <= TNN_SIMD_AVX512; p++)
            if (strcmp(forced, tnn_simd_name((enum tnn_simd)p)) == 0 &&
                cpu_has((enum tnn_simd)p))
                simd_path = (enum tnn_simd)p;
        simd_ready = 1;
    }
    return simd_path;
}

int tnn_simd_set(enum tnn_simd path)
{
    if (!cpu_has(path))
        return -1;
    simd_path = path;
    simd_ready = 1;
    return 0;
}

int tnn_num_threads(void)
{
    if (num_threads == 0) {
#ifdef _OPENMP
        num_threads = omp_get_num_procs();
#else
        num_threads = 1;
#endif
        if (num_threads < 1)
            num_threads = 1;
    }
    return num_threads;
}

void tnn_set_num_threads(int n) { num_threads = n < 1 ? 1 : n; }

int tnn_threads_for(double flops)
{
    /* Below ~1 MFLOP the cost of waking threads exceeds the work. */
    int n = tnn_num_threads();
    return flops < 1e6 ? 1 : n;
}

/* Packing space per calling thread, so two Python threads (the GIL is
 * released) never share it. It is allocated by a thread's first GEMM, reused
 * by all later ones, and freed when the thread exits (a pthread key's
 * destructor), so programs that start many threads do not accumulate it. */
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
        size_t a_bytes = (size_t)TNN_GEMM_MC * TNN_GEMM_KC * sizeof(double);
        size_t b_bytes =
            (size_t)(TNN_GEMM_NC + 64) * TNN_GEMM_KC * sizeof(double);
        p = malloc(sizeof *p);
        if (!p)
            return -1;
        p->a = aligned_alloc(64, a_bytes);
        p->b = aligned_alloc(64, b_bytes);
        if (!p->a || !p->b || pthread_setspecific(pack_key, p) != 0) {
            free_pack_space(p);
            return -1;
        }
    }
    *ap = p->a;
    *bp = p->b;
    return 0;
}
