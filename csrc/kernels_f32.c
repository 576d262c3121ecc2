/* SPDX-License-Identifier: MIT
 * kernels_f32.c - every kernel of tinynn.h instantiated for float32. The
 * SIMD-specific parts (GEMM driver, optimizer loops) are in path_*.c and
 * reached through the active path's KERNELS member. */
#include <math.h>

#include "internal.h"

#define real float
#define IREAL int32_t /* the integer type as wide as real */
#define UIREAL uint32_t
#define FN(name) name##_f32
#define KERNELS f32
#define EXP expf
#define TANH tanhf
#define SQRT sqrtf
#define ERF erff
#define EXPM1 expm1f
#define LOG1P log1pf
/* First: the kernels below run their products through the GEMM's entry,
 * and dense.inc takes Adam steps through optim_entry.inc. */
#include "gemm_entry.inc"
#include "optim_entry.inc"

#include "activations.inc"
#include "batchnorm.inc"
#include "data.inc"
#include "dense.inc"
#include "dropout.inc"
#include "embedding.inc"
#include "losses.inc"
#include "merge.inc"
#include "pool.inc"

/* After dense.inc: conv2d reuses its bias helpers. */
#include "conv.inc"
