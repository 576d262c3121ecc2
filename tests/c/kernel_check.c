/* SPDX-License-Identifier: MIT
 * kernel_check.c - a C driver for the core's kernels without Python, so
 * that a path can be checked on a machine (or under an emulator) that has
 * no CPython and NumPy: tests/c/run_neon.sh builds it natively for the
 * x86-64 paths and cross-compiled for aarch64 under qemu.
 *
 * For every path compiled in and usable here (selected by name through
 * tnn_path_select), both dtypes: the GEMM on odd shapes and strided or
 * transposed operands against a naive double-precision product; the dense
 * forward and backward passes, the activations, softmax cross-entropy and
 * the optimizer updates (sgd, rmsprop, adam, adamw, adadelta, adamax,
 * nadam) against plain reference loops written here
 * (kernel_check.inc). Every case runs with 1, 2 and 3 threads; the 1-thread
 * result is compared with the reference (f64 within 1e-12, f32 within 1e-5,
 * relative to the sum of |terms|), the 2- and 3-thread results must be
 * bit-identical to it.
 *
 * Usage: kernel_check [PATH...]   each PATH named must be compiled in and
 * usable (otherwise a failure). Prints a line per path and dtype, then
 * "N passed, M failed"; exits 1 on any failure.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static long passed, failed;
static const char *context_path = "-", *context_dtype = "-";
#define MAX_REPORTED 40 /* failure messages printed; all are counted */

/* One check: counted, and reported when it fails. */
static int check(int ok, const char *fmt, ...)
{
    if (ok) {
        passed++;
        return 1;
    }
    if (failed++ < MAX_REPORTED) {
        va_list args;
        va_start(args, fmt);
        printf("FAIL [%s %s] ", context_path, context_dtype);
        vprintf(fmt, args);
        printf("\n");
        va_end(args);
    }
    return 0;
}

/* xorshift64*: the same inputs on every machine. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static double uniform(void) /* [-1, 1) */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t r = rng_state * 0x2545F4914F6CDD1Du;
    return (double)(r >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "kernel_check: out of memory\n");
        exit(2);
    }
    return p;
}

static const int thread_counts[] = {1, 2, 3};
#define THREAD_RUNS 3

static const char *const activation_names[] = {"linear", "relu", "sigmoid",
                                               "tanh", "softmax"};

/* Operand layouts of an r x c matrix: element (i, j) at i * rs + j * cs.
 * Buffers hold `*size` elements; the ones between elements are gaps. */
enum { NORMAL, TRANSPOSED, PADDED, STRIDED, LAYOUTS };
static const char layout_names[LAYOUTS] = {'n', 't', 'p', 's'};
static void layout(int kind, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t *rs,
                   ptrdiff_t *cs, ptrdiff_t *size)
{
    switch (kind) {
    case NORMAL: *rs = cols, *cs = 1; break;
    case TRANSPOSED: *rs = 1, *cs = rows; break;
    case PADDED: *rs = cols + 5, *cs = 1; break; /* rows apart, gaps after */
    default: *rs = 2 * cols + 3, *cs = 2; break; /* every other column */
    }
    *size = rows && cols ? (rows - 1) * *rs + (cols - 1) * *cs + 1 : 1;
}

enum { SGD, RMSPROP, ADAM, ADADELTA, ADAMAX, NADAM };
static const char *const optimizer_names[] = {"sgd",      "rmsprop", "adam",
                                              "adadelta", "adamax",  "nadam"};

/* double-precision activation of the reference loops */
static double act_ref(int activation, double x)
{
    switch (activation) {
    case TNN_RELU: return x < 0 ? 0 : x;
    case TNN_SIGMOID: return 1 / (1 + exp(-x));
    case TNN_TANH: return tanh(x);
    default: return x;
    }
}

#define real float
#define FN(name) name##_f32
#define TOL 1e-5
#include "kernel_check.inc"
#undef real
#undef FN
#undef TOL

#define real double
#define FN(name) name##_f64
#define TOL 1e-12
#include "kernel_check.inc"
#undef real
#undef FN
#undef TOL

int main(int argc, char **argv)
{
    int count;
    const struct tnn_path *const *paths = tnn_paths(&count);
    check(tnn_path_select("no-such-path") == -1,
          "tnn_path_select accepted an unknown name");
    for (int a = 1; a < argc; a++) {
        int found = 0;
        for (int i = 0; i < count; i++)
            if (strcmp(paths[i]->name, argv[a]) == 0)
                found = tnn_path_usable(paths[i]);
        check(found, "path '%s' is required but not compiled in or usable",
              argv[a]);
    }
    for (int i = 0; i < count; i++) {
        const struct tnn_path *path = paths[i];
        if (!tnn_path_usable(path)) {
            printf("path %s: not usable here (built %d, cpu %d), skipped\n",
                   path->name, path->built_for_isa, path->cpu_supports());
            continue;
        }
        context_path = path->name;
        if (!check(tnn_path_select(path->name) == 0 &&
                       tnn_path_active() == path,
                   "tnn_path_select(\"%s\") did not select it", path->name))
            continue;
        long p0 = passed, f0 = failed;
        context_dtype = "f32";
        run_all_f32();
        printf("path %s, f32 (tile %d x %d): %ld checks passed, %ld failed\n",
               path->name, path->f32.mr, path->f32.nr, passed - p0,
               failed - f0);
        fflush(stdout);
        p0 = passed, f0 = failed;
        context_dtype = "f64";
        run_all_f64();
        printf("path %s, f64 (tile %d x %d): %ld checks passed, %ld failed\n",
               path->name, path->f64.mr, path->f64.nr, passed - p0,
               failed - f0);
        fflush(stdout);
        context_dtype = "-";
    }
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
