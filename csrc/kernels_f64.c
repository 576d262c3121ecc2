/* SPDX-License-Identifier: MIT
 * kernels_f64.c - every .inc kernel instantiated for float64. */
#include "tinynn.h"

#define real double
#define FN(name) name##_f64
#include "gemm.inc"
