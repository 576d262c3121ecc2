/* SPDX-License-Identifier: MIT
 * path_neon.c - AArch64 AdvSIMD (NEON): 16-byte vectors like the portable
 * path, but 8-row micro-tiles. setup.py compiles it with no extra flags:
 * AdvSIMD is part of the ARMv8-A baseline, so every aarch64 compiler emits
 * it by default and every aarch64 CPU runs it. On other machines the file
 * compiles to nothing.
 *
 * Tile: NR is two vectors (f32 8 columns, f64 4), so MR 8 keeps 2 * 8 = 16
 * accumulators live. GCC's inner loop (aarch64-linux-gnu-gcc 12, -O3 -S)
 * loads the two b vectors and a's 8 values, one register each, and issues
 * 16 fmla-by-element per step: 16 + 2 + 8 = 26 of AArch64's 32 vector
 * registers, no spills, against 16 registers on x86-64 where the portable
 * path's 4-row tile (8 accumulators) has to fit. MR 8 does 16 fmla per 10
 * loads (portable's 4 x 8: 8 per 6). MR 12 would need 24 + 2 + 12 = 38
 * registers, and GCC does spill accumulators to the stack inside the loop.
 * MR 8 also divides TNN_GEMM_MC (96).
 *
 * Checked without aarch64 hardware by cross-compiling the kernel files with
 * a C driver and running it under qemu (tests/c/run_neon.sh, which also
 * runs the driver natively for the x86-64 paths first):
 *   apt-get install gcc-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross
 *   bash tests/c/run_neon.sh
 * The cross half is, in essence:
 *   aarch64-linux-gnu-gcc -O2 -static -std=gnu11 -pthread -Icsrc \
 *       tests/c/kernel_check.c csrc/{dispatch,threads_posix,kernels_f32,
 *       kernels_f64,path_portable,path_neon}.c -lm -o kernel_check
 *   qemu-aarch64 ./kernel_check
 * (pytest tests/test_neon_cross.py runs the script; .ci/neon.sh installs the
 * tools when missing and runs it.)
 */
#include "internal.h"

#if defined(__aarch64__)

#define PATH neon
#define VBYTES 16
#define MR_F32 8
#define MR_F64 8
#if defined(__ARM_NEON)
#define PATH_BUILT 1
#else
#define PATH_BUILT 0
#endif

/* AdvSIMD is mandatory in ARMv8-A: every aarch64 CPU has it. */
static int path_cpu_supports(void) { return 1; }

#include "path.inc"

#endif
