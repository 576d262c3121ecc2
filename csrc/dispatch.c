/* SPDX-License-Identifier: MIT
 * dispatch.c - the SIMD path (detected once, overridable), the thread count,
 * and each calling thread's GEMM packing space.
 */
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
 * released) never share it. Freed only at exit: it is reused by every
 * later GEMM of that thread. */
static _Thread_local void *pack_a, *pack_b;

int tnn_pack_space(void **ap, void **bp)
{
    if (!pack_a) {
        size_t a_bytes = (size_t)TNN_GEMM_MC * TNN_GEMM_KC * sizeof(double);
        size_t b_bytes =
            (size_t)(TNN_GEMM_NC + 64) * TNN_GEMM_KC * sizeof(double);
        void *a = aligned_alloc(64, a_bytes), *b = aligned_alloc(64, b_bytes);
        if (!a || !b) {
            free(a);
            free(b);
            return -1;
        }
        pack_a = a;
        pack_b = b;
    }
    *ap = pack_a;
    *bp = pack_b;
    return 0;
}
