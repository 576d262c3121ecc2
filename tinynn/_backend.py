"""The only importer of the C extension: maps Python-level calls onto kernels.

Every other module goes through the functions here, so the kernel names and
argument orders of `tinynn._core` appear in exactly one place. Callers pass
C-contiguous arrays of one float dtype; the kernels check again and reject
(never copy) anything else.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    from . import _core
except ImportError as exc:  # the usual cause: importing the unbuilt source folder
    raise ImportError(
        f"tinynn's C extension (tinynn._core) is not built in {os.path.dirname(__file__)}. "
        "Run `pip install .` in the repository root (it also puts the built module "
        "into the source folder), or build it in place with `python setup.py "
        "build_ext --inplace`; Python started inside the repository imports the "
        f"source folder, not the installed package. ({exc})"
    ) from exc


def _check_thread_variable() -> None:
    """The C core ignores a malformed TINYNN_NUM_THREADS; say so once."""
    value = os.environ.get("TINYNN_NUM_THREADS")
    if (
        value is None
        or value == ""
        or _core.default_num_threads() == _int_or_none(value)
    ):
        return
    warnings.warn(
        f"TINYNN_NUM_THREADS={value!r} is ignored: expected an integer in [1, 1024]; "
        f"using {_core.default_num_threads()} threads (the CPUs this process may use)",
        RuntimeWarning,
        stacklevel=2,
    )


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


_check_thread_variable()

#: Activations that have C forward/backward kernels.
KERNEL_ACTIVATIONS = (
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "softplus",
    "leaky_relu",
    "swish",
    "gelu",
    "gelu_tanh",
)
#: Those dense_forward applies fused in its kernel.
FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
#: Those whose backward reads the forward input x instead of the output y.
FROM_INPUT_ACTIVATIONS = ("swish", "gelu", "gelu_tanh")
#: Those that take an alpha (negative-side scale or slope).
_ALPHA_ACTIVATIONS = ("elu", "leaky_relu")

_FORWARD = {name: getattr(_core, f"{name}_forward") for name in KERNEL_ACTIVATIONS}
_BACKWARD = {name: getattr(_core, f"{name}_backward") for name in KERNEL_ACTIVATIONS}


def dense_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    y: np.ndarray,
    activation: str = "linear",
) -> np.ndarray:
    """y = activation(x @ w + b), written into y."""
    _core.dense_forward(x, w, b, y, activation=activation)
    return y


def dense_backward(
    x: np.ndarray,
    w: np.ndarray,
    dy: np.ndarray,
    dx: np.ndarray | None,
    dw: np.ndarray,
    db: np.ndarray | None,
    accumulate: bool = False,
    gate: np.ndarray | None = None,
) -> None:
    """dx = dy @ w.T, dw (+)= x.T @ dy, db (+)= column sums of dy (added to
    dw and db with `accumulate`, overwriting them otherwise; dx always
    overwritten). With `gate` (dx's shape), dx is 0 where gate <= 0: the
    backward of a relu whose output gate is, fused into the product."""
    _core.dense_backward(x, w, dy, dx, dw, db, accumulate=accumulate, gate=gate)


def dense_backward_adam(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    dy: np.ndarray,
    dx: np.ndarray | None,
    dw: np.ndarray,
    db: np.ndarray | None,
    step: tuple,
    keep_dw: bool = True,
    gate: np.ndarray | None = None,
) -> None:
    """dense_backward (overwriting dw, db), then the Adam/AdamW step `step`
    on w and b: (m_w, v_w, vhat_w, m_b, v_b, vhat_b, learning_rate, beta_1,
    beta_2, epsilon, iteration, weight_decay), the moments laid out like w
    and b (vhat None without amsgrad, b's None without bias). The kernel
    steps each block of dw as soon as it is final; the same bits as
    dense_backward then adamw_update. keep_dw=False: dw is working space,
    its contents afterwards unspecified (the gradient may never leave the
    cache). `gate` as in dense_backward."""
    _core.dense_backward_adam(
        x, w, b, dy, dx, dw, db, *step, keep_dw=keep_dw, gate=gate
    )


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    y: np.ndarray,
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int, int, int],
    activation: str = "linear",
) -> np.ndarray:
    """y = activation(conv(x, w) + b) in NHWC, written into y; w is Keras's
    (kh, kw, in, out) kernel, padding (top, left, bottom, right) zeros."""
    _core.conv2d_forward(x, w, b, y, strides, dilation, padding, activation=activation)
    return y


def conv2d_backward(
    x: np.ndarray,
    w: np.ndarray,
    dy: np.ndarray,
    dx: np.ndarray | None,
    dw: np.ndarray,
    db: np.ndarray | None,
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int, int, int],
    accumulate: bool = False,
) -> None:
    """dx = the convolution's input gradient, dw (+)= its kernel gradient,
    db (+)= dy summed per filter; dy is the pre-activation gradient."""
    _core.conv2d_backward(
        x, w, dy, dx, dw, db, strides, dilation, padding, accumulate=accumulate
    )


def conv2d_maxpool_fits(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    y_shape: tuple[int, ...],
    pool_size: tuple[int, int],
) -> bool:
    """Whether conv2d_maxpool_forward/backward take this convolution (x, w
    and its output y as NHWC / (kh, kw, in, out) shapes) and pooling."""
    return _core.conv2d_maxpool_fits(
        *x_shape, *w_shape[:2], w_shape[3], *y_shape[1:3], *pool_size
    )


def conv2d_maxpool_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    y: np.ndarray,
    argmax: np.ndarray | None,
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int, int, int],
    pool_size: tuple[int, int],
    activation: str = "linear",
) -> np.ndarray:
    """y = max pooling (windows pool_size, as strides, no padding) of
    activation(conv(x, w) + b), the convolution's output never stored;
    argmax (int32, or None) as max_pool2d_forward's. activation: 'relu' or
    'linear'."""
    _core.conv2d_maxpool_forward(
        x, w, b, y, argmax, strides, dilation, padding, pool_size, activation
    )
    return y


def conv2d_maxpool_backward(
    x: np.ndarray,
    dy: np.ndarray,
    y: np.ndarray,
    argmax: np.ndarray,
    dw: np.ndarray,
    db: np.ndarray | None,
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int, int, int],
    pool_size: tuple[int, int],
    activation: str = "linear",
    accumulate: bool = False,
) -> None:
    """dw (+)=, db (+)= the gradients of conv2d_maxpool_forward for dy, the
    pooled output's gradient (y its output, argmax its maxima); no dx."""
    _core.conv2d_maxpool_backward(
        x,
        dy,
        y,
        argmax,
        dw,
        db,
        strides,
        dilation,
        padding,
        pool_size,
        activation,
        accumulate,
    )


def conv2d_transpose_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    y: np.ndarray,
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int, int, int],
    activation: str = "linear",
) -> np.ndarray:
    """y = activation(conv_transpose(x, w) + b): the input gradient of the
    convolution (geometry as conv2d's) of a y-shaped input to an x-shaped one."""
    _core.conv2d_transpose_forward(
        x, w, b, y, strides, dilation, padding, activation=activation
    )
    return y


def conv2d_transpose_backward(
    x: np.ndarray,
    w: np.ndarray,
    dy: np.ndarray,
    dx: np.ndarray | None,
    dw: np.ndarray,
    db: np.ndarray | None,
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int, int, int],
    accumulate: bool = False,
) -> None:
    """Gradients of conv2d_transpose_forward: dx = conv(dy, w), dw (+)=, db (+)=."""
    _core.conv2d_transpose_backward(
        x, w, dy, dx, dw, db, strides, dilation, padding, accumulate=accumulate
    )


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    moving_mean: np.ndarray,
    moving_variance: np.ndarray,
    y: np.ndarray,
    mean: np.ndarray,
    inv_std: np.ndarray,
    momentum: float,
    epsilon: float,
    training: bool,
) -> np.ndarray:
    """y = batch normalization of x (rows, channels); in training the batch's
    statistics are used and the moving ones updated in place. mean and
    inv_std receive the statistics the backward pass needs."""
    _core.batchnorm_forward(
        x,
        gamma,
        beta,
        moving_mean,
        moving_variance,
        y,
        mean,
        inv_std,
        momentum,
        epsilon,
        training,
    )
    return y


def batchnorm_backward(
    x: np.ndarray,
    gamma: np.ndarray | None,
    dy: np.ndarray,
    mean: np.ndarray,
    inv_std: np.ndarray,
    dx: np.ndarray | None,
    dgamma: np.ndarray,
    dbeta: np.ndarray,
    training: bool,
) -> None:
    """dgamma, dbeta and (unless None) dx of batch normalization."""
    _core.batchnorm_backward(x, gamma, dy, mean, inv_std, dx, dgamma, dbeta, training)


def layernorm_forward(
    x: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    y: np.ndarray,
    mean: np.ndarray,
    inv_std: np.ndarray,
    epsilon: float,
) -> np.ndarray:
    """y = layer normalization of each row of x (rows, channels); mean and
    inv_std (rows,) receive the statistics the backward pass needs."""
    _core.layernorm_forward(x, gamma, beta, y, mean, inv_std, epsilon)
    return y


def layernorm_backward(
    x: np.ndarray,
    gamma: np.ndarray | None,
    dy: np.ndarray,
    mean: np.ndarray,
    inv_std: np.ndarray,
    dx: np.ndarray | None,
    dgamma: np.ndarray,
    dbeta: np.ndarray,
) -> None:
    """dgamma, dbeta and (unless None) dx of layer normalization."""
    _core.layernorm_backward(x, gamma, dy, mean, inv_std, dx, dgamma, dbeta)


def prelu_forward(x: np.ndarray, alpha: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y = x if x > 0 else alpha[c] x on x (outer, channels, inner); y may be x."""
    _core.prelu_forward(x, alpha, y)
    return y


def prelu_backward(
    x: np.ndarray,
    alpha: np.ndarray,
    dy: np.ndarray,
    dx: np.ndarray | None,
    dalpha: np.ndarray,
) -> None:
    """dalpha and (unless None) dx of PReLU; dx may be dy."""
    _core.prelu_backward(x, alpha, dy, dx, dalpha)


def activation_forward(
    name: str, x: np.ndarray, y: np.ndarray, alpha: float | None = None
) -> np.ndarray:
    """y = activation(x); y may be x itself. alpha: elu's and leaky_relu's
    (None: the kernel's Keras default)."""
    if name in _ALPHA_ACTIVATIONS and alpha is not None:
        _FORWARD[name](x, y, alpha)
    else:
        _FORWARD[name](x, y)
    return y


def activation_backward(
    name: str,
    source: np.ndarray,
    dy: np.ndarray,
    dx: np.ndarray,
    alpha: float | None = None,
) -> np.ndarray:
    """dx = dy * activation'(...); `source` is the forward output y, or the
    forward input x for FROM_INPUT_ACTIVATIONS. dx may be dy."""
    if name in _ALPHA_ACTIVATIONS and alpha is not None:
        _BACKWARD[name](source, dy, dx, alpha)
    else:
        _BACKWARD[name](source, dy, dx)
    return dx


def relu_clip_forward(
    x: np.ndarray,
    y: np.ndarray,
    max_value: float | None,
    slope: float,
    threshold: float,
) -> np.ndarray:
    """Keras's ReLU(max_value, negative_slope, threshold) into y; y may be x."""
    _core.relu_clip_forward(x, y, max_value, slope, threshold)
    return y


def relu_clip_backward(
    x: np.ndarray,
    dy: np.ndarray,
    dx: np.ndarray,
    max_value: float | None,
    slope: float,
    threshold: float,
) -> np.ndarray:
    """Its gradient from the forward input x; dx may be dy."""
    _core.relu_clip_backward(x, dy, dx, max_value, slope, threshold)
    return dx


def rescale_forward(
    x: np.ndarray, scale: np.ndarray, offset: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """y = x * scale + offset per column of the 2-D x; y may be x."""
    _core.rescale_forward(x, scale, offset, y)
    return y


def rescale_backward(dy: np.ndarray, scale: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """dx = dy * scale per column; dx may be dy."""
    _core.rescale_backward(dy, scale, dx)
    return dx


def softmax_xent(
    logits: np.ndarray, labels: np.ndarray, dlogits: np.ndarray | None
) -> tuple[float, int]:
    """Fused log-softmax cross-entropy on integer labels: (mean loss, correct)."""
    return _core.softmax_xent(logits, labels, dlogits)


def softmax_xent_dense(
    logits: np.ndarray, targets: np.ndarray, dlogits: np.ndarray | None
) -> tuple[float, int]:
    """Fused log-softmax cross-entropy on one-hot/probability targets."""
    return _core.softmax_xent_dense(logits, targets, dlogits)


def mse(pred: np.ndarray, target: np.ndarray, dpred: np.ndarray | None) -> float:
    """Mean squared error over all elements, and its gradient into dpred."""
    return _core.mse(pred, target, dpred)


def bce(pred: np.ndarray, target: np.ndarray, dpred: np.ndarray | None) -> float:
    """Binary cross-entropy on probabilities (Keras's clipping), and its gradient."""
    return _core.bce(pred, target, dpred)


def sigmoid_bce(
    logits: np.ndarray, target: np.ndarray, dlogits: np.ndarray | None
) -> float:
    """Binary cross-entropy from logits (stable), and its gradient."""
    return _core.sigmoid_bce(logits, target, dlogits)


def huber(
    pred: np.ndarray, target: np.ndarray, dpred: np.ndarray | None, delta: float
) -> float:
    """Keras's Huber loss (mean over all elements), and its gradient."""
    return _core.huber(pred, target, dpred, delta)


# ---- merge layers: element-wise over equal-shape arrays, folds left to right ----
def merge_add(inputs, out: np.ndarray, accumulate: bool = False) -> np.ndarray:
    """out = inputs[0] + inputs[1] + ...; accumulate: out += that sum (out is the
    first term). out may be one of the inputs."""
    _core.merge_add(inputs, out, accumulate=accumulate)
    return out


def add_inplace(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    """out += x (the executor's sum of gradients at a fan-out)."""
    _core.merge_add((x,), out, accumulate=True)
    return out


def merge_subtract(x0: np.ndarray, x1: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = x0 - x1."""
    _core.merge_subtract(x0, x1, out)
    return out


def merge_subtract_backward(
    dy: np.ndarray, dx0: np.ndarray | None, dx1: np.ndarray | None
) -> None:
    """dx0 = dy, dx1 = -dy (either may be None)."""
    _core.merge_subtract_backward(dy, dx0, dx1)


def scale(x: np.ndarray, out: np.ndarray, alpha: float) -> np.ndarray:
    """out = alpha * x; out may be x."""
    _core.scale(x, out, alpha)
    return out


def merge_multiply(inputs, out: np.ndarray) -> np.ndarray:
    """out = inputs[0] * inputs[1] * ..."""
    _core.merge_multiply(inputs, out)
    return out


def merge_multiply_backward(inputs, dy: np.ndarray, dxs) -> None:
    """dxs[k] = dy * (product of the other inputs, left to right); None skips."""
    _core.merge_multiply_backward(inputs, dy, dxs)


def merge_average(inputs, out: np.ndarray) -> np.ndarray:
    """out = (inputs[0] + inputs[1] + ...) / len(inputs), as Keras computes it."""
    _core.merge_average(inputs, out)
    return out


def merge_average_backward(dy: np.ndarray, dxs) -> None:
    """dxs[k] = dy / len(dxs); None skips."""
    _core.merge_average_backward(dy, dxs)


def merge_maximum(inputs, out: np.ndarray) -> np.ndarray:
    """out = maximum(maximum(inputs[0], inputs[1]), ...); NaN propagates."""
    _core.merge_maximum(inputs, out)
    return out


def merge_maximum_backward(inputs, dy: np.ndarray, dxs) -> None:
    """dy to the one input TensorFlow's gradient picks, 0 elsewhere; None skips."""
    _core.merge_maximum_backward(inputs, dy, dxs)


def merge_minimum(inputs, out: np.ndarray) -> np.ndarray:
    """out = minimum(minimum(inputs[0], inputs[1]), ...); NaN propagates."""
    _core.merge_minimum(inputs, out)
    return out


def merge_minimum_backward(inputs, dy: np.ndarray, dxs) -> None:
    """dy to the one input TensorFlow's gradient picks, 0 elsewhere; None skips."""
    _core.merge_minimum_backward(inputs, dy, dxs)


def concatenate(inputs, out: np.ndarray, axis: int = -1) -> np.ndarray:
    """out = the inputs joined along axis."""
    _core.concatenate(inputs, out, axis)
    return out


def concatenate_backward(inputs, dy: np.ndarray, dxs, axis: int = -1) -> None:
    """dxs[k] = dy's slice that came from inputs[k] (only their shapes are read);
    None skips."""
    _core.concatenate_backward(inputs, dy, dxs, axis)


def dot(
    x0: np.ndarray,
    x1: np.ndarray,
    out: np.ndarray,
    normalize: bool = False,
    epsilon: float = 1e-12,
) -> np.ndarray:
    """Keras's Dot(axes=1) on (batch, d): out (batch, 1) = row-wise sum of x0 x1,
    each row first l2-normalized with normalize (tf.linalg.l2_normalize's epsilon
    on the squared norm)."""
    _core.dot(x0, x1, out, normalize=normalize, epsilon=epsilon)
    return out


def dot_backward(
    x0: np.ndarray,
    x1: np.ndarray,
    dy: np.ndarray,
    dx0: np.ndarray | None,
    dx1: np.ndarray | None,
    normalize: bool = False,
    epsilon: float = 1e-12,
) -> None:
    """The gradients of dot; dx0 or dx1 may be None."""
    _core.dot_backward(x0, x1, dy, dx0, dx1, normalize=normalize, epsilon=epsilon)


def batch_dot(x0: np.ndarray, x1: np.ndarray, out: np.ndarray, axes=2) -> np.ndarray:
    """Keras's Dot on 3-D inputs (batch, a1, a2) and (batch, b1, b2): out (batch,
    free of x0, free of x1) summed over axes (an int or a pair, each 1 or 2, or
    -2 / -1); no normalize."""
    _core.batch_dot(x0, x1, out, axes=axes)
    return out


def batch_dot_backward(
    x0: np.ndarray,
    x1: np.ndarray,
    dy: np.ndarray,
    dx0: np.ndarray | None,
    dx1: np.ndarray | None,
    axes=2,
) -> None:
    """The gradients of batch_dot; dx0 or dx1 may be None."""
    _core.batch_dot_backward(x0, x1, dy, dx0, dx1, axes=axes)


def sgd_update(w, g, velocity, learning_rate, momentum, nesterov) -> None:
    """In-place SGD step (Keras rule)."""
    _core.sgd_update(w, g, velocity, learning_rate, momentum, nesterov)


def rmsprop_update(w, g, s, velocity, learning_rate, rho, momentum, epsilon) -> None:
    """In-place RMSprop step (Keras rule, epsilon inside the root)."""
    _core.rmsprop_update(w, g, s, velocity, learning_rate, rho, momentum, epsilon)


def adam_update(w, g, m, v, vhat, learning_rate, beta_1, beta_2, epsilon, step) -> None:
    """In-place Adam step (Keras rule, epsilon on the uncorrected sqrt(v))."""
    _core.adam_update(w, g, m, v, vhat, learning_rate, beta_1, beta_2, epsilon, step)


def adagrad_update(w, g, accumulator, learning_rate, epsilon) -> None:
    """In-place Adagrad step (Keras 2 rule, epsilon outside the root)."""
    _core.adagrad_update(w, g, accumulator, learning_rate, epsilon)


def adamw_update(
    w, g, m, v, vhat, learning_rate, beta_1, beta_2, epsilon, step, weight_decay
) -> None:
    """In-place AdamW step: w -= w learning_rate weight_decay, then Adam's."""
    _core.adamw_update(
        w, g, m, v, vhat, learning_rate, beta_1, beta_2, epsilon, step, weight_decay
    )


def adadelta_update(w, g, acc_grad, acc_delta, learning_rate, rho, epsilon) -> None:
    """In-place Adadelta step (Keras rule, epsilon inside both roots)."""
    _core.adadelta_update(w, g, acc_grad, acc_delta, learning_rate, rho, epsilon)


def adamax_update(w, g, m, u, learning_rate, beta_1, beta_2, epsilon, step) -> None:
    """In-place Adamax step (Keras rule)."""
    _core.adamax_update(w, g, m, u, learning_rate, beta_1, beta_2, epsilon, step)


def nadam_update(
    w, g, m, v, learning_rate, beta_1, beta_2, epsilon, step, u_product
) -> None:
    """In-place Nadam step (Keras rule); u_product = u_1 ... u_step."""
    _core.nadam_update(
        w, g, m, v, learning_rate, beta_1, beta_2, epsilon, step, u_product
    )


# ---- pooling, padding, upsampling, embedding (NHWC) --------------------------
# `window` is (pool_h, pool_w, stride_h, stride_w, pad_top, pad_left).


def max_pool2d_forward(
    x: np.ndarray, y: np.ndarray, argmax: np.ndarray | None, window: tuple
) -> np.ndarray:
    """y = max of each window (the first maximum); argmax (int32/int64, or
    None at inference) gets its spatial index for the backward pass."""
    _core.max_pool2d_forward(x, y, argmax, *window)
    return y


def max_pool2d_backward(
    dy: np.ndarray,
    argmax: np.ndarray,
    dx: np.ndarray,
    window: tuple | None = None,
    gate: np.ndarray | None = None,
) -> np.ndarray:
    """dx = 0, then dy added at each window's stored argmax. With the forward
    pass's window, non-overlapping windows write each dx value once. With
    `gate` (shaped as dy: the pooling's output, of a relu), only the dy
    where it is above 0: relu's backward folded into the routing."""
    if window is None:
        _core.max_pool2d_backward(dy, argmax, dx, gate=gate)
    else:
        _core.max_pool2d_backward(dy, argmax, dx, *window, gate=gate)
    return dx


_U64 = (1 << 64) - 1


def _pcg64_draw(
    bits: np.random.PCG64, kernel: Callable[..., tuple], *args: Any
) -> None:
    """Run `kernel(*args, state words...)` from PCG64 `bits`' state and store
    the state it returns, holding the bit generator's lock as
    Generator.random holds it while it draws."""
    with bits.lock:
        state = bits.state
        pcg = state["state"]
        s, inc = pcg["state"], pcg["inc"]
        hi, lo, has, uint = kernel(
            *args,
            s >> 64,
            s & _U64,
            inc >> 64,
            inc & _U64,
            state["has_uint32"],
            state["uinteger"],
        )
        pcg["state"] = (hi << 64) | lo
        state["has_uint32"], state["uinteger"] = has, uint
        bits.state = state


def _drawn_in_c(rng: np.random.Generator, *arrays: np.ndarray) -> bool:
    """Whether rng's draws into these arrays can run in C: NumPy's PCG64
    (default_rng's bit generator) and C-contiguous arrays."""
    return type(rng.bit_generator) is np.random.PCG64 and all(
        a.flags.c_contiguous for a in arrays
    )


def uniform_fill(rng: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """out = rng.random(out.shape, out.dtype), bit for bit, rng advanced as
    that call advances it. With NumPy's PCG64 (default_rng's bit generator)
    the draws run in C on the worker pool; any other bit generator draws
    through NumPy."""
    if _drawn_in_c(rng, out):
        _pcg64_draw(rng.bit_generator, _core.uniform_pcg64, out)
    elif out.flags.c_contiguous:
        rng.random(out=out, dtype=out.dtype)
    else:  # NumPy draws only into contiguous arrays
        out[...] = rng.random(out.shape, dtype=out.dtype)
    return out


def dropout_forward(
    mask: np.ndarray, x: np.ndarray, out: np.ndarray, rate: float
) -> np.ndarray:
    """mask (filled with uniform draws) becomes 1 / (1 - rate) where the draw
    is >= rate and 0 elsewhere; out = x * mask. One pass, in C."""
    _core.dropout_forward(mask, x, out, rate)
    return out


def dropout_draw_forward(
    rng: np.random.Generator,
    mask: np.ndarray,
    x: np.ndarray,
    out: np.ndarray,
    rate: float,
) -> np.ndarray:
    """uniform_fill(rng, mask), then dropout_forward(mask, x, out, rate):
    the same values and rng state, in one job where the draws run in C."""
    if _drawn_in_c(rng, mask, x, out):
        _pcg64_draw(rng.bit_generator, _core.dropout_pcg64, mask, x, out, rate)
    else:
        dropout_forward(uniform_fill(rng, mask), x, out, rate)
    return out


def avg_pool2d_forward(x: np.ndarray, y: np.ndarray, window: tuple) -> np.ndarray:
    """y = mean of each window's input cells (padding not counted)."""
    _core.avg_pool2d_forward(x, y, *window)
    return y


def avg_pool2d_backward(dy: np.ndarray, dx: np.ndarray, window: tuple) -> np.ndarray:
    """dx = each window's dy / count spread over its input cells."""
    _core.avg_pool2d_backward(dy, dx, *window)
    return dx


def global_pool_forward(x: np.ndarray, y: np.ndarray, maximum: bool) -> np.ndarray:
    """y (batch, channels) = mean or max of x (batch, steps, channels)."""
    _core.global_pool_forward(x, y, maximum)
    return y


def global_avg_pool_backward(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """dx[n, s, c] = dy[n, c] / steps."""
    _core.global_avg_pool_backward(dy, dx)
    return dx


def global_max_pool_backward(
    x: np.ndarray, y: np.ndarray, dy: np.ndarray, dx: np.ndarray
) -> np.ndarray:
    """dy shared equally by the steps of x equal to the maximum y."""
    _core.global_max_pool_backward(x, y, dy, dx)
    return dx


def pad2d(x: np.ndarray, y: np.ndarray, top: int, left: int) -> np.ndarray:
    """y = zeros with x copied at (top, left)."""
    _core.pad2d(x, y, top, left)
    return y


def crop2d(x: np.ndarray, y: np.ndarray, top: int, left: int) -> np.ndarray:
    """y = the window of x at (top, left) with y's height and width."""
    _core.crop2d(x, y, top, left)
    return y


def upsample2d_forward(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Nearest upsampling of x to y's size (whole multiples)."""
    _core.upsample2d_forward(x, y)
    return y


def upsample2d_backward(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Each dx cell = the sum of its block of dy."""
    _core.upsample2d_backward(dy, dx)
    return dx


def first_nonfinite(a: np.ndarray, as_float32: bool = False) -> int:
    """The flat index of a's first NaN or infinite value (float32 or
    float64, C-contiguous; with `as_float32`, a float64 value beyond
    float32's range counts), or -1. One pass on both threads."""
    return _core.first_nonfinite(a, as_float32=as_float32)


def gather_rows(ids: np.ndarray, source: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y = source[ids] converted to y's float dtype in one pass (source and y
    2-D, C-contiguous; source float32, float64 or uint8)."""
    _core.gather_rows(ids, source, y)
    return y


def embedding_forward(ids: np.ndarray, table: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y = table[ids], ids of any integer dtype read in place."""
    _core.embedding_forward(ids, table, y)
    return y


def embedding_backward(
    ids: np.ndarray, dy: np.ndarray, dtable: np.ndarray
) -> np.ndarray:
    """dtable = 0, then each dy row added at its id, in order."""
    _core.embedding_backward(ids, dy, dtable)
    return dtable


def set_num_threads(n: int) -> None:
    """Threads used by every kernel (results are reproducible per count)."""
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """Threads used by every kernel."""
    return _core.get_num_threads()


# Where the kernels' arrays start. A vector load that straddles two cache
# lines costs two: with Adam's second moments 16 bytes off a line (as malloc
# left them, by chance), a batch-32 training step of the Keras listing took
# 1.04 times as long as with every buffer on a line.
ALIGNMENT = 64


def aligned_empty(shape: int | tuple, dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on a 64-byte
    boundary (a cache line, an AVX-512 vector)."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if dtype.hasobject:  # references (a text model's strings): no kernel reads them
        return np.empty(shape, dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = (-raw.ctypes.data) % ALIGNMENT
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def aligned_zeros(shape: int | tuple, dtype: Any) -> np.ndarray:
    """aligned_empty, filled with zeros."""
    out = aligned_empty(shape, dtype)
    out.fill(0)
    return out


def aligned_copy(values: Any) -> np.ndarray:
    """A copy of `values` (an array) in an aligned_empty array."""
    values = np.asarray(values)
    out = aligned_empty(values.shape, values.dtype)
    np.copyto(out, values)
    return out
