/* SPDX-License-Identifier: MIT
 * tinynn.h - the manual of tinynn's C core.
 *
 * Every kernel exists twice, once per dtype: tnn_<op>_<pass>_f32 (real =
 * float) and tnn_<op>_<pass>_f64 (real = double). Matrices are row-major.
 * Kernels never allocate, never fail and never touch Python: the extension
 * (module.c) checks every argument before calling them.
 */
#ifndef TINYNN_H
#define TINYNN_H

#include <stddef.h>

/* ---- GEMM -------------------------------------------------------------
 * c[i, j] (+)= sum_p a[i, p] * b[p, j]   for i < m, j < n, p < k
 * Operands are strided (BLIS style): element (i, p) of a is
 * a[i * rsa + p * csa], so a transpose is a swap of the two strides.
 * accumulate = 0 overwrites c without reading it (c may hold NaN);
 * accumulate = 1 adds to c. c must not overlap a or b.
 * Threads split the m and n loops only, never k: results are bit-identical
 * for a fixed thread count. */
void tnn_gemm_f32(const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *c,
                  ptrdiff_t rsc, ptrdiff_t csc, ptrdiff_t m, ptrdiff_t n,
                  ptrdiff_t k, int accumulate);
void tnn_gemm_f64(const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c,
                  ptrdiff_t rsc, ptrdiff_t csc, ptrdiff_t m, ptrdiff_t n,
                  ptrdiff_t k, int accumulate);

/* ---- Run-time configuration (dispatch.c) ------------------------------ */
enum tnn_simd { TNN_SIMD_PORTABLE = 0, TNN_SIMD_AVX2 = 1, TNN_SIMD_AVX512 = 2 };

/* The best path this CPU supports (detected once). */
enum tnn_simd tnn_simd_best(void);
/* The path in use: TINYNN_SIMD env var at first use, else the best. */
enum tnn_simd tnn_simd_active(void);
/* Force a path; returns 0 on success, -1 if the CPU lacks it. */
int tnn_simd_set(enum tnn_simd path);
const char *tnn_simd_name(enum tnn_simd path);

int tnn_num_threads(void);
/* n >= 1; also (re)allocates per-thread GEMM packing space.
 * Returns 0 on success, -1 if that space could not be allocated. */
int tnn_set_num_threads(int n);

#endif
