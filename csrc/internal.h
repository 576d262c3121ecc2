/* SPDX-License-Identifier: MIT
 * internal.h - what the parts of the C core share with each other and not
 * with callers: the worker pool, the thread-count policy, packing space and
 * the table of SIMD paths. The manual for callers is tinynn.h.
 */
#ifndef TINYNN_INTERNAL_H
#define TINYNN_INTERNAL_H

#include "tinynn.h"

/* ---- Threads (threads_posix.c: the only file with platform calls) ------
 * tnn_parallel_for runs fn(ctx, c) once for every chunk c in [0, chunks)
 * and returns when all have finished. Up to `threads` threads take part,
 * the caller included; chunks are claimed a few at a time (at most 16,
 * one by one near the end), so a thread that is descheduled (a busy
 * machine) leaves its share to the others instead of holding them up. Which
 * thread runs a chunk varies from call to call: a chunk must write only its own
 * outputs and compute them the same way whoever runs it (that is what keeps
 * results bit-identical for any thread count). A caller that finds the pool
 * busy with another caller's work runs all chunks itself. */
typedef void tnn_chunk_fn(void *ctx, ptrdiff_t chunk);
void tnn_parallel_for(ptrdiff_t chunks, int threads, tnn_chunk_fn *fn,
                      void *ctx);

/* Threads worth using for `ops` scalar operations (2 m n k for a GEMM; n
 * times a per-element cost elsewhere): 1 below the point where handing work
 * to another thread costs more than it saves, otherwise tnn_num_threads().
 * The core's one threshold. */
int tnn_threads_for(double ops);

/* The count used when set_num_threads was never called: TINYNN_NUM_THREADS
 * if it is a positive integer, otherwise the CPUs this process may run on
 * (affinity mask), lowered to the cgroup CPU quota when there is one. */
int tnn_default_threads(void);

/* CPUs allowed by a cgroup v2 "cpu.max" line ("quota period" or "max
 * period"), rounded up; 0 when it sets no limit or cannot be parsed. */
int tnn_parse_cpu_max(const char *text);

/* 64-byte aligned GEMM packing space of the calling thread (allocated on
 * its first GEMM, reused, freed at thread exit): *ap gets TNN_PACK_A_BYTES
 * and *bp TNN_PACK_B_BYTES. Returns -1 if it cannot be allocated. */
#define TNN_PACK_A_BYTES ((size_t)TNN_GEMM_MC * TNN_GEMM_KC * sizeof(double))
#define TNN_PACK_B_BYTES                                                       \
    ((size_t)(TNN_GEMM_NC + 64) * TNN_GEMM_KC * sizeof(double))
int tnn_pack_space(void **ap, void **bp);

/* A 64-byte aligned scratch buffer of at least `bytes` bytes owned by the
 * calling thread: grown when a call asks for more (the old contents are
 * lost), reused otherwise, freed at thread exit. NULL if it cannot be
 * allocated. For callers that must hand kernels their work space (conv2d's
 * im2col panels); call it with the GIL held, before the kernel. */
void *tnn_scratch_space(size_t bytes);

/* Rows [*r0, *r1) of the input under output row `o` of a pooling window
 * (clipped to the input); likewise for columns. */
static inline void tnn_pool_span(ptrdiff_t o, ptrdiff_t stride, ptrdiff_t pad,
                                 ptrdiff_t pool, ptrdiff_t size, ptrdiff_t *r0,
                                 ptrdiff_t *r1)
{
    ptrdiff_t start = o * stride - pad, end = start + pool;
    *r0 = start < 0 ? 0 : start;
    *r1 = end > size ? size : end;
}

/* ---- A small convolution fused with its max pooling, computed directly --
 * (conv_direct.inc, one instance per SIMD path; conv.inc fills this in).
 * Tap k = (i, j, c) of the kh kw c taps reads x at row i dilation_h and
 * column j dilation_w of its pixel's window, channel c: offset[k] from the
 * window's corner (row[k] width + col[k]) channels + c. */
#define TNN_CONV_DIRECT_K 64 /* the most taps computed directly */
struct tnn_conv_direct {
    ptrdiff_t taps, filters;
    ptrdiff_t height, width, channels, out_w;
    ptrdiff_t stride_h, stride_w, pad_top, pad_left;
    ptrdiff_t span_h, span_w; /* the window's last row and column */
    ptrdiff_t pool_h, pool_w;
    ptrdiff_t kp; /* rows of a packed kernel panel (G(igemm)'s layout) */
    int relu;
    ptrdiff_t offset[TNN_CONV_DIRECT_K], row[TNN_CONV_DIRECT_K],
        col[TNN_CONV_DIRECT_K];
    ptrdiff_t sequence[TNN_CONV_DIRECT_K]; /* 0, 1, ...: a patch's offsets */
    /* pooling window cell r pool_w + s: its index r out_w + s from the
     * window's first cell */
    ptrdiff_t cell[TNN_CONV_ROWS];
};

/* ---- What the GEMM driver does to a tile of c once its sum is complete --
 * (after the last slice of k; every member optional, NULL or 0 for none):
 * add bias[j] (column j of c), apply relu, zero c where gate (laid out like
 * c) is not above 0 (relu's derivative: an input gradient gated by the
 * relu output it flows back through), then take an Adam/AdamW step on
 * the weights whose gradient the tile is: w, m, v and vhat (amsgrad, or
 * NULL) are laid out like c (same strides, c's column stride 1), and the
 * scalars are those of the path's adam entry. The gradient stays in c,
 * unless gradient_unread is 1: then c is working space, and the driver may
 * keep a block's gradient in its own space instead (G(gemm)). */
#define TNN_GEMM_EPILOGUE(real)                                                \
    struct {                                                                   \
        const real *bias;                                                      \
        int relu;                                                              \
        const real *gate;                                                      \
        real *w, *m, *v, *vhat;                                                \
        real alpha, one_minus_beta1, one_minus_beta2, epsilon, decay;          \
        int gradient_unread;                                                   \
    }
typedef TNN_GEMM_EPILOGUE(float) tnn_epilogue_f32;
typedef TNN_GEMM_EPILOGUE(double) tnn_epilogue_f64;

/* ---- SIMD paths (path_*.c, chosen in dispatch.c) -------------------------
 * A path is the GEMM driver and the optimizer updates compiled for one
 * instruction set, in its own file with its own compiler flags (setup.py).
 * Every entry works on the range it is given with the calling thread only:
 * splitting work over threads happens once, in kernels_f*.c. */
#define TNN_PATH_KERNELS(real, epilogue)                                       \
    struct {                                                                   \
        int mr, nr; /* micro-tile rows and columns */                          \
        /* c (+)= a b on the whole m x n x k problem, then the epilogue (or    \
         * NULL) on each finished tile; ap, bp: packing space */               \
        void (*gemm)(const real *a, ptrdiff_t rsa, ptrdiff_t csa,              \
                     const real *b, ptrdiff_t rsb, ptrdiff_t csb, real *c,     \
                     ptrdiff_t rsc, ptrdiff_t csc, ptrdiff_t m, ptrdiff_t n,   \
                     ptrdiff_t k, int accumulate, const epilogue *ep,          \
                     real *ap, real *bp);                                      \
        /* the indirect GEMM of convolutions (gemm.inc, G(igemm)) */           \
        void (*igemm)(ptrdiff_t m, ptrdiff_t n, ptrdiff_t taps, ptrdiff_t q,   \
                      const real *const *ptrs, const real *zero,               \
                      const real *bp, ptrdiff_t kp, real *c, ptrdiff_t rsc,    \
                      real *const *crows, int load, const real *bias,          \
                      int relu);                                               \
        /* the same product for narrow outputs (gemm.inc, G(idot)) */          \
        void (*idot)(ptrdiff_t m, ptrdiff_t n, ptrdiff_t taps, ptrdiff_t q,    \
                     const real *const *ptrs, const real *zero,                \
                     const real *bt, ptrdiff_t kp, real *c, ptrdiff_t rsc,     \
                     int load);                                                \
        /* the gathering GEMM of kernel gradients (gemm.inc, G(ggemm)) */      \
        void (*ggemm)(ptrdiff_t m, ptrdiff_t n, ptrdiff_t kc,                  \
                      const real *const *ptrs, ptrdiff_t stride,               \
                      const ptrdiff_t *tap, const ptrdiff_t *chan,             \
                      const real *bp, real *c, ptrdiff_t rsc, int load);       \
        void (*sgd)(real * w, const real *g, real *velocity, ptrdiff_t n,      \
                    real lr, real momentum, int nesterov);                     \
        void (*rmsprop)(real * w, const real *g, real *s, real *velocity,      \
                        ptrdiff_t n, real lr, real rho, real one_minus_rho,    \
                        real momentum, real epsilon);                          \
        /* alpha: the learning rate with both bias corrections folded in */    \
        void (*adam)(real * w, const real *g, real *m, real *v, real *vhat,    \
                     ptrdiff_t n, real alpha, real one_minus_beta1,            \
                     real one_minus_beta2, real epsilon, real decay);          \
        void (*adagrad)(real * w, const real *g, real *accumulator,            \
                        ptrdiff_t n, real lr, real epsilon);                   \
        void (*adadelta)(real * w, const real *g, real *accumulated_grad,      \
                         real *accumulated_delta, ptrdiff_t n, real lr,        \
                         real rho, real one_minus_rho, real epsilon);          \
        /* alpha: lr / (1 - beta_1^t) */                                       \
        void (*adamax)(real * w, const real *g, real *m, real *u, ptrdiff_t n, \
                       real alpha, real one_minus_beta1, real beta2,           \
                       real epsilon);                                          \
        void (*nadam)(real * w, const real *g, real *m, real *v, ptrdiff_t n,  \
                      real lr, real one_minus_beta1, real one_minus_beta2,     \
                      real c_m, real c_g, real inv_bc2, real epsilon);         \
        /* max pooling of output rows [first, last) (pool_simd.inc) */         \
        void (*max_pool_rows)(const struct tnn_pool2d *g, const real *x,       \
                              real *y, void *argmax, int index_type,           \
                              ptrdiff_t first, ptrdiff_t last);                \
        /* 1 unless every argmax of those rows lies in its window */           \
        int (*max_pool_outside)(const struct tnn_pool2d *g,                    \
                                const void *argmax, int index_type,            \
                                ptrdiff_t first, ptrdiff_t last);              \
        /* the dx rows they own, each value written once (windows apart) */    \
        void (*max_pool_route)(const struct tnn_pool2d *g, const real *dy,     \
                               const real *gate, const void *argmax,           \
                               int index_type, real *dx, ptrdiff_t first,      \
                               ptrdiff_t last);                                \
        /* a window of a fused convolution's backward (conv.inc) */            \
        int (*pool_route_window)(const real *dy, const real *yp,               \
                                 const int32_t *am, int relu, ptrdiff_t f,     \
                                 ptrdiff_t nr, ptrdiff_t panel_step,           \
                                 ptrdiff_t ncells, const int32_t *cells,       \
                                 real *const *rows, real *dbp);                \
        /* a row of windows of a small fused convolution (conv_direct.inc) */  \
        void (*conv_pool_direct)(const struct tnn_conv_direct *d,              \
                                 const real *x, const real *packed,            \
                                 const real *bias, ptrdiff_t oh0,              \
                                 ptrdiff_t ow0, ptrdiff_t windows, real *y,    \
                                 int32_t *argmax);                             \
        int (*conv_pool_direct_grad)(const struct tnn_conv_direct *d,          \
                                     const real *x, ptrdiff_t oh0,             \
                                     ptrdiff_t ow0, ptrdiff_t windows,         \
                                     const real *dy, const real *yp,           \
                                     const int32_t *am, real *dwp, real *dbp); \
    }

struct tnn_path {
    const char *name;
    /* 1 when this CPU can run the path */
    int (*cpu_supports)(void);
    /* 1 when the compiler really emitted the path's instructions (its
     * feature macros were defined while compiling it); a path built
     * without them is never offered. */
    int built_for_isa;
    TNN_PATH_KERNELS(float, tnn_epilogue_f32) f32;
    TNN_PATH_KERNELS(double, tnn_epilogue_f64) f64;
};

/* The paths compiled into this build, portable first; *count gets their
 * number. */
const struct tnn_path *const *tnn_paths(int *count);
/* The path in use: TINYNN_SIMD names one at first use (if usable), else
 * the best usable one. */
const struct tnn_path *tnn_path_active(void);
/* A path may be selected when the CPU supports it and it was built for
 * its instruction set. */
int tnn_path_usable(const struct tnn_path *path);
/* Select a usable path by name: 0, or -1 unknown name, -2 not usable. */
int tnn_path_select(const char *name);

#endif
