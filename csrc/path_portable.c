/* SPDX-License-Identifier: MIT
 * path_portable.c - the path every CPU runs: 16-byte vectors (SSE2 on
 * x86-64, NEON on aarch64, plain scalars where the compiler has neither),
 * compiled with the default flags.
 */
#include "internal.h"

#define PATH portable
#define VBYTES 16
#define MR_F32 4
#define MR_F64 4
#define PATH_BUILT 1

static int path_cpu_supports(void) { return 1; }

#include "path.inc"
