/* SPDX-License-Identifier: MIT
 * gemm_x86.c - the GEMM of gemm.inc and the optimizer updates of optim.inc
 * compiled for AVX2+FMA and AVX-512.
 *
 * The same bodies as the portable path (the GEMM with wider vectors and more
 * rows per micro-tile); each instance is compiled for its instruction set
 * with a target pragma, and only called after dispatch.c has checked the CPU.
 */
#include <math.h>

#include "tinynn.h"

#if defined(__x86_64__) && defined(__GNUC__)

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VBYTES 32
#define MR TNN_MR_AVX2
#define ISA avx2
#include "x86_path.inc"
#undef VBYTES
#undef MR
#undef ISA
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#define VBYTES 64
#define MR TNN_MR_AVX512
#define ISA avx512
#include "x86_path.inc"
#undef VBYTES
#undef MR
#undef ISA
#pragma GCC pop_options

/* Exported wrappers: the static drivers under the names tinynn.h gives. */
#define EXPORT(dtype, isa, real)                                               \
    void tnn_gemm_##dtype##_##isa(                                             \
        const real *a, ptrdiff_t rsa, ptrdiff_t csa, const real *b,            \
        ptrdiff_t rsb, ptrdiff_t csb, real *c, ptrdiff_t rsc, ptrdiff_t csc,   \
        ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, int accumulate, real *ap,       \
        real *bp, int threads)                                                 \
    {                                                                          \
        gemm_##dtype##_##isa(a, rsa, csa, b, rsb, csb, c, rsc, csc, m, n, k,   \
                             accumulate, ap, bp, threads);                     \
    }
EXPORT(f32, avx2, float)
EXPORT(f64, avx2, double)
EXPORT(f32, avx512, float)
EXPORT(f64, avx512, double)

#endif /* x86-64: elsewhere only the portable path exists */
