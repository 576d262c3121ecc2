/* SPDX-License-Identifier: MIT
 * path_avx2.c - AVX2 + FMA: 32-byte vectors, 6-row micro-tiles (12
 * accumulators). setup.py compiles this file alone with -mavx2 -mfma; its
 * code runs only after dispatch.c has seen the CPU support it.
 */
#include "internal.h"

#if defined(__x86_64__)

#define PATH avx2
#define VBYTES 32
#define MR_F32 6
#define MR_F64 6
#if defined(__AVX2__) && defined(__FMA__)
#define PATH_BUILT 1
#else
#define PATH_BUILT 0
#endif

static int path_cpu_supports(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#include "path.inc"

#endif
