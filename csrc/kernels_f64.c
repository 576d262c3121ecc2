/* SPDX-License-Identifier: MIT
 * kernels_f64.c - every .inc kernel instantiated for float64. */
#include <math.h>

#include "tinynn.h"

#define real double
#define FN(name) name##_f64
#define EXP exp
#define TANH tanh
#define SQRT sqrt
#define VBYTES 16
#define MR TNN_MR_PORTABLE
#define G(name) name##_portable_f64
#include "gemm.inc"
#undef VBYTES
#undef MR
#undef G
#define tnn_gemm_avx2_driver_f64 tnn_gemm_f64_avx2
#define tnn_gemm_avx512_driver_f64 tnn_gemm_f64_avx512
#include "gemm_entry.inc"
#include "activations.inc"
#include "dense.inc"
#include "losses.inc"
#define OPT(name) name##_portable_f64
#include "optim.inc"
#undef OPT
#include "optim_entry.inc"
