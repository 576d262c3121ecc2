/* SPDX-License-Identifier: MIT
 * kernels_f32.c - every .inc kernel instantiated for float32. */
#include "tinynn.h"

#define real float
#define FN(name) name##_f32
#include "gemm.inc"
