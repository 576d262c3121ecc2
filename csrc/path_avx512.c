/* SPDX-License-Identifier: MIT
 * path_avx512.c - AVX-512F + FMA: 64-byte vectors, 8-row micro-tiles (16
 * accumulators). setup.py compiles this file alone with -mavx512f -mfma;
 * its code runs only after dispatch.c has seen the CPU support it.
 */
#include "internal.h"

#if defined(__x86_64__)

#define PATH avx512
#define VBYTES 64
#define MR_F32 8
#define MR_F64 8
#if defined(__AVX512F__) && defined(__FMA__)
#define PATH_BUILT 1
#else
#define PATH_BUILT 0
#endif

static int path_cpu_supports(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

#include "path.inc"

#endif
