/* SPDX-License-Identifier: MIT
 * dispatch.c - SIMD path and thread count. PLACEHOLDER: portable only. */
#include "tinynn.h"

static int num_threads = 1;
static enum tnn_simd active = TNN_SIMD_PORTABLE;

enum tnn_simd tnn_simd_best(void) { return TNN_SIMD_PORTABLE; }
enum tnn_simd tnn_simd_active(void) { return active; }
int tnn_simd_set(enum tnn_simd path)
{
    if (path != TNN_SIMD_PORTABLE)
        return -1;
    active = path;
    return 0;
}
const char *tnn_simd_name(enum tnn_simd path)
{
    switch (path) {
    case TNN_SIMD_AVX2: return "avx2";
    case TNN_SIMD_AVX512: return "avx512";
    default: return "portable";
    }
}
int tnn_num_threads(void) { return num_threads; }
int tnn_set_num_threads(int n)
{
    num_threads = n;
    return 0;
}
