/* SPDX-License-Identifier: MIT
 * kernels_f32.c - every .inc kernel instantiated for float32. */
#include <math.h>

#include "tinynn.h"

#define real float
#define FN(name) name##_f32
#define EXP expf
#define TANH tanhf
#define SQRT sqrtf
#define VBYTES 16
#define MR TNN_MR_PORTABLE
#define G(name) name##_portable_f32
#include "gemm.inc"
#undef VBYTES
#undef MR
#undef G
#define tnn_gemm_avx2_driver_f32 tnn_gemm_f32_avx2
#define tnn_gemm_avx512_driver_f32 tnn_gemm_f32_avx512
#include "gemm_entry.inc"
#include "activations.inc"
#include "dense.inc"
#include "losses.inc"
#define OPT(name) name##_portable_f32
#include "optim.inc"
#undef OPT
#include "optim_entry.inc"
