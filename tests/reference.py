"""The spec of every C kernel, in plain NumPy and float64.

Written to be read like the pure-NumPy article: one function per kernel, the
formula and nothing else. tests/test_core_*.py compare tinynn._core against
these on random inputs.
"""

from __future__ import annotations

import numpy as np


def gemm(a, b, c=None, trans_a=False, trans_b=False, accumulate=False):
    """c (+)= op(a) @ op(b)."""
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    product = a.astype(np.float64) @ b.astype(np.float64)
    return c.astype(np.float64) + product if accumulate else product


def linear(x):
    return np.asarray(x, dtype=np.float64)


def relu(x):
    return np.maximum(x, 0.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def tanh(x):
    return np.tanh(np.asarray(x, dtype=np.float64))


def softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _erf(x):
    """erf element-wise (math.erf; NumPy has none)."""
    import math

    return np.vectorize(math.erf, otypes=[np.float64])(x)


def elu(x, alpha=1.0):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def selu(x):
    return SELU_SCALE * elu(x, SELU_ALPHA)


def softplus(x):
    """log(1 + e^x), written so that e^x never overflows."""
    x = np.asarray(x, np.float64)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def leaky_relu(x, alpha=0.2):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x, alpha * x)


def swish(x):
    x = np.asarray(x, np.float64)
    return x * sigmoid(x)


def gelu(x):
    """Keras's default gelu: x times the standard normal CDF."""
    x = np.asarray(x, np.float64)
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


def gelu_tanh(x):
    """Keras's gelu(approximate=True)."""
    x = np.asarray(x, np.float64)
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


ACTIVATIONS = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "elu": elu,
    "selu": selu,
    "softplus": softplus,
    "leaky_relu": leaky_relu,
    "swish": swish,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
}


def relu_clip(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras's ReLU layer: the clipped line above threshold, a slope below."""
    x = np.asarray(x, np.float64)
    top = np.inf if max_value is None else max_value
    return np.where(x > threshold, np.minimum(x, top), negative_slope * (x - threshold))


def relu_clip_derivative(x, max_value=None, negative_slope=0.0, threshold=0.0):
    x = np.asarray(x, np.float64)
    top = np.inf if max_value is None else max_value
    return np.where(x > threshold, (x < top).astype(np.float64), negative_slope)


def rescale(x, scale, offset):
    """Keras's Rescaling on (rows, cols): each column scaled, then shifted."""
    return np.asarray(x, np.float64) * scale + offset


def activation_derivative(name, x, alpha=None):
    """act'(x) from the forward INPUT x, written from calculus, not from y."""
    x = np.asarray(x, np.float64)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0)))
    if name == "softplus":
        return sigmoid(x)
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, 0.2 if alpha is None else alpha)
    if name == "swish":
        s = sigmoid(x)
        return s + x * s * (1 - s)
    if name == "gelu":
        return 0.5 * (1 + _erf(x / np.sqrt(2))) + x * np.exp(-0.5 * x * x) / np.sqrt(
            2 * np.pi
        )
    if name == "gelu_tanh":
        c = np.sqrt(2 / np.pi)
        t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    raise ValueError(name)


def activation_backward(name, y, dy):
    """dx from the forward output y and the incoming gradient dy."""
    y, dy = np.asarray(y, np.float64), np.asarray(dy, np.float64)
    if name == "linear":
        return dy
    if name == "relu":
        return dy * (y > 0)
    if name == "sigmoid":
        return dy * y * (1 - y)
    if name == "tanh":
        return dy * (1 - y * y)
    # softmax: the Jacobian diag(y) - y y^T applied row by row
    return y * (dy - (dy * y).sum(axis=1, keepdims=True))


def dense_forward(x, w, b, activation="linear"):
    """act(x @ w + b)."""
    z = x.astype(np.float64) @ w.astype(np.float64)
    if b is not None:
        z = z + b
    return ACTIVATIONS[activation](z)


def dense_backward(x, w, dy):
    """(dx, dw, db) of y = x @ w + b."""
    x, w, dy = (np.asarray(v, np.float64) for v in (x, w, dy))
    return dy @ w.T, x.T @ dy, dy.sum(axis=0)


def log_softmax(z):
    z = np.asarray(z, np.float64)
    top = z.max(axis=1, keepdims=True)
    return z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))


def softmax_xent(logits, labels):
    """(mean loss, dlogits, correct) for integer labels."""
    n = len(logits)
    logp = log_softmax(logits)
    loss = -logp[np.arange(n), labels].mean()
    onehot = np.zeros_like(logp)
    onehot[np.arange(n), labels] = 1
    dlogits = (np.exp(logp) - onehot) / n
    correct = int((np.argmax(logits, axis=1) == labels).sum())
    return loss, dlogits, correct


def softmax_xent_dense(logits, targets):
    """(mean loss, dlogits, correct) for one-hot or probability targets."""
    n = len(logits)
    t = np.asarray(targets, np.float64)
    logp = log_softmax(logits)
    loss = -(t * logp).sum(axis=1).mean()
    dlogits = (np.exp(logp) * t.sum(axis=1, keepdims=True) - t) / n
    correct = int((np.argmax(logits, axis=1) == np.argmax(t, axis=1)).sum())
    return loss, dlogits, correct


def mse(pred, target):
    diff = np.asarray(pred, np.float64) - target
    return np.mean(diff**2), 2 * diff / diff.size


def bce(pred, target, eps=1e-7):
    """Keras 2's binary cross-entropy on probabilities."""
    p = np.asarray(pred, np.float64)
    t = np.asarray(target, np.float64)
    q = np.clip(p, eps, 1 - eps)
    loss = -(t * np.log(q + eps) + (1 - t) * np.log(1 - q + eps))
    grad = (-t / (q + eps) + (1 - t) / (1 - q + eps)) / p.size
    grad = np.where((p > eps) & (p < 1 - eps), grad, 0.0)
    return loss.mean(), grad


def sigmoid_bce(logits, target):
    z = np.asarray(logits, np.float64)
    t = np.asarray(target, np.float64)
    loss = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    return loss.mean(), (sigmoid(z) - t) / z.size


def huber(pred, target, delta=1.0):
    """Keras's Huber loss (mean over all elements) and its gradient."""
    e = np.asarray(pred, np.float64) - np.asarray(target, np.float64)
    a = np.abs(e)
    loss = np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta)
    grad = np.where(a <= delta, e, delta * np.sign(e)) / e.size
    return loss.mean(), grad


def flush_subnormal(x, dtype):
    """The optimizers' decaying state as the kernels store it: values whose
    magnitude is below the smallest normal number of `dtype` become 0 (as
    TensorFlow's CPU kernels flush subnormals)."""
    x = np.asarray(x, np.float64)
    return np.where(np.abs(x) < np.finfo(dtype).tiny, 0.0, x)


def sgd(w, g, v, lr, momentum, nesterov):
    """New (w, v)."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    if momentum == 0:
        return w - lr * g, v
    v = momentum * v - lr * g
    return (w + momentum * v - lr * g if nesterov else w + v), v


def rmsprop(w, g, s, v, lr, rho, momentum, eps):
    """New (w, s, v)."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    s = rho * s + (1 - rho) * g * g
    step = lr * g / np.sqrt(s + eps)
    if momentum == 0:
        return w - step, s, v
    v = momentum * v + step
    return w - v, s, v


def adam(w, g, m, v, vhat, lr, beta_1, beta_2, eps, t):
    """New (w, m, v, vhat): Keras's rule, epsilon on the uncorrected sqrt(v)."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    m = m + (g - m) * (1 - beta_1)
    v = v + (g * g - v) * (1 - beta_2)
    if vhat is not None:
        vhat = np.maximum(vhat, v)
        return w - alpha * m / (np.sqrt(vhat) + eps), m, v, vhat
    return w - alpha * m / (np.sqrt(v) + eps), m, v, vhat


def adagrad(w, g, acc, lr, eps):
    """New (w, accumulator): Keras 2's Adagrad, epsilon outside the root."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    acc = np.asarray(acc, np.float64) + g * g
    return w - lr * g / (np.sqrt(acc) + eps), acc


def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, momentum, eps, training):
    """Keras 2's BatchNormalization (axis=-1, non-fused) on x (rows, channels).

    Returns (y, new moving_mean, new moving_var). Training normalises with the
    batch's mean and biased variance and moves the moving statistics:
    moving -= (moving - batch value) * (1 - momentum); inference normalises
    with the moving statistics and leaves them. gamma/beta None: 1 and 0.
    """
    x = np.asarray(x, dtype=np.float64)
    gamma = 1.0 if gamma is None else np.asarray(gamma, dtype=np.float64)
    beta = 0.0 if beta is None else np.asarray(beta, dtype=np.float64)
    moving_mean = np.asarray(moving_mean, dtype=np.float64)
    moving_var = np.asarray(moving_var, dtype=np.float64)
    if training:
        mean = x.mean(axis=0)
        var = ((x - mean) ** 2).mean(axis=0)
        moving_mean = moving_mean - (moving_mean - mean) * (1 - momentum)
        moving_var = moving_var - (moving_var - var) * (1 - momentum)
    else:
        mean, var = moving_mean, moving_var
    y = gamma * (x - mean) / np.sqrt(var + eps) + beta
    return y, moving_mean, moving_var


def batchnorm_backward(x, gamma, dy, moving_mean, moving_var, eps, training):
    """(dx, dgamma, dbeta) of batchnorm_forward, by the chain rule through
    the batch variance and mean (training) or with the moving statistics as
    constants (inference)."""
    x = np.asarray(x, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    gamma = 1.0 if gamma is None else np.asarray(gamma, dtype=np.float64)
    n = x.shape[0]
    if training:
        mean = x.mean(axis=0)
        var = ((x - mean) ** 2).mean(axis=0)
    else:
        mean = np.asarray(moving_mean, dtype=np.float64)
        var = np.asarray(moving_var, dtype=np.float64)
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    dxhat = dy * gamma
    if not training:
        return dxhat / std, dgamma, dbeta
    dvar = (dxhat * (x - mean) * -0.5 * (var + eps) ** -1.5).sum(axis=0)
    dmean = (-dxhat / std).sum(axis=0) + dvar * (-2.0 * (x - mean)).mean(axis=0)
    dx = dxhat / std + dvar * 2.0 * (x - mean) / n + dmean / n
    return dx, dgamma, dbeta


def adamw(w, g, m, v, vhat, lr, beta_1, beta_2, eps, t, weight_decay):
    """New (w, m, v, vhat): Keras's AdamW, w -= w lr wd, then Adam's step."""
    w = np.asarray(w, np.float64)
    w = w - w * (lr * weight_decay)
    return adam(w, g, m, v, vhat, lr, beta_1, beta_2, eps, t)


def adadelta(w, g, acc_grad, acc_delta, lr, rho, eps):
    """New (w, accumulated_grad, accumulated_delta): Keras's Adadelta."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    acc_grad = rho * np.asarray(acc_grad, np.float64) + (1 - rho) * g**2
    acc_delta = np.asarray(acc_delta, np.float64)
    delta = -np.sqrt(acc_delta + eps) * g / np.sqrt(acc_grad + eps)
    acc_delta = rho * acc_delta + (1 - rho) * delta**2
    return w + lr * delta, acc_grad, acc_delta


def adamax(w, g, m, u, lr, beta_1, beta_2, eps, t):
    """New (w, m, u): Keras's Adamax (infinity-norm Adam)."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    m = beta_1 * np.asarray(m, np.float64) + (1 - beta_1) * g
    u = np.maximum(beta_2 * np.asarray(u, np.float64), np.abs(g))
    return w - lr * m / ((1 - beta_1**t) * (u + eps)), m, u


def nadam_momentum(beta_1, t):
    """Keras's Nadam momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t)."""
    return beta_1 * (1 - 0.5 * 0.96**t)


def nadam(w, g, m, v, lr, beta_1, beta_2, eps, t):
    """New (w, m, v): Keras's Nadam at step t (the running product of the
    momentum schedule recomputed from scratch)."""
    w, g = np.asarray(w, np.float64), np.asarray(g, np.float64)
    product = np.prod([nadam_momentum(beta_1, i) for i in range(1, t + 1)])
    u_t, u_next = nadam_momentum(beta_1, t), nadam_momentum(beta_1, t + 1)
    m = beta_1 * np.asarray(m, np.float64) + (1 - beta_1) * g
    v = beta_2 * np.asarray(v, np.float64) + (1 - beta_2) * g * g
    m_hat = u_next * m / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
    v_hat = v / (1 - beta_2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def clip_gradients(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    """Keras's gradient clipping: per-variable norm, elementwise value, or the
    global norm over all variables. Returns new float64 arrays."""
    grads = [np.asarray(g, np.float64) for g in grads]
    if clipnorm is not None:
        grads = [g * clipnorm / max(np.sqrt(np.sum(g * g)), clipnorm) for g in grads]
    if clipvalue is not None:
        grads = [np.clip(g, -clipvalue, clipvalue) for g in grads]
    if global_clipnorm is not None:
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        grads = [g * global_clipnorm / max(norm, global_clipnorm) for g in grads]
    return grads


def confusion(y_true, y_pred, threshold):
    """(tp, fp, tn, fn) counted one element at a time: positive when > threshold."""
    tp = fp = tn = fn = 0
    for t, p in zip(np.ravel(y_true), np.ravel(y_pred)):
        if p > threshold:
            tp, fp = (tp + 1, fp) if t else (tp, fp + 1)
        else:
            fn, tn = (fn + 1, tn) if t else (fn, tn + 1)
    return tp, fp, tn, fn


def auc(y_true, y_pred, num_thresholds=200, curve="ROC", summation="interpolation"):
    """Keras's AUC, written as a loop over threshold pairs.

    Thresholds: -1e-7, i / (n - 1) for i = 1 .. n - 2, 1 + 1e-7. ROC is
    (fpr, tpr) by the trapezoid rule; PR interpolation is Davis & Goadrich's:
    between neighbouring thresholds precision = tp / (tp + fp) with tp and
    tp + fp moving linearly, integrated exactly over recall.
    """
    thresholds = [-1e-7] + [
        i / (num_thresholds - 1) for i in range(1, num_thresholds - 1)
    ]
    thresholds.append(1 + 1e-7)
    counts = [confusion(y_true, y_pred, th) for th in thresholds]

    def div(a, b):
        return a / b if b else 0.0

    total = 0.0
    for (tp0, fp0, tn0, fn0), (tp1, fp1, tn1, fn1) in zip(counts, counts[1:]):
        if curve == "PR" and summation == "interpolation":
            dtp, dp = tp0 - tp1, (tp0 + fp0) - (tp1 + fp1)
            if dp <= 0 or tp1 + fn1 == 0:
                continue
            slope = dtp / dp  # precision's numerator per unit of p
            intercept = tp1 - slope * (tp1 + fp1)
            p0, p1 = tp0 + fp0, tp1 + fp1
            ratio = p0 / p1 if p0 > 0 and p1 > 0 else 1.0
            total += slope * (dtp + intercept * np.log(ratio)) / (tp1 + fn1)
            continue
        if curve == "ROC":
            x0, x1 = div(fp0, fp0 + tn0), div(fp1, fp1 + tn1)
            y0, y1 = div(tp0, tp0 + fn0), div(tp1, tp1 + fn1)
        else:
            x0, x1 = div(tp0, tp0 + fn0), div(tp1, tp1 + fn1)
            y0, y1 = div(tp0, tp0 + fp0), div(tp1, tp1 + fp1)
        height = {"interpolation": (y0 + y1) / 2, "minoring": min(y0, y1)}.get(
            summation, max(y0, y1)
        )
        total += (x0 - x1) * height
    return total


def layernorm_forward(x, gamma, beta, eps):
    """Keras's LayerNormalization (axis=-1) on x (rows, channels): each row
    normalised with its own mean and biased variance, then gamma, beta per
    channel (None: 1 and 0)."""
    x = np.asarray(x, dtype=np.float64)
    gamma = 1.0 if gamma is None else np.asarray(gamma, dtype=np.float64)
    beta = 0.0 if beta is None else np.asarray(beta, dtype=np.float64)
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def layernorm_backward(x, gamma, dy, eps):
    """(dx, dgamma, dbeta) of layernorm_forward, by the chain rule through
    the row's variance and mean (the transpose of batchnorm's training case)."""
    x = np.asarray(x, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    gamma = 1.0 if gamma is None else np.asarray(gamma, dtype=np.float64)
    n = x.shape[1]
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = (x - mean) / std
    dgamma = (dy * xhat).sum(axis=0)
    dbeta = dy.sum(axis=0)
    dxhat = dy * gamma
    dvar = (dxhat * (x - mean) * -0.5 * (var + eps) ** -1.5).sum(axis=1, keepdims=True)
    dmean = (-dxhat / std).sum(axis=1, keepdims=True) + dvar * (-2.0 * (x - mean)).mean(
        axis=1, keepdims=True
    )
    dx = dxhat / std + dvar * 2.0 * (x - mean) / n + dmean / n
    return dx, dgamma, dbeta


def prelu_forward(x, alpha):
    """Keras's PReLU, relu(x) - alpha relu(-x), on x (outer, channels,
    inner) with one alpha per channel."""
    x = np.asarray(x, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)[None, :, None]
    return np.maximum(x, 0) - a * np.maximum(-x, 0)


def prelu_backward(x, alpha, dy):
    """(dx, dalpha) of prelu_forward; relu's derivative is 0 at 0, as in
    TensorFlow, so dx is 0 where x == 0."""
    x = np.asarray(x, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)[None, :, None]
    dx = dy * ((x > 0) + a * (x < 0))
    dalpha = (dy * np.minimum(x, 0)).sum(axis=(0, 2))
    return dx, dalpha


def normalization(x, mean, variance, invert=False):
    """Keras 2's Normalization on x (rows, features): (x - mean) / std, or
    mean + x std with invert, where std = max(sqrt(variance), 1e-7)."""
    x = np.asarray(x, dtype=np.float64)
    std = np.maximum(np.sqrt(np.asarray(variance, np.float64)), 1e-7)
    return mean + x * std if invert else (x - mean) / std


def conv_output_size(size, kernel, stride, dilation, pad_before, pad_after):
    """Output pixels along one axis of a convolution with explicit padding."""
    span = (kernel - 1) * dilation + 1
    return (size + pad_before + pad_after - span) // stride + 1


def _act_last_axis(name, z):
    """An activation applied over the last axis (softmax per pixel)."""
    return ACTIVATIONS[name](z.reshape(-1, z.shape[-1])).reshape(z.shape)


def conv2d_forward(x, w, b, strides, dilation, padding, activation="linear"):
    """NHWC convolution with Keras's (kh, kw, in, out) kernel:
    y[n, oh, ow, f] = b[f] + sum over i, j, c of
    x[n, oh*sh - top + i*dh, ow*sw - left + j*dw, c] * w[i, j, c, f],
    where a row or column outside x reads 0 (zero padding)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    batch, height, width, _ = x.shape
    kh, kw, _, filters = w.shape
    (sh, sw), (dh, dw), (top, left, bottom, right) = strides, dilation, padding
    out_h = conv_output_size(height, kh, sh, dh, top, bottom)
    out_w = conv_output_size(width, kw, sw, dw, left, right)
    y = np.zeros((batch, out_h, out_w, filters))
    for oh in range(out_h):
        for ow in range(out_w):
            for i in range(kh):
                for j in range(kw):
                    row, col = oh * sh - top + i * dh, ow * sw - left + j * dw
                    if 0 <= row < height and 0 <= col < width:
                        y[:, oh, ow, :] += x[:, row, col, :] @ w[i, j]
    if b is not None:
        y += b
    return _act_last_axis(activation, y)


def conv2d_backward(x, w, dy, strides, dilation, padding):
    """(dx, dw, db) of y = conv2d_forward(x, w, b, ...) (linear), from dy:
    each term x[n, row, col, c] w[i, j, c, f] of y[n, oh, ow, f] sends
    dy * w to dx[n, row, col, c] and dy * x to dw[i, j, c, f]."""
    x, w, dy = (np.asarray(v, np.float64) for v in (x, w, dy))
    _, height, width, _ = x.shape
    kh, kw, _, _ = w.shape
    (sh, sw), (dh, dw_), (top, left, _, _) = strides, dilation, padding
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for oh in range(dy.shape[1]):
        for ow in range(dy.shape[2]):
            for i in range(kh):
                for j in range(kw):
                    row, col = oh * sh - top + i * dh, ow * sw - left + j * dw_
                    if 0 <= row < height and 0 <= col < width:
                        dx[:, row, col, :] += dy[:, oh, ow, :] @ w[i, j].T
                        dw[i, j] += x[:, row, col, :].T @ dy[:, oh, ow, :]
    return dx, dw, dy.sum(axis=(0, 1, 2))


def conv2d_transpose_forward(
    x, w, b, out_hw, strides, dilation, padding, activation="linear"
):
    """Keras's Conv2DTranspose with kernel w (kh, kw, filters, in): every
    input pixel x[n, oh, ow, :] paints w[i, j] @ x[n, oh, ow, :] onto
    y[n, oh*sh - top + i*dh, ow*sw - left + j*dw, :] (dropped outside y);
    y has out_hw = (height, width) pixels, then bias and activation."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    batch, in_h, in_w, _ = x.shape
    kh, kw, filters, _ = w.shape
    (sh, sw), (dh, dw), (top, left, _, _) = strides, dilation, padding
    height, width = out_hw
    y = np.zeros((batch, height, width, filters))
    for oh in range(in_h):
        for ow in range(in_w):
            for i in range(kh):
                for j in range(kw):
                    row, col = oh * sh - top + i * dh, ow * sw - left + j * dw
                    if 0 <= row < height and 0 <= col < width:
                        y[:, row, col, :] += x[:, oh, ow, :] @ w[i, j].T
    if b is not None:
        y += b
    return _act_last_axis(activation, y)


def conv2d_transpose_backward(x, w, dy, strides, dilation, padding):
    """(dx, dw, db) of y = conv2d_transpose_forward(x, w, b, ...) (linear):
    the painting above read backwards, term by term."""
    x, w, dy = (np.asarray(v, np.float64) for v in (x, w, dy))
    _, in_h, in_w, _ = x.shape
    kh, kw, _, _ = w.shape
    _, height, width, _ = dy.shape
    (sh, sw), (dh, dw_), (top, left, _, _) = strides, dilation, padding
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for oh in range(in_h):
        for ow in range(in_w):
            for i in range(kh):
                for j in range(kw):
                    row, col = oh * sh - top + i * dh, ow * sw - left + j * dw_
                    if 0 <= row < height and 0 <= col < width:
                        dx[:, oh, ow, :] += dy[:, row, col, :] @ w[i, j]
                        dw[i, j] += dy[:, row, col, :].T @ x[:, oh, ow, :]
    return dx, dw, dy.sum(axis=(0, 1, 2))


# ---- pooling, padding, upsampling, embedding (NHWC, explicit loops) ------------
def pool_window(o, stride, pad, pool, size):
    """Input rows [r0, r1) under output row o, clipped to the input."""
    start = o * stride - pad
    return max(start, 0), min(start + pool, size)


def max_pool2d(x, out_hw, window):
    """y and argmax (spatial index of the FIRST maximum, row-major order)."""
    ph, pw, sh, sw, pt, pl = window
    n, h, w, c = x.shape
    oh, ow = out_hw
    y = np.empty((n, oh, ow, c))
    argmax = np.empty((n, oh, ow, c), np.int64)
    for b in range(n):
        for i in range(oh):
            r0, r1 = pool_window(i, sh, pt, ph, h)
            for j in range(ow):
                s0, s1 = pool_window(j, sw, pl, pw, w)
                for ch in range(c):
                    best, at = None, None
                    for r in range(r0, r1):
                        for s in range(s0, s1):
                            v = float(x[b, r, s, ch])
                            if best is None or v > best:
                                best, at = v, r * w + s
                    y[b, i, j, ch], argmax[b, i, j, ch] = best, at
    return y, argmax


def max_pool2d_backward(dy, argmax, in_hw):
    n, oh, ow, c = dy.shape
    h, w = in_hw
    dx = np.zeros((n, h * w, c))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    dx[b, argmax[b, i, j, ch], ch] += dy[b, i, j, ch]
    return dx.reshape(n, h, w, c)


def avg_pool2d(x, out_hw, window):
    """Mean over each window's input cells (padding not counted)."""
    ph, pw, sh, sw, pt, pl = window
    n, h, w, c = x.shape
    oh, ow = out_hw
    y = np.zeros((n, oh, ow, c))
    for b in range(n):
        for i in range(oh):
            r0, r1 = pool_window(i, sh, pt, ph, h)
            for j in range(ow):
                s0, s1 = pool_window(j, sw, pl, pw, w)
                cells = x[b, r0:r1, s0:s1, :].astype(np.float64)
                y[b, i, j] = cells.sum(axis=(0, 1)) / ((r1 - r0) * (s1 - s0))
    return y


def avg_pool2d_backward(dy, in_hw, window):
    ph, pw, sh, sw, pt, pl = window
    n, oh, ow, c = dy.shape
    h, w = in_hw
    dx = np.zeros((n, h, w, c))
    for b in range(n):
        for i in range(oh):
            r0, r1 = pool_window(i, sh, pt, ph, h)
            for j in range(ow):
                s0, s1 = pool_window(j, sw, pl, pw, w)
                count = (r1 - r0) * (s1 - s0)
                dx[b, r0:r1, s0:s1, :] += dy[b, i, j, :] / count
    return dx


def global_pool(x, maximum):
    """x (batch, steps, channels) -> mean or max over the steps."""
    x = np.asarray(x, np.float64)
    return x.max(axis=1) if maximum else x.sum(axis=1) / x.shape[1]


def global_max_pool_backward(x, dy):
    """dy shared equally by the steps equal to the maximum."""
    x = np.asarray(x, np.float64)
    ties = x == x.max(axis=1, keepdims=True)
    return ties * (dy[:, None, :] / ties.sum(axis=1, keepdims=True))


def pad2d(x, out_hw, top, left):
    n, h, w, c = x.shape
    y = np.zeros((n, *out_hw, c))
    y[:, top : top + h, left : left + w, :] = x
    return y


def crop2d(x, out_hw, top, left):
    return np.asarray(x, np.float64)[
        :, top : top + out_hw[0], left : left + out_hw[1], :
    ].copy()


def upsample2d(x, scale_h, scale_w):
    n, h, w, c = x.shape
    y = np.empty((n, h * scale_h, w * scale_w, c))
    for i in range(h * scale_h):
        for j in range(w * scale_w):
            y[:, i, j, :] = x[:, i // scale_h, j // scale_w, :]
    return y


def upsample2d_backward(dy, scale_h, scale_w):
    n, hh, ww, c = dy.shape
    dx = np.zeros((n, hh // scale_h, ww // scale_w, c))
    for i in range(hh):
        for j in range(ww):
            dx[:, i // scale_h, j // scale_w, :] += dy[:, i, j, :]
    return dx


def embedding(ids, table):
    ids = np.asarray(ids)
    y = np.empty((*ids.shape, table.shape[1]))
    for index in np.ndindex(*ids.shape):
        y[index] = table[int(ids[index])]
    return y


def embedding_backward(ids, dy, input_dim):
    """Table gradient: dy rows added at their ids, in order."""
    ids = np.asarray(ids)
    dtable = np.zeros((input_dim, dy.shape[-1]))
    for index in np.ndindex(*ids.shape):
        dtable[int(ids[index])] += dy[index]
    return dtable


def dropout_forward(u, x, rate):
    """(mask, out) of inverted dropout from uniform draws u: keep where
    u >= rate (compared in u's dtype, as NumPy compares an array with a
    Python float), kept values scaled by 1 / (1 - rate) rounded to u's dtype."""
    dtype = u.dtype.type
    mask = np.empty(u.shape, np.float64)
    flat_u, flat_mask = u.reshape(-1), mask.reshape(-1)
    for i in range(flat_u.size):
        keep = flat_u[i] >= dtype(rate)
        flat_mask[i] = float(dtype(1.0 / (1.0 - rate))) if keep else 0.0
    return mask, np.asarray(x, np.float64) * mask


def pool_geometry(size, pool, stride, padding):
    """(output size, padding before) along one axis, TensorFlow's rule."""
    if padding == "valid":
        return (size - pool) // stride + 1, 0
    out = -(-size // stride)
    return out, max((out - 1) * stride + pool - size, 0) // 2


def pool_case(case, channels):
    """(x shape, y shape, window) of a pooling case (batch, height, width,
    pool_h, pool_w, stride_h, stride_w, padding) with `channels`; window as
    the kernels take it: (pool_h, pool_w, stride_h, stride_w, pad_top,
    pad_left)."""
    n, h, w, ph, pw, sh, sw, padding = case
    (oh, pt), (ow, pl) = (
        pool_geometry(h, ph, sh, padding),
        pool_geometry(w, pw, sw, padding),
    )
    return (n, h, w, channels), (n, oh, ow, channels), (ph, pw, sh, sw, pt, pl)


# ---- merge layers (csrc/merge.inc) ---------------------------------------------
# Folds run left to right, x0 first, in the inputs' dtype (Keras's order).


def merge_add(xs):
    out = xs[0].copy()
    for x in xs[1:]:
        out = out + x
    return out


def merge_multiply(xs):
    out = xs[0].copy()
    for x in xs[1:]:
        out = out * x
    return out


def merge_average(xs):
    """Keras divides the sum by n (it does not multiply by 1/n)."""
    return merge_add(xs) / xs[0].dtype.type(len(xs))


def merge_multiply_backward(xs, dy):
    """dx_k = dy * (the product of the other inputs, left to right)."""
    dxs = []
    for k in range(len(xs)):
        product = np.ones_like(dy)
        for m, x in enumerate(xs):
            if m != k:
                product = product * x
        dxs.append(dy * product)
    return dxs


def merge_select(xs, largest=True):
    """(the fold's value, the input its gradient goes to) element-wise.

    TensorFlow's gradient of maximum(m, x) goes to m where m >= x, else to x
    (minimum: m <= x); Keras's n-ary Maximum is the left fold
    maximum(maximum(x0, x1), x2)..., so the gradient's owner changes only where
    a later input is strictly larger, or either value is NaN. The value is NaN
    wherever an input is.
    """
    m = xs[0].copy()
    which = np.zeros(m.shape, np.int64)
    for k, x in enumerate(xs[1:], start=1):
        keep = m >= x if largest else m <= x
        which = np.where(keep, which, k)
        better = m > x if largest else m < x
        m = np.where(better | np.isnan(m), m, x)
    return m, which


def merge_select_backward(xs, dy, largest=True):
    _, which = merge_select(xs, largest)
    return [np.where(which == k, dy, 0.0).astype(dy.dtype) for k in range(len(xs))]


def dot(x0, x1, normalize=False, epsilon=1e-12):
    """Keras's Dot(axes=1) on (batch, d) -> (batch, 1); normalize as
    tf.linalg.l2_normalize: x / sqrt(max(sum x^2, epsilon))."""
    x0, x1 = np.asarray(x0, np.float64), np.asarray(x1, np.float64)
    if normalize:
        x0 = x0 / np.sqrt(np.maximum((x0 * x0).sum(1, keepdims=True), epsilon))
        x1 = x1 / np.sqrt(np.maximum((x1 * x1).sum(1, keepdims=True), epsilon))
    return (x0 * x1).sum(1, keepdims=True)


def dot_backward(x0, x1, dy, normalize=False, epsilon=1e-12):
    """(dx0, dx1) of dot; where sum x^2 < epsilon the norm is a constant."""
    x0, x1 = np.asarray(x0, np.float64), np.asarray(x1, np.float64)
    dy = np.asarray(dy, np.float64)
    if not normalize:
        return dy * x1, dy * x0
    s0 = (x0 * x0).sum(1, keepdims=True)
    s1 = (x1 * x1).sum(1, keepdims=True)
    i0 = 1 / np.sqrt(np.maximum(s0, epsilon))
    i1 = 1 / np.sqrt(np.maximum(s1, epsilon))
    n0, n1 = x0 * i0, x1 * i1
    c = (n0 * n1).sum(1, keepdims=True)
    dx0 = dy * i0 * np.where(s0 >= epsilon, n1 - n0 * c, n1)
    dx1 = dy * i1 * np.where(s1 >= epsilon, n0 - n1 * c, n0)
    return dx0, dx1


def _dot_axes(axes):
    pair = axes if isinstance(axes, tuple) else (axes, axes)
    return tuple(a + 3 if a < 0 else a for a in pair)


def batch_dot(x0, x1, axes=2):
    """Keras's Dot on 3-D inputs: out[b, i, j] = sum_p A[b, i, p] B[b, p, j], A = x0
    with its summed axis last, B = x1 with its summed axis first."""
    a0, a1 = _dot_axes(axes)
    a = np.asarray(x0, np.float64)
    b = np.asarray(x1, np.float64)
    a = a if a0 == 2 else a.transpose(0, 2, 1)
    b = b if a1 == 1 else b.transpose(0, 2, 1)
    return a @ b


def batch_dot_backward(x0, x1, dy, axes=2):
    """(dx0, dx1) of batch_dot, laid out as x0 and x1."""
    a0, a1 = _dot_axes(axes)
    a = np.asarray(x0, np.float64)
    b = np.asarray(x1, np.float64)
    a = a if a0 == 2 else a.transpose(0, 2, 1)
    b = b if a1 == 1 else b.transpose(0, 2, 1)
    dy = np.asarray(dy, np.float64)
    da = dy @ b.transpose(0, 2, 1)
    db = a.transpose(0, 2, 1) @ dy
    da = da if a0 == 2 else da.transpose(0, 2, 1)
    db = db if a1 == 1 else db.transpose(0, 2, 1)
    return da, db
