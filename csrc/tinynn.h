/* SPDX-License-Identifier: MIT
 * tinynn.h - the manual of tinynn's C core.
 *
 * Every kernel exists twice, once per dtype: tnn_<op>_<pass>_f32 (real =
 * float) and tnn_<op>_<pass>_f64 (real = double); the f64 prototypes are the
 * f32 ones with double. Matrices are row-major and C-contiguous unless
 * strides are given. Kernels never allocate on their hot path, never fail
 * and never touch Python: the extension (module.c) checks every argument
 * (shapes, dtypes, overlaps, label ranges) before calling them.
 */
#ifndef TINYNN_H
#define TINYNN_H

#include <stddef.h>
#include <stdint.h>

/* ---- Block sizes of the GEMM (elements) --------------------------------
 * MC rows of a and KC columns are packed per block (L2), KC x NC of b per
 * panel (L3). Micro-tile MR x NR per SIMD path (csrc/path_*.c) and dtype
 * (NR = two vectors):
 *   portable: f32 4 x 8,   f64 4 x 4    (16-byte vectors)
 *   avx2:     f32 6 x 16,  f64 6 x 8    (32-byte vectors, 12 accumulators)
 *   avx512:   f32 8 x 32,  f64 8 x 16   (64-byte vectors, 16 accumulators)
 *   neon:     f32 8 x 8,   f64 8 x 4    (16-byte vectors, 16 accumulators)
 */
#define TNN_GEMM_MC 96
#define TNN_GEMM_KC 256
#define TNN_GEMM_NC 2048

/* ---- GEMM -------------------------------------------------------------
 * c[i, j] (+)= sum_p a[i, p] * b[p, j]   for i < m, j < n, p < k
 * Operands are strided (BLIS style): element (i, p) of a is
 * a[i * rsa + p * csa], so a transpose is a swap of the two strides.
 * accumulate = 0 overwrites c without reading it (c may hold NaN);
 * accumulate = 1 adds to c. c must not overlap a or b.
 * Threads take blocks of c, never slices of k: each c element is summed in
 * the same order whatever the thread count (bit-identical results). */
void tnn_gemm_f32(const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                  ptrdiff_t rsb, ptrdiff_t csb, float *c, ptrdiff_t rsc,
                  ptrdiff_t csc, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                  int accumulate);
void tnn_gemm_f64(const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *c,
                  ptrdiff_t rsc, ptrdiff_t csc, ptrdiff_t m, ptrdiff_t n,
                  ptrdiff_t k, int accumulate);

/* ---- Dense layer (dense.inc), all products through tnn_gemm ------------
 * forward:  y = act(x w + b)          x: (batch, fan_in), w: (fan_in,
 *           fan_out), b: (fan_out,) or NULL, y: (batch, fan_out).
 *           act is a tnn_activation; y must not overlap x, w, b.
 * backward: dx = dy w^T               dx: (batch, fan_in) or NULL
 *           ... then dx = 0 where gate <= 0: gate NULL, or (batch, fan_in)
 *           (the relu output before this layer: its backward fused here)
 *           dw (+)= x^T dy            dw: (fan_in, fan_out)
 *           db (+)= column sums of dy db: (fan_out,) or NULL
 *           dx is always overwritten; dw and db add when accumulate = 1.
 *           No output may overlap an input.
 * backward_update: backward (accumulate = 0), then the Adam or AdamW step
 *           `step` (see tnn_adamw_update) on w from dw and on b from db,
 *           with moments m_w, v_w, vhat_w (amsgrad, else NULL) laid out
 *           like w and m_b, v_b, vhat_b like b (b NULL when db is). w's
 *           step is taken on each tile of dw as soon as it is final, while
 *           it is in cache; the result is the same as tnn_adamw_update's
 *           after backward. db receives the bias gradient; dw receives
 *           the kernel gradient when keep_dw = 1, and is working space
 *           otherwise (written or not: a batch that one slice of the GEMM
 *           sums keeps the gradient in cache only). No array may overlap
 *           another (dx is computed from w first). */
struct tnn_adam_step {
    double lr, beta1, beta2, epsilon, weight_decay; /* weight_decay 0: Adam */
    int64_t step;                                   /* t >= 1 */
};
enum tnn_activation {
    TNN_LINEAR = 0,
    TNN_RELU = 1,
    TNN_SIGMOID = 2,
    TNN_TANH = 3,
    TNN_SOFTMAX = 4,
    /* Element-wise only (not fused into dense_forward, which takes 0-4): */
    TNN_ELU = 5,
    TNN_SELU = 6,
    TNN_SOFTPLUS = 7,
    TNN_LEAKY_RELU = 8,
    TNN_SWISH = 9,
    TNN_GELU = 10,
    TNN_GELU_TANH = 11
};
/* Activations whose backward reads the forward INPUT x instead of y. */
static inline int tnn_activation_from_input(int activation)
{
    return activation == TNN_SWISH || activation == TNN_GELU ||
           activation == TNN_GELU_TANH;
}
void tnn_dense_forward_f32(const float *x, const float *w, const float *b,
                           float *y, ptrdiff_t batch, ptrdiff_t fan_in,
                           ptrdiff_t fan_out, int activation);
void tnn_dense_backward_f32(const float *x, const float *w, const float *dy,
                            float *dx, const float *gate, float *dw, float *db,
                            ptrdiff_t batch, ptrdiff_t fan_in,
                            ptrdiff_t fan_out, int accumulate);
void tnn_dense_backward_update_f32(
    const float *x, float *w, float *b, const float *dy, float *dx,
    const float *gate, float *dw, float *db, ptrdiff_t batch, ptrdiff_t fan_in,
    ptrdiff_t fan_out, float *m_w, float *v_w, float *vhat_w, float *m_b,
    float *v_b, float *vhat_b, const struct tnn_adam_step *step, int keep_dw);
void tnn_dense_forward_f64(const double *x, const double *w, const double *b,
                           double *y, ptrdiff_t batch, ptrdiff_t fan_in,
                           ptrdiff_t fan_out, int activation);
void tnn_dense_backward_f64(const double *x, const double *w, const double *dy,
                            double *dx, const double *gate, double *dw,
                            double *db, ptrdiff_t batch, ptrdiff_t fan_in,
                            ptrdiff_t fan_out, int accumulate);
void tnn_dense_backward_update_f64(
    const double *x, double *w, double *b, const double *dy, double *dx,
    const double *gate, double *dw, double *db, ptrdiff_t batch,
    ptrdiff_t fan_in, ptrdiff_t fan_out, double *m_w, double *v_w,
    double *vhat_w, double *m_b, double *v_b, double *vhat_b,
    const struct tnn_adam_step *step, int keep_dw);

/* ---- The user's data (data.inc) -------------------------------------------
 * first_nonfinite: the index of the first of a's n values that is NaN or
 * infinite (as float when narrow = 1: a float64 value beyond float32's
 * range counts), or -1. */
ptrdiff_t tnn_first_nonfinite_f32(const float *a, ptrdiff_t n, int narrow);
ptrdiff_t tnn_first_nonfinite_f64(const double *a, ptrdiff_t n, int narrow);

/* ---- Batch normalization (batchnorm.inc), Keras 2's BatchNormalization --
 * x, y, dy, dx: (rows, channels); every other array: (channels,).
 * forward, training = 1: per channel, mean = mean of x over the rows and
 *           var = mean of (x - mean)^2 (biased); the moving statistics move
 *           in place: moving -= (moving - batch value) (1 - momentum).
 *           training = 0: mean = moving_mean, var = moving_var, nothing
 *           else is written but y, mean and inv_std.
 *           Then inv_std = 1 / sqrt(var + epsilon) and
 *           y = x (gamma inv_std) + (beta - mean gamma inv_std).
 *           gamma NULL means 1, beta NULL means 0 (scale / center off).
 *           mean and inv_std are saved for the backward pass.
 * backward: xhat = (x - mean) inv_std from the saved statistics;
 *           dbeta = column sums of dy, dgamma = column sums of dy xhat
 *           (always written: dx needs them); dx (or NULL) =
 *           gamma inv_std (dy - (dbeta + xhat dgamma) / rows) when the
 *           forward pass used the batch's statistics (training = 1), else
 *           gamma inv_std dy. dx may be dy; no other overlap. */
void tnn_batchnorm_forward_f32(const float *x, const float *gamma,
                               const float *beta, float *moving_mean,
                               float *moving_var, float *y, float *mean,
                               float *inv_std, ptrdiff_t rows,
                               ptrdiff_t channels, double momentum,
                               double epsilon, int training);
void tnn_batchnorm_backward_f32(const float *x, const float *gamma,
                                const float *dy, const float *mean,
                                const float *inv_std, float *dx, float *dgamma,
                                float *dbeta, ptrdiff_t rows,
                                ptrdiff_t channels, int training);
void tnn_batchnorm_forward_f64(const double *x, const double *gamma,
                               const double *beta, double *moving_mean,
                               double *moving_var, double *y, double *mean,
                               double *inv_std, ptrdiff_t rows,
                               ptrdiff_t channels, double momentum,
                               double epsilon, int training);
void tnn_batchnorm_backward_f64(const double *x, const double *gamma,
                                const double *dy, const double *mean,
                                const double *inv_std, double *dx,
                                double *dgamma, double *dbeta, ptrdiff_t rows,
                                ptrdiff_t channels, int training);

/* ---- Layer normalization (batchnorm.inc), Keras's LayerNormalization ---
 * x, y, dy, dx: (rows, channels); gamma, beta, dgamma, dbeta: (channels,);
 * mean, inv_std: (rows,).
 * forward:  per row, mean = mean of x over the channels, var = mean of
 *           (x - mean)^2 (biased), inv_std = 1 / sqrt(var + epsilon);
 *           y = (x - mean) inv_std gamma + beta (gamma NULL means 1, beta
 *           NULL means 0). mean and inv_std are saved for the backward pass.
 * backward: xhat from the saved statistics; dbeta = column sums of dy,
 *           dgamma = column sums of dy xhat (always written); dx (or NULL)
 *           = inv_std (g - mean(g) - xhat mean(g xhat)) per row, g = gamma dy.
 *           dx may be dy; no other overlap. */
void tnn_layernorm_forward_f32(const float *x, const float *gamma,
                               const float *beta, float *y, float *mean,
                               float *inv_std, ptrdiff_t rows,
                               ptrdiff_t channels, double epsilon);
void tnn_layernorm_backward_f32(const float *x, const float *gamma,
                                const float *dy, const float *mean,
                                const float *inv_std, float *dx, float *dgamma,
                                float *dbeta, ptrdiff_t rows,
                                ptrdiff_t channels);
void tnn_layernorm_forward_f64(const double *x, const double *gamma,
                               const double *beta, double *y, double *mean,
                               double *inv_std, ptrdiff_t rows,
                               ptrdiff_t channels, double epsilon);
void tnn_layernorm_backward_f64(const double *x, const double *gamma,
                                const double *dy, const double *mean,
                                const double *inv_std, double *dx,
                                double *dgamma, double *dbeta, ptrdiff_t rows,
                                ptrdiff_t channels);

/* ---- PReLU (activations.inc), Keras's PReLU layer -----------------------
 * x, y, dy, dx: (outer, channels, inner); alpha, dalpha: (channels,), one
 * slope per channel shared by its inner values and every outer index.
 * forward:  y = x for x > 0, alpha x otherwise; y may be x.
 * backward: dalpha[c] = sum of dy min(x, 0) over outer and inner (written,
 *           not accumulated); dx (or NULL) = dy for x > 0, alpha dy for
 *           x < 0, 0 at x = 0 (TensorFlow's relu gradient at 0). dx may be
 *           dy; no other overlap. */
void tnn_prelu_forward_f32(const float *x, const float *alpha, float *y,
                           ptrdiff_t outer, ptrdiff_t channels,
                           ptrdiff_t inner);
void tnn_prelu_backward_f32(const float *x, const float *alpha, const float *dy,
                            float *dx, float *dalpha, ptrdiff_t outer,
                            ptrdiff_t channels, ptrdiff_t inner);
void tnn_prelu_forward_f64(const double *x, const double *alpha, double *y,
                           ptrdiff_t outer, ptrdiff_t channels,
                           ptrdiff_t inner);
void tnn_prelu_backward_f64(const double *x, const double *alpha,
                            const double *dy, double *dx, double *dalpha,
                            ptrdiff_t outer, ptrdiff_t channels,
                            ptrdiff_t inner);

/* ---- Activations (activations.inc) --------------------------------------
 * forward:  y = act(x), element-wise over n values; softmax works row-wise
 *           on (rows, cols) and subtracts the row max so exp never
 *           overflows. y may be x (in place); no partial overlap.
 *           elu:        x > 0 ? x : alpha (e^x - 1)        (alpha >= 0)
 *           selu:       scale * elu(x, alpha), Keras's fixed constants
 *           softplus:   log(1 + e^x), computed without overflow
 *           leaky_relu: x > 0 ? x : alpha x                (alpha >= 0)
 *           swish:      x sigmoid(x)  (Keras's silu)
 *           gelu:       x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
 *           gelu_tanh:  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *           alpha is read by elu and leaky_relu only.
 * backward: dx = dy * act'(x). `in` is the forward OUTPUT y, except for
 *           swish, gelu and gelu_tanh (tnn_activation_from_input), where it
 *           is the forward INPUT x:
 *           relu dy [y > 0], sigmoid dy y (1 - y), tanh dy (1 - y^2),
 *           linear dy, softmax y (dy - rowsum(dy y)), elu dy (y > 0 ? 1 :
 *           y + alpha), selu dy (y > 0 ? scale : y + scale alpha), softplus
 *           dy (1 - e^-y), leaky_relu dy (y > 0 ? 1 : alpha), swish
 *           dy s (1 + x (1 - s)), gelu dy (Phi(x) + x phi(x)), gelu_tanh its
 *           tanh form's derivative. dx may be dy; dx must not overlap in.
 * The element-wise forms take rows * cols values. */
void tnn_activation_forward_f32(int activation, const float *x, float *y,
                                ptrdiff_t rows, ptrdiff_t cols, double alpha);
void tnn_activation_backward_f32(int activation, const float *in,
                                 const float *dy, float *dx, ptrdiff_t rows,
                                 ptrdiff_t cols, double alpha);
void tnn_activation_forward_f64(int activation, const double *x, double *y,
                                ptrdiff_t rows, ptrdiff_t cols, double alpha);
void tnn_activation_backward_f64(int activation, const double *in,
                                 const double *dy, double *dx, ptrdiff_t rows,
                                 ptrdiff_t cols, double alpha);

/* ---- Keras's general ReLU (activations.inc), element-wise over n values --
 * forward:  y = x > t ? min(x, max_value) : negative_slope (x - t), with
 *           t = threshold; max_value may be +inf. y may be x.
 * backward: dx = dy * (x > t ? (x < max_value ? 1 : 0) : negative_slope),
 *           from the forward INPUT x. dx may be dy, not x. */
void tnn_relu_clip_forward_f32(const float *x, float *y, ptrdiff_t n,
                               double max_value, double negative_slope,
                               double threshold);
void tnn_relu_clip_backward_f32(const float *x, const float *dy, float *dx,
                                ptrdiff_t n, double max_value,
                                double negative_slope, double threshold);
void tnn_relu_clip_forward_f64(const double *x, double *y, ptrdiff_t n,
                               double max_value, double negative_slope,
                               double threshold);
void tnn_relu_clip_backward_f64(const double *x, const double *dy, double *dx,
                                ptrdiff_t n, double max_value,
                                double negative_slope, double threshold);

/* ---- Rescaling (activations.inc), x, y, dy, dx: (rows, cols) -----------
 * forward:  y[r, c] = x[r, c] scale[c] + offset[c]; y may be x.
 * backward: dx[r, c] = dy[r, c] scale[c]; dx may be dy.
 * scale, offset: (cols,), must not overlap the output. */
void tnn_rescale_forward_f32(const float *x, const float *scale,
                             const float *offset, float *y, ptrdiff_t rows,
                             ptrdiff_t cols);
void tnn_rescale_backward_f32(const float *dy, const float *scale, float *dx,
                              ptrdiff_t rows, ptrdiff_t cols);
void tnn_rescale_forward_f64(const double *x, const double *scale,
                             const double *offset, double *y, ptrdiff_t rows,
                             ptrdiff_t cols);
void tnn_rescale_backward_f64(const double *dy, const double *scale, double *dx,
                              ptrdiff_t rows, ptrdiff_t cols);

/* ---- Merge layers (merge.inc): Keras's Add, Subtract, Multiply, Average,
 * Maximum, Minimum, Concatenate and Dot --------------------------------------
 * Element-wise merges: xs holds count >= 1 pointers to n values each (the
 * inputs x0, x1, ...), out, dy and every dxs[k] n values. Every n-ary fold
 * runs left to right, x0 first, in the arrays' dtype:
 *   add:      out = x0 + x1 + ... ; accumulate = 1: out = out + x0 + x1 +
 *             ... (out is the first term; the executor's g += scratch).
 *   subtract: out = x0 - x1 (count = 2).
 *   multiply: out = x0 * x1 * ...
 *   average:  out = (x0 + x1 + ...) / count  (a division, as Keras does).
 *   maximum:  m = x0, then m = max(m, x_k) for k = 1, 2, ...: equal values
 *             take x_k (TensorFlow's float64 result: only a zero's sign
 *             differs), a NaN anywhere gives NaN.
 *   minimum:  the same with min.
 *   accumulate is read by add only. out may be one of the inputs (each
 *   element reads all inputs before it is written); no partial overlap.
 * backward: dxs[k] (NULL: not wanted) for every input:
 *   add:      dx_k = dy.            subtract: dx0 = dy, dx1 = -dy.
 *   multiply: dx_k = dy * (product of x_m, m != k, left to right); no
 *             division, so zeros are fine.
 *   average:  dx_k = dy / count.
 *   maximum:  dy goes to exactly one input per element, the one
 *             TensorFlow's gradient of the left fold picks: each step
 *             max(m, x_k) routes to m where m >= x_k, else to x_k. So ties
 *             go to the earliest input, and wherever any input is NaN
 *             (count >= 2) dy goes to the last one. minimum: m <= x_k.
 *   xs is read by multiply, maximum and minimum only (add, subtract and
 *   average may pass NULL). dxs must not overlap xs, dy or each other. */
enum tnn_merge {
    TNN_MERGE_ADD = 0,
    TNN_MERGE_SUBTRACT = 1,
    TNN_MERGE_MULTIPLY = 2,
    TNN_MERGE_AVERAGE = 3,
    TNN_MERGE_MAXIMUM = 4,
    TNN_MERGE_MINIMUM = 5
};
void tnn_merge_forward_f32(int op, const float *const *xs, ptrdiff_t count,
                           float *out, ptrdiff_t n, int accumulate);
void tnn_merge_backward_f32(int op, const float *const *xs, ptrdiff_t count,
                            const float *dy, float *const *dxs, ptrdiff_t n);
void tnn_merge_forward_f64(int op, const double *const *xs, ptrdiff_t count,
                           double *out, ptrdiff_t n, int accumulate);
void tnn_merge_backward_f64(int op, const double *const *xs, ptrdiff_t count,
                            const double *dy, double *const *dxs, ptrdiff_t n);
/* scale: out = alpha * x over n values (alpha -1: Subtract's dx1, 1: a
 * copy); out may be x. */
void tnn_scale_f32(const float *x, float *out, ptrdiff_t n, double alpha);
void tnn_scale_f64(const double *x, double *out, ptrdiff_t n, double alpha);
/* concat: input k viewed as (outer, widths[k], inner), out (or dy) as
 * (outer, W, inner), W = sum of widths: out[o, off_k + w, i] = x_k[o, w, i]
 * with off_k = widths[0] + ... + widths[k - 1] (any axis: outer = product
 * of the dims before it, inner after it). backward copies the other way,
 * dxs[k] (NULL: skipped) = dy's slice. Plain copies; no overlap. */
void tnn_concat_forward_f32(const float *const *xs, const ptrdiff_t *widths,
                            ptrdiff_t count, float *out, ptrdiff_t outer,
                            ptrdiff_t inner);
void tnn_concat_backward_f32(const float *dy, const ptrdiff_t *widths,
                             ptrdiff_t count, float *const *dxs,
                             ptrdiff_t outer, ptrdiff_t inner);
void tnn_concat_forward_f64(const double *const *xs, const ptrdiff_t *widths,
                            ptrdiff_t count, double *out, ptrdiff_t outer,
                            ptrdiff_t inner);
void tnn_concat_backward_f64(const double *dy, const ptrdiff_t *widths,
                             ptrdiff_t count, double *const *dxs,
                             ptrdiff_t outer, ptrdiff_t inner);
/* dot: Keras's Dot(axes=1) on x0, x1: (rows, cols); out, dy: rows values.
 * forward:  out[r] = sum_k x0[r, k] x1[r, k], summed over k in order, in
 *           double. normalize = 1: each row first l2-normalized as
 *           tf.linalg.l2_normalize does: xn = x / sqrt(max(sum x^2,
 *           epsilon)) (Keras 2: epsilon = 1e-12; Keras 3 caps 1 / norm at
 *           1e7, about epsilon = 1e-14).
 * backward: dx0 = dy x1, dx1 = dy x0; normalize = 1: dx0 = dy / n0 (x1n -
 *           x0n out) where sum x0^2 >= epsilon, dy / n0 x1n where the norm
 *           was clamped (n0 the clamped norm); likewise dx1. dx0, dx1 may
 *           be NULL; no output may overlap an input or the other. */
void tnn_dot_forward_f32(const float *x0, const float *x1, float *out,
                         ptrdiff_t rows, ptrdiff_t cols, int normalize,
                         double epsilon);
void tnn_dot_backward_f32(const float *x0, const float *x1, const float *dy,
                          float *dx0, float *dx1, ptrdiff_t rows,
                          ptrdiff_t cols, int normalize, double epsilon);
void tnn_dot_forward_f64(const double *x0, const double *x1, double *out,
                         ptrdiff_t rows, ptrdiff_t cols, int normalize,
                         double epsilon);
void tnn_dot_backward_f64(const double *x0, const double *x1, const double *dy,
                          double *dx0, double *dx1, ptrdiff_t rows,
                          ptrdiff_t cols, int normalize, double epsilon);

/* batch_dot: Keras's Dot on 3-D inputs, x0 (batch, a1, a2) and x1 (batch,
 * b1, b2), summed over x0's axis axis0 and x1's axis1 (each 1 or 2; the
 * summed dims equal): out[b] = A_b B_b (batch, m, n) with A_b x0[b] as
 * (free, summed) and B_b x1[b] as (summed, free), one tnn_gemm per batch
 * entry (no normalize). backward: dx0 (or NULL) = dy B^T, dx1 (or NULL) =
 * A^T dy, laid out as x0 and x1. No output may overlap an input. */
void tnn_batch_dot_forward_f32(const float *x0, const float *x1, float *out,
                               ptrdiff_t batch, ptrdiff_t a1, ptrdiff_t a2,
                               ptrdiff_t b1, ptrdiff_t b2, int axis0,
                               int axis1);
void tnn_batch_dot_backward_f32(const float *x0, const float *x1,
                                const float *dy, float *dx0, float *dx1,
                                ptrdiff_t batch, ptrdiff_t a1, ptrdiff_t a2,
                                ptrdiff_t b1, ptrdiff_t b2, int axis0,
                                int axis1);
void tnn_batch_dot_forward_f64(const double *x0, const double *x1, double *out,
                               ptrdiff_t batch, ptrdiff_t a1, ptrdiff_t a2,
                               ptrdiff_t b1, ptrdiff_t b2, int axis0,
                               int axis1);
void tnn_batch_dot_backward_f64(const double *x0, const double *x1,
                                const double *dy, double *dx0, double *dx1,
                                ptrdiff_t batch, ptrdiff_t a1, ptrdiff_t a2,
                                ptrdiff_t b1, ptrdiff_t b2, int axis0,
                                int axis1);

/* ---- Losses (losses.inc); each returns the batch MEAN, summed in double -
 * softmax_xent:       logits (batch, classes), labels (batch,) integer ids
 *                     read through tnn_label_at (type: enum tnn_label_type),
 *                     all in [0, classes). loss_i = logsumexp(z_i) - z_i[y_i];
 *                     dlogits = (softmax(z) - onehot(y)) / batch (or NULL;
 *                     may be logits itself); *correct = rows whose first
 *                     argmax is the label.
 * softmax_xent_dense: targets (batch, classes) one-hot or probabilities:
 *                     loss_i = -sum_k t_ik log_softmax(z_i)_k; dlogits =
 *                     (softmax(z) rowsum(t) - t) / batch; *correct = rows
 *                     where argmax z == argmax t.
 * mse:                n values: mean (p - t)^2; dpred = 2 (p - t) / n.
 * bce:                probabilities, Keras 2: q = clip(p, eps, 1 - eps),
 *                     mean of -(t log(q + eps) + (1 - t) log(1 - q + eps)),
 *                     eps = 1e-7; dpred is its derivative (0 where clipped).
 * sigmoid_bce:        logits: mean of max(z,0) - z t + log(1 + exp(-|z|));
 *                     dlogits = (sigmoid(z) - t) / n; may be logits itself.
 * huber:              e = p - t, delta > 0: mean of 0.5 e^2 where |e| <=
 *                     delta, else delta |e| - 0.5 delta^2 (Keras's Huber);
 *                     dpred = (e or delta sign(e)) / n; may be pred itself.
 * Output gradients are written only when the pointer is not NULL. */
enum tnn_label_type {
    TNN_I8,
    TNN_I16,
    TNN_I32,
    TNN_I64,
    TNN_U8,
    TNN_U16,
    TNN_U32,
    TNN_U64
};
/* Label i of an integer array of the given type, widened to int64. */
static inline int64_t tnn_label_at(const void *labels, int type, ptrdiff_t i)
{
    switch (type) {
    case TNN_I8: return ((const int8_t *)labels)[i];
    case TNN_I16: return ((const int16_t *)labels)[i];
    case TNN_I32: return ((const int32_t *)labels)[i];
    case TNN_U8: return ((const uint8_t *)labels)[i];
    case TNN_U16: return ((const uint16_t *)labels)[i];
    case TNN_U32: return ((const uint32_t *)labels)[i];
    case TNN_U64: return (int64_t)((const uint64_t *)labels)[i];
    default: return ((const int64_t *)labels)[i];
    }
}
double tnn_softmax_xent_f32(const float *logits, const void *labels,
                            int label_type, float *dlogits, ptrdiff_t batch,
                            ptrdiff_t classes, ptrdiff_t *correct);
double tnn_softmax_xent_dense_f32(const float *logits, const float *targets,
                                  float *dlogits, ptrdiff_t batch,
                                  ptrdiff_t classes, ptrdiff_t *correct);
double tnn_mse_f32(const float *pred, const float *target, float *dpred,
                   ptrdiff_t n);
double tnn_bce_f32(const float *pred, const float *target, float *dpred,
                   ptrdiff_t n);
double tnn_sigmoid_bce_f32(const float *logits, const float *target,
                           float *dlogits, ptrdiff_t n);
double tnn_softmax_xent_f64(const double *logits, const void *labels,
                            int label_type, double *dlogits, ptrdiff_t batch,
                            ptrdiff_t classes, ptrdiff_t *correct);
double tnn_softmax_xent_dense_f64(const double *logits, const double *targets,
                                  double *dlogits, ptrdiff_t batch,
                                  ptrdiff_t classes, ptrdiff_t *correct);
double tnn_mse_f64(const double *pred, const double *target, double *dpred,
                   ptrdiff_t n);
double tnn_bce_f64(const double *pred, const double *target, double *dpred,
                   ptrdiff_t n);
double tnn_sigmoid_bce_f64(const double *logits, const double *target,
                           double *dlogits, ptrdiff_t n);
double tnn_huber_f32(const float *pred, const float *target, float *dpred,
                     ptrdiff_t n, double delta);
double tnn_huber_f64(const double *pred, const double *target, double *dpred,
                     ptrdiff_t n, double delta);

/* ---- Optimizer updates (optim.inc), in place over n values --------------
 * sgd:     momentum 0 (velocity NULL): w -= lr g. Otherwise
 *          v = mu v - lr g; w += v, or w += mu v - lr g with nesterov.
 * rmsprop: s = rho s + (1 - rho) g^2; step = lr g / sqrt(s + eps);
 *          velocity NULL: w -= step; else v = mu v + step; w -= v.
 * adam:    Keras's rule, t = step >= 1:
 *          alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t);
 *          m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2);
 *          w -= alpha m / (sqrt(v) + eps)  (eps on the uncorrected sqrt v);
 *          vhat (amsgrad) NULL, or vhat = max(vhat, v) used in place of v.
 * adagrad: Keras 2's rule: acc += g^2; w -= lr g / (sqrt(acc) + eps).
 * adamw:   adam after w -= w lr weight_decay (Keras's decoupled decay).
 * adadelta: a = rho a + (1 - rho) g^2;
 *          d = -sqrt(ad + eps) g / sqrt(a + eps);
 *          ad = rho ad + (1 - rho) d^2; w += lr d.
 * adamax:  m += (g - m)(1 - beta1); u = max(beta2 u, |g|);
 *          w -= lr m / ((1 - beta1^t)(u + eps)).
 * nadam:   Keras's rule with u_t = beta1 (1 - 0.5 0.96^t) and u_product
 *          = u_1 ... u_t (the caller's running product):
 *          m, v as adam; mhat = u_{t+1} m / (1 - u_product u_{t+1})
 *          + (1 - u_t) g / (1 - u_product);
 *          w -= lr mhat / (sqrt(v / (1 - beta2^t)) + eps).
 * Threads take chunks of whole 64-byte lines; elements are independent. */
void tnn_sgd_update_f32(float *w, const float *g, float *velocity, ptrdiff_t n,
                        double lr, double momentum, int nesterov);
void tnn_rmsprop_update_f32(float *w, const float *g, float *s, float *velocity,
                            ptrdiff_t n, double lr, double rho, double momentum,
                            double epsilon);
void tnn_adam_update_f32(float *w, const float *g, float *m, float *v,
                         float *vhat, ptrdiff_t n, double lr, double beta1,
                         double beta2, double epsilon, int64_t step);
void tnn_adagrad_update_f32(float *w, const float *g, float *accumulator,
                            ptrdiff_t n, double lr, double epsilon);
void tnn_adamw_update_f32(float *w, const float *g, float *m, float *v,
                          float *vhat, ptrdiff_t n, double lr, double beta1,
                          double beta2, double epsilon, int64_t step,
                          double weight_decay);
void tnn_adadelta_update_f32(float *w, const float *g, float *accumulated_grad,
                             float *accumulated_delta, ptrdiff_t n, double lr,
                             double rho, double epsilon);
void tnn_adamax_update_f32(float *w, const float *g, float *m, float *u,
                           ptrdiff_t n, double lr, double beta1, double beta2,
                           double epsilon, int64_t step);
void tnn_nadam_update_f32(float *w, const float *g, float *m, float *v,
                          ptrdiff_t n, double lr, double beta1, double beta2,
                          double epsilon, int64_t step, double u_product);
void tnn_sgd_update_f64(double *w, const double *g, double *velocity,
                        ptrdiff_t n, double lr, double momentum, int nesterov);
void tnn_rmsprop_update_f64(double *w, const double *g, double *s,
                            double *velocity, ptrdiff_t n, double lr,
                            double rho, double momentum, double epsilon);
void tnn_adam_update_f64(double *w, const double *g, double *m, double *v,
                         double *vhat, ptrdiff_t n, double lr, double beta1,
                         double beta2, double epsilon, int64_t step);

void tnn_adagrad_update_f64(double *w, const double *g, double *accumulator,
                            ptrdiff_t n, double lr, double epsilon);
void tnn_adamw_update_f64(double *w, const double *g, double *m, double *v,
                          double *vhat, ptrdiff_t n, double lr, double beta1,
                          double beta2, double epsilon, int64_t step,
                          double weight_decay);
void tnn_adadelta_update_f64(double *w, const double *g,
                             double *accumulated_grad,
                             double *accumulated_delta, ptrdiff_t n, double lr,
                             double rho, double epsilon);
void tnn_adamax_update_f64(double *w, const double *g, double *m, double *u,
                           ptrdiff_t n, double lr, double beta1, double beta2,
                           double epsilon, int64_t step);
void tnn_nadam_update_f64(double *w, const double *g, double *m, double *v,
                          ptrdiff_t n, double lr, double beta1, double beta2,
                          double epsilon, int64_t step, double u_product);

/* ---- 2-D convolution (conv.inc), Keras's Conv2D / Conv1D / Conv2DTranspose -
 * NHWC layout. The geometry of one convolution, in the terms of its forward
 * pass (a Conv2DTranspose is described by the convolution it transposes):
 *   x: (batch, height, width, channels)       the convolution's input
 *   w: (kernel_h, kernel_w, channels, filters) Keras's kernel; in row order
 *      it IS a (kernel_h kernel_w channels, filters) matrix, Dense's kernel
 *   y: (batch, out_h, out_w, filters)          the convolution's output
 *   y[n, oh, ow, f] = b[f] + sum over i < kernel_h, j < kernel_w,
 *       c < channels of x[n, oh stride_h - pad_top + i dilation_h,
 *       ow stride_w - pad_left + j dilation_w, c] w[i, j, c, f],
 *   reading 0 where the row or column falls outside x (zero padding).
 * The callers guarantee out_h = (height + pad_top + pad_bottom - (kernel_h -
 * 1) dilation_h - 1) / stride_h + 1 (floor, >= 1), and likewise out_w.
 *
 * Forward and input gradient run as an indirect GEMM on the SIMD path's
 * micro-kernel (conv.inc): every output row reads its windows through one
 * pointer per kernel tap, so windows are never copied. The kernel
 * gradient copies windows into im2col panels for the GEMM; a small one
 * (at most TNN_CONV_SMALL_GRAD elements) is summed in TNN_CONV_PARTS fixed
 * parts of the output lines, then the parts are added in order. Panels,
 * parts and the taps' grouping depend on the shapes and the dtype only,
 * never on the thread count, so every sum keeps one order and results are
 * bit-identical for any thread count.
 * scratch: tnn_conv2d_scratch_bytes(shape, sizeof(real)) bytes, owned by
 * the caller; the kernels never allocate.
 *
 * conv2d_forward:   y = act(conv(x, w) + b); b may be NULL; act as
 *                   dense_forward (0-4; softmax over the filters).
 * conv2d_backward:  dy is the gradient of the pre-activation output:
 *                   dx (or NULL) = the input gradient (overwritten);
 *                   dw (+)= the kernel gradient; db (or NULL) (+)= sums of
 *                   dy over batch, out_h, out_w; add when accumulate = 1.
 * conv2d_transpose_forward:  the input gradient of the convolution as a
 *                   layer: x: (batch, out_h, out_w, filters), y: (batch,
 *                   height, width, channels) = act(conv^T(x, w) + b), b:
 *                   (channels,) or NULL.
 * conv2d_transpose_backward: dy (batch, height, width, channels), the
 *                   gradient of the transpose's pre-activation output;
 *                   dx (or NULL): (batch, out_h, out_w, filters) =
 *                   conv(dy, w) (a conv2d forward); dw (+)= conv2d's kernel
 *                   gradient with dy as its input and x as its output
 *                   gradient; db (or NULL) (+)= sums of dy over batch,
 *                   height, width.
 * No output may overlap an input or another output. */
#define TNN_CONV_PANEL_BYTES ((size_t)2 << 20) /* a big gradient's panel */
#define TNN_CONV_PARTS 8
#define TNN_CONV_ROWS 48 /* pixels per chunk of the indirect products */
#define TNN_CONV_TAPS 64 /* taps per group (pointers on a chunk's stack) */
#define TNN_CONV_GRAD_ROWS 384 /* most pixels per chunk of a gradient part */
#define TNN_CONV_SMALL_GRAD 65536
struct tnn_conv2d_shape {
    ptrdiff_t batch, height, width, channels;
    ptrdiff_t kernel_h, kernel_w, filters;
    ptrdiff_t out_h, out_w;
    ptrdiff_t stride_h, stride_w, dilation_h, dilation_w;
    ptrdiff_t pad_top, pad_left;
};
/* 1 when x itself is the columns matrix (1x1 kernel, stride 1, no
 * padding): Dense on every pixel, no windows. */
static inline int tnn_conv2d_is_pointwise(const struct tnn_conv2d_shape *s)
{
    return s->kernel_h == 1 && s->kernel_w == 1 && s->stride_h == 1 &&
           s->stride_w == 1 && s->pad_top == 0 && s->pad_left == 0 &&
           s->out_h == s->height && s->out_w == s->width;
}
/* n rounded up to a multiple of 64 elements (64 bytes or more, and a
 * multiple of every SIMD path's micro-tile width). */
static inline ptrdiff_t tnn_conv2d_round(ptrdiff_t n)
{
    return (n + 63) / 64 * 64;
}
/* Elements of the packed kernel of the indirect GEMM (either direction). */
static inline ptrdiff_t
tnn_conv2d_packed_elems(const struct tnn_conv2d_shape *s)
{
    ptrdiff_t taps = s->kernel_h * s->kernel_w, c = s->channels;
    ptrdiff_t f = s->filters, fwd = c * tnn_conv2d_round(f);
    ptrdiff_t adj = f * tnn_conv2d_round(c);
    return taps * (fwd > adj ? fwd : adj);
}
/* Pixels per chunk of a kernel-gradient part: as many as the chunk's tap
 * pointers allow (TNN_CONV_ROWS x TNN_CONV_TAPS), at most
 * TNN_CONV_GRAD_ROWS; every pixel's partial sum of a chunk stays in the
 * micro-kernel's registers, so longer chunks store the partials less. */
static inline ptrdiff_t tnn_conv2d_grad_chunk(const struct tnn_conv2d_shape *s)
{
    ptrdiff_t taps = s->kernel_h * s->kernel_w;
    ptrdiff_t group = taps < TNN_CONV_TAPS ? taps : TNN_CONV_TAPS;
    ptrdiff_t rows = TNN_CONV_ROWS * TNN_CONV_TAPS / (group > 0 ? group : 1);
    return rows < TNN_CONV_GRAD_ROWS ? rows : TNN_CONV_GRAD_ROWS;
}
/* 1 when the forward reads each window row through one pointer (kw c
 * inputs): no dilation across, and a window of at most TNN_CONV_WIDE
 * values (a chunk keeps patches of its edge rows on its stack). */
#define TNN_CONV_WIDE 64
static inline int tnn_conv2d_wide_taps(const struct tnn_conv2d_shape *s)
{
    return s->kernel_w > 1 && s->dilation_w == 1 &&
           s->kernel_h * s->kernel_w * s->channels <= TNN_CONV_WIDE;
}
/* 1 when the kernel gradient is summed in TNN_CONV_PARTS parts. */
static inline int tnn_conv2d_grad_in_parts(const struct tnn_conv2d_shape *s)
{
    return !tnn_conv2d_is_pointwise(s) &&
           s->kernel_h * s->kernel_w * s->channels * s->filters <=
               TNN_CONV_SMALL_GRAD;
}
/* Output lines that fit in `bytes` of im2col panel: at least 1, at most
 * batch out_h. */
static inline ptrdiff_t tnn_conv2d_lines_in(const struct tnn_conv2d_shape *s,
                                            size_t real_size, size_t bytes)
{
    ptrdiff_t total = s->batch * s->out_h;
    size_t line = (size_t)s->out_w * (size_t)s->kernel_h * (size_t)s->kernel_w *
                  (size_t)s->channels * real_size;
    size_t fit = line ? bytes / line : 1;
    ptrdiff_t lines =
        fit < 1 ? 1 : (fit > (size_t)total ? total : (ptrdiff_t)fit);
    return lines > 0 ? lines : 1;
}
/* Output lines per im2col panel of a big kernel gradient. */
static inline ptrdiff_t tnn_conv2d_panel_lines(const struct tnn_conv2d_shape *s,
                                               size_t real_size)
{
    if (tnn_conv2d_is_pointwise(s)) {
        ptrdiff_t total = s->batch * s->out_h;
        return total > 0 ? total : 1;
    }
    return tnn_conv2d_lines_in(s, real_size, TNN_CONV_PANEL_BYTES);
}
/* Bytes of scratch the conv2d kernels need for this shape and dtype: the
 * largest of what the indirect GEMM, the kernel gradient and the bias
 * gradient use (one after the other). */
static inline size_t tnn_conv2d_scratch_bytes(const struct tnn_conv2d_shape *s,
                                              size_t real_size)
{
    ptrdiff_t taps = s->kernel_h * s->kernel_w, c = s->channels;
    ptrdiff_t k = taps * c, f = s->filters;
    ptrdiff_t widest = c > f ? c : f;
    ptrdiff_t group = taps < TNN_CONV_TAPS ? taps : TNN_CONV_TAPS;
    size_t most = (size_t)(TNN_CONV_PARTS * tnn_conv2d_round(widest));
    size_t grad = 0, indirect = 0;
    if (!tnn_conv2d_is_pointwise(s)) {
        /* packed kernel, zeros, padded bias */
        indirect =
            (size_t)(tnn_conv2d_packed_elems(s) + 2 * tnn_conv2d_round(widest));
        grad = (size_t)tnn_conv2d_panel_lines(s, real_size) * (size_t)s->out_w *
               (size_t)k;
    }
    if (tnn_conv2d_grad_in_parts(s)) /* partials of dw and db, zeros,
                                        packed rows */
        grad = (size_t)(TNN_CONV_PARTS * tnn_conv2d_round(k * f) +
                        TNN_CONV_PARTS * tnn_conv2d_round(f) +
                        tnn_conv2d_round(c) +
                        TNN_CONV_PARTS * tnn_conv2d_grad_chunk(s) *
                            tnn_conv2d_round(f));
    most = indirect > most ? indirect : most;
    most = grad > most ? grad : most;
    /* the parts' (tap, channel) row table after the reals */
    return most * real_size + 2 * (size_t)(group * c) * sizeof(ptrdiff_t);
}
void tnn_conv2d_forward_f32(const float *x, const float *w, const float *b,
                            float *y, float *scratch,
                            const struct tnn_conv2d_shape *s, int activation);
void tnn_conv2d_backward_f32(const float *x, const float *w, const float *dy,
                             float *dx, float *dw, float *db, float *scratch,
                             const struct tnn_conv2d_shape *s, int accumulate);
void tnn_conv2d_transpose_forward_f32(const float *x, const float *w,
                                      const float *b, float *y, float *scratch,
                                      const struct tnn_conv2d_shape *s,
                                      int activation);
void tnn_conv2d_transpose_backward_f32(const float *x, const float *w,
                                       const float *dy, float *dx, float *dw,
                                       float *db, float *scratch,
                                       const struct tnn_conv2d_shape *s,
                                       int accumulate);
void tnn_conv2d_forward_f64(const double *x, const double *w, const double *b,
                            double *y, double *scratch,
                            const struct tnn_conv2d_shape *s, int activation);
void tnn_conv2d_backward_f64(const double *x, const double *w, const double *dy,
                             double *dx, double *dw, double *db,
                             double *scratch, const struct tnn_conv2d_shape *s,
                             int accumulate);
void tnn_conv2d_transpose_forward_f64(const double *x, const double *w,
                                      const double *b, double *y,
                                      double *scratch,
                                      const struct tnn_conv2d_shape *s,
                                      int activation);
void tnn_conv2d_transpose_backward_f64(const double *x, const double *w,
                                       const double *dy, double *dx, double *dw,
                                       double *db, double *scratch,
                                       const struct tnn_conv2d_shape *s,
                                       int accumulate);

/* ---- A convolution whose output only a max pooling reads (conv.inc) ----
 * Max pooling with windows pool_h x pool_w, strides equal to the window,
 * no padding, of act(conv(x, w) + b), act relu or linear (codes as
 * dense_forward), without storing the convolution's output:
 *   y: (batch, out_h / pool_h, out_w / pool_w, filters) (floor)
 * conv2d_maxpool_forward:  y = the pooling of act(conv(x, w) + b), the
 *                   same values conv2d_forward then max_pool2d_forward
 *                   give, bit for bit; argmax (int32, or NULL) as
 *                   max_pool2d_forward's: the flat index oh out_w + ow of
 *                   each maximum in its sample's convolution output.
 * conv2d_maxpool_backward: dy, the gradient of y, routed to argmax
 *                   (through relu: 0 where y is not above 0); dw (+)= the
 *                   kernel gradient, db (or NULL) (+)= its sums per
 *                   filter; no input gradient. Returns 1 (writing neither)
 *                   when an argmax lies outside its window, else 0.
 * Only for shapes where tnn_conv2d_maxpool_fits: the convolution of a
 * tile (pool_h output rows by whole windows across) stays on the stack,
 * and the kernel gradient is summed in parts. The sums keep an order
 * fixed by the shapes: bit-identical for any thread count. */
#define TNN_CONV_POOL_TILE 4096 /* convolution outputs of a tile, at most */
/* Pooled columns per tile: the most whose pixels fit the indirect GEMM's
 * rows and whose outputs fit the tile; 0 when one window's do not. */
static inline ptrdiff_t
tnn_conv2d_pool_columns(const struct tnn_conv2d_shape *s, ptrdiff_t pool_h,
                        ptrdiff_t pool_w)
{
    ptrdiff_t window = pool_h * pool_w;
    ptrdiff_t by_rows = TNN_CONV_ROWS / window;
    ptrdiff_t by_tile = TNN_CONV_POOL_TILE / (window * s->filters);
    return by_rows < by_tile ? by_rows : by_tile;
}
static inline int tnn_conv2d_maxpool_fits(const struct tnn_conv2d_shape *s,
                                          ptrdiff_t pool_h, ptrdiff_t pool_w)
{
    return pool_h >= 1 && pool_w >= 1 && s->out_h >= pool_h &&
           s->out_w >= pool_w && s->out_h * s->out_w < ((ptrdiff_t)1 << 31) &&
           tnn_conv2d_grad_in_parts(s) &&
           tnn_conv2d_pool_columns(s, pool_h, pool_w) >= 1;
}
/* Scratch bytes of both: the forward's (tnn_conv2d_scratch_bytes) or the
 * backward's partial sums of dw and db, zeros, packed rows of a tile per
 * part and the (tap, channel) row table, whichever is larger. */
static inline size_t
tnn_conv2d_maxpool_scratch_bytes(const struct tnn_conv2d_shape *s,
                                 size_t real_size)
{
    ptrdiff_t taps = s->kernel_h * s->kernel_w, c = s->channels;
    ptrdiff_t f = s->filters;
    ptrdiff_t group = taps < TNN_CONV_TAPS ? taps : TNN_CONV_TAPS;
    size_t reals =
        (size_t)(TNN_CONV_PARTS * tnn_conv2d_round(taps * c * f) +
                 TNN_CONV_PARTS * tnn_conv2d_round(f) + tnn_conv2d_round(c) +
                 TNN_CONV_PARTS * TNN_CONV_ROWS * tnn_conv2d_round(f));
    size_t grad =
        reals * real_size + 2 * (size_t)(group * c) * sizeof(ptrdiff_t);
    size_t forward = tnn_conv2d_scratch_bytes(s, real_size);
    return grad > forward ? grad : forward;
}
void tnn_conv2d_maxpool_forward_f32(const float *x, const float *w,
                                    const float *b, float *y, int32_t *argmax,
                                    float *scratch,
                                    const struct tnn_conv2d_shape *s,
                                    ptrdiff_t pool_h, ptrdiff_t pool_w,
                                    int activation);
int tnn_conv2d_maxpool_backward_f32(const float *x, const float *dy,
                                    const float *y, const int32_t *argmax,
                                    float *dw, float *db, float *scratch,
                                    const struct tnn_conv2d_shape *s,
                                    ptrdiff_t pool_h, ptrdiff_t pool_w,
                                    int activation, int accumulate);
void tnn_conv2d_maxpool_forward_f64(const double *x, const double *w,
                                    const double *b, double *y, int32_t *argmax,
                                    double *scratch,
                                    const struct tnn_conv2d_shape *s,
                                    ptrdiff_t pool_h, ptrdiff_t pool_w,
                                    int activation);
int tnn_conv2d_maxpool_backward_f64(const double *x, const double *dy,
                                    const double *y, const int32_t *argmax,
                                    double *dw, double *db, double *scratch,
                                    const struct tnn_conv2d_shape *s,
                                    ptrdiff_t pool_h, ptrdiff_t pool_w,
                                    int activation, int accumulate);

/* ---- Dropout (dropout.inc) ------------------------------------------------
 * Training forward of inverted dropout, elementwise over n values, after
 * the caller filled mask with uniform draws in [0, 1):
 *   mask[i] = (mask[i] >= (real)rate) ? (real)(1 / (1 - rate)) : 0
 *   out[i]  = x[i] * mask[i]
 * (NumPy's greater_equal(u, rate), multiply(keep, 1 / (1 - rate)) and
 * multiply(x, mask), bit for bit); 0 <= rate < 1. out may be x. */
void tnn_dropout_forward_f32(float *mask, const float *x, float *out,
                             ptrdiff_t n, double rate);
void tnn_dropout_forward_f64(double *mask, const double *x, double *out,
                             ptrdiff_t n, double rate);

/* The uniform draws themselves, as NumPy draws them: a state of NumPy's
 * PCG64 bit generator (a 128-bit linear congruential generator with the
 * XSL-RR output function; 32-bit draws take the low half of an output,
 * then the high half, buffered in uinteger while has_uint32 is 1).
 * uniform_pcg64: out[0..n) = numpy.random.Generator(PCG64).random(n,
 * dtype) from this state, bit for bit ((u32 >> 8) 2^-24 for float32,
 * (u64 >> 11) 2^-53 for float64), and the state advanced exactly as that
 * call advances it. Chunks of draws start from the state advanced to their
 * first output (jump-ahead), so any thread count gives the same draws. */
struct tnn_pcg64 {
    uint64_t state_hi, state_lo, inc_hi, inc_lo;
    int has_uint32;
    uint32_t uinteger;
};
void tnn_uniform_pcg64_f32(float *out, ptrdiff_t n, struct tnn_pcg64 *g);
void tnn_uniform_pcg64_f64(double *out, ptrdiff_t n, struct tnn_pcg64 *g);
/* dropout_pcg64: uniform_pcg64 into mask, then dropout_forward(mask, x,
 * out, n, rate), each chunk of draws masked as soon as it is drawn (the
 * same values as the two calls, one pass less over the mask). */
void tnn_dropout_pcg64_f32(float *mask, const float *x, float *out, ptrdiff_t n,
                           double rate, struct tnn_pcg64 *g);
void tnn_dropout_pcg64_f64(double *mask, const double *x, double *out,
                           ptrdiff_t n, double rate, struct tnn_pcg64 *g);

/* ---- Pooling (pool.inc), NHWC: channels last ------------------------------
 * x, dx: (batch, height, width, channels); y, dy, argmax: (batch,
 * out_height, out_width, channels). Output (oh, ow) pools the window of
 * input rows [oh stride_h - pad_top, + pool_h) and columns [ow stride_w -
 * pad_left, + pool_w), clipped to the input: cells outside it are padding,
 * never a maximum and not counted in an average. TensorFlow's shapes:
 *   valid: out = floor((size - pool) / stride) + 1, pad = 0;
 *   same:  out = ceil(size / stride), total pad = max((out - 1) stride +
 *          pool - size, 0), pad_top = total / 2 (the odd row at the bottom).
 * The caller guarantees that every window holds an input cell:
 * 0 <= pad_top < pool_h and (out_height - 1) stride_h - pad_top < height,
 * likewise for the width, and every size >= 1 but batch (>= 0).
 * max forward:   y = the window's maximum, the FIRST one in row-major window
 *                order (strict >); argmax (NULL at inference, else int32 or
 *                int64 as index_type = TNN_I32 / TNN_I64 says) gets its
 *                spatial index row * width + column per output and channel.
 * max backward:  dx = 0, then dx[n, argmax[o], c] += dy[o] for every output
 *                o in order (TensorFlow's CPU MaxPoolGrad); each argmax in
 *                [0, height * width). gate: NULL, or an array shaped as dy
 *                (the pooling's output, of a relu): then only the dy whose
 *                gate value is above 0 are added, which is relu's backward
 *                folded in (the input at the argmax is the output).
 * max backward_windows: the same result, every dx value written once, when
 *                windows do not overlap (pool <= stride on both axes) and
 *                every argmax lies in its own window (g holds the window
 *                geometry); returns 0. Otherwise (and for float32 with an
 *                int64 argmax, or more than 2^31 - 1 cells) it writes
 *                nothing and returns 1 (the caller then checks the indices
 *                and calls max backward); any argmax value is safe to pass.
 * avg forward:   y = sum of the window's input cells (row-major) / count.
 * avg backward:  dx = 0, then dy / count added to each cell of each window.
 * Outputs must not overlap inputs. */
struct tnn_pool2d {
    ptrdiff_t batch, height, width, channels, out_height, out_width;
    ptrdiff_t pool_h, pool_w, stride_h, stride_w, pad_top, pad_left;
};
void tnn_max_pool2d_forward_f32(const float *x, float *y, void *argmax,
                                int index_type, const struct tnn_pool2d *g);
void tnn_max_pool2d_backward_f32(const float *dy, const float *gate,
                                 const void *argmax, int index_type, float *dx,
                                 const struct tnn_pool2d *g);
int tnn_max_pool2d_backward_windows_f32(const float *dy, const float *gate,
                                        const void *argmax, int index_type,
                                        float *dx, const struct tnn_pool2d *g);
void tnn_avg_pool2d_forward_f32(const float *x, float *y,
                                const struct tnn_pool2d *g);
void tnn_avg_pool2d_backward_f32(const float *dy, float *dx,
                                 const struct tnn_pool2d *g);
void tnn_max_pool2d_forward_f64(const double *x, double *y, void *argmax,
                                int index_type, const struct tnn_pool2d *g);
void tnn_max_pool2d_backward_f64(const double *dy, const double *gate,
                                 const void *argmax, int index_type, double *dx,
                                 const struct tnn_pool2d *g);
int tnn_max_pool2d_backward_windows_f64(const double *dy, const double *gate,
                                        const void *argmax, int index_type,
                                        double *dx, const struct tnn_pool2d *g);
void tnn_avg_pool2d_forward_f64(const double *x, double *y,
                                const struct tnn_pool2d *g);
void tnn_avg_pool2d_backward_f64(const double *dy, double *dx,
                                 const struct tnn_pool2d *g);

/* ---- Global pooling (pool.inc) ------------------------------------------
 * x, dx: (batch, steps, channels) (an NHWC image is steps = height width);
 * y, dy: (batch, channels); steps >= 1.
 * forward:      maximum = 0: y = mean over the steps, summed in order in
 *               double; maximum = 1: y = max over the steps.
 * avg backward: dx[n, s, c] = dy[n, c] / steps.
 * max backward: TensorFlow's reduce_max gradient: dy[n, c] shared equally
 *               by the steps where x equals y (ties split), 0 elsewhere;
 *               y is the forward output. */
void tnn_global_pool_forward_f32(const float *x, float *y, ptrdiff_t batch,
                                 ptrdiff_t steps, ptrdiff_t channels,
                                 int maximum);
void tnn_global_avg_pool_backward_f32(const float *dy, float *dx,
                                      ptrdiff_t batch, ptrdiff_t steps,
                                      ptrdiff_t channels);
void tnn_global_max_pool_backward_f32(const float *x, const float *y,
                                      const float *dy, float *dx,
                                      ptrdiff_t batch, ptrdiff_t steps,
                                      ptrdiff_t channels);
void tnn_global_pool_forward_f64(const double *x, double *y, ptrdiff_t batch,
                                 ptrdiff_t steps, ptrdiff_t channels,
                                 int maximum);
void tnn_global_avg_pool_backward_f64(const double *dy, double *dx,
                                      ptrdiff_t batch, ptrdiff_t steps,
                                      ptrdiff_t channels);
void tnn_global_max_pool_backward_f64(const double *x, const double *y,
                                      const double *dy, double *dx,
                                      ptrdiff_t batch, ptrdiff_t steps,
                                      ptrdiff_t channels);

/* ---- Padding, cropping, nearest upsampling (pool.inc), NHWC -------------
 * pad2d:  x (batch, height, width, channels) -> y (batch, out_height,
 *         out_width, channels): y = 0 except y[:, top:top+height,
 *         left:left+width] = x (ZeroPadding2D; Cropping2D's backward).
 * crop2d: x (batch, height, width, channels) -> y = x[:, top:top+out_height,
 *         left:left+out_width] (Cropping2D; ZeroPadding2D's backward).
 *         The window lies inside the large array (the caller checks).
 * upsample2d forward:  y (batch, height scale_h, width scale_w, channels),
 *         y[n, i, j, c] = x[n, i / scale_h, j / scale_w, c];
 * upsample2d backward: dx[n, i, j, c] = sum of dy over the scale_h x
 *         scale_w block above (i, j), row-major. No overlaps. */
void tnn_pad2d_f32(const float *x, float *y, ptrdiff_t batch, ptrdiff_t height,
                   ptrdiff_t width, ptrdiff_t channels, ptrdiff_t out_height,
                   ptrdiff_t out_width, ptrdiff_t top, ptrdiff_t left);
void tnn_crop2d_f32(const float *x, float *y, ptrdiff_t batch, ptrdiff_t height,
                    ptrdiff_t width, ptrdiff_t channels, ptrdiff_t out_height,
                    ptrdiff_t out_width, ptrdiff_t top, ptrdiff_t left);
void tnn_upsample2d_forward_f32(const float *x, float *y, ptrdiff_t batch,
                                ptrdiff_t height, ptrdiff_t width,
                                ptrdiff_t channels, ptrdiff_t scale_h,
                                ptrdiff_t scale_w);
void tnn_upsample2d_backward_f32(const float *dy, float *dx, ptrdiff_t batch,
                                 ptrdiff_t height, ptrdiff_t width,
                                 ptrdiff_t channels, ptrdiff_t scale_h,
                                 ptrdiff_t scale_w);
void tnn_pad2d_f64(const double *x, double *y, ptrdiff_t batch,
                   ptrdiff_t height, ptrdiff_t width, ptrdiff_t channels,
                   ptrdiff_t out_height, ptrdiff_t out_width, ptrdiff_t top,
                   ptrdiff_t left);
void tnn_crop2d_f64(const double *x, double *y, ptrdiff_t batch,
                    ptrdiff_t height, ptrdiff_t width, ptrdiff_t channels,
                    ptrdiff_t out_height, ptrdiff_t out_width, ptrdiff_t top,
                    ptrdiff_t left);
void tnn_upsample2d_forward_f64(const double *x, double *y, ptrdiff_t batch,
                                ptrdiff_t height, ptrdiff_t width,
                                ptrdiff_t channels, ptrdiff_t scale_h,
                                ptrdiff_t scale_w);
void tnn_upsample2d_backward_f64(const double *dy, double *dx, ptrdiff_t batch,
                                 ptrdiff_t height, ptrdiff_t width,
                                 ptrdiff_t channels, ptrdiff_t scale_h,
                                 ptrdiff_t scale_w);

/* ---- Gathering rows (embedding.inc): fit's shuffled batches -------------
 * y[r] = row ids[r] of source (count rows of `width` elements: the rows of
 * a C-contiguous array of source_type), converted to y's dtype as a C cast
 * does; ids of type id_type (enum tnn_label_type), each a row of source
 * (the caller checks). No overlaps. */
enum tnn_source_type { TNN_SOURCE_F32, TNN_SOURCE_F64, TNN_SOURCE_U8 };
void tnn_gather_rows_f32(const void *ids, int id_type, const void *source,
                         int source_type, float *y, ptrdiff_t count,
                         ptrdiff_t width);
void tnn_gather_rows_f64(const void *ids, int id_type, const void *source,
                         int source_type, double *y, ptrdiff_t count,
                         ptrdiff_t width);

/* ---- Embedding (embedding.inc), Keras's Embedding layer -----------------
 * ids: `count` integer ids of type id_type (enum tnn_label_type), each in
 * [0, input_dim) (the caller checks before calling); table, dtable:
 * (input_dim, output_dim); y, dy: (count, output_dim).
 * forward:  y[r] = table[ids[r]].
 * backward: dtable = 0, then dtable[ids[r]] += dy[r] for r in order
 *           (repeated ids add up in sample order). No overlaps. */
void tnn_embedding_forward_f32(const void *ids, int id_type, const float *table,
                               float *y, ptrdiff_t count, ptrdiff_t input_dim,
                               ptrdiff_t output_dim);
void tnn_embedding_backward_f32(const void *ids, int id_type, const float *dy,
                                float *dtable, ptrdiff_t count,
                                ptrdiff_t input_dim, ptrdiff_t output_dim);
void tnn_embedding_forward_f64(const void *ids, int id_type,
                               const double *table, double *y, ptrdiff_t count,
                               ptrdiff_t input_dim, ptrdiff_t output_dim);
void tnn_embedding_backward_f64(const void *ids, int id_type, const double *dy,
                                double *dtable, ptrdiff_t count,
                                ptrdiff_t input_dim, ptrdiff_t output_dim);

/* ---- Threads (threads_posix.c) ------------------------------------------
 * Kernels split their OUTPUT over a pool of worker threads (never a sum),
 * so results are bit-identical for any thread count. */
/* The thread count every kernel uses (chosen at first use, see
 * tnn_default_threads in internal.h). */
int tnn_num_threads(void);
/* n >= 1 (clipped to 1024). */
void tnn_set_num_threads(int n);

#endif
