"""Plain-NumPy float64 reference of a Dense/ReLU/softmax MLP training step.

Written independently of tinynn (in the style of the pure-NumPy article) so
model-level tests can check tinynn's fit against it.
"""

from __future__ import annotations

import numpy as np


def relu(z):
    return np.maximum(z, 0.0)


def softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def forward(weights, x, activations):
    """Layer outputs [a0=x, a1, ..., aL] for Dense layers with the given activations."""
    outs = [x]
    for (w, b), act in zip(pairs(weights), activations):
        z = outs[-1] @ w + b
        outs.append(
            {
                "relu": relu,
                "softmax": softmax,
                "linear": lambda v: v,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
                "tanh": np.tanh,
            }[act](z)
        )
    return outs


def pairs(weights):
    return list(zip(weights[0::2], weights[1::2]))


def sparse_xent_grads(weights, x, labels, activations):
    """Loss (batch mean of -log p_y) and gradients; last activation must be softmax."""
    outs = forward(weights, x, activations)
    probs = outs[-1]
    n = len(x)
    loss = float(np.mean(-np.log(probs[np.arange(n), labels])))
    delta = probs.copy()
    delta[np.arange(n), labels] -= 1.0
    delta /= n
    grads = []
    for layer in range(len(activations) - 1, -1, -1):
        w, _ = pairs(weights)[layer]
        grads = [outs[layer].T @ delta, delta.sum(axis=0)] + grads
        if layer:
            delta = (delta @ w.T) * (outs[layer] > 0)
    return loss, grads


def adam_step(weights, grads, m, v, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    """Keras's Adam: epsilon added to the uncorrected sqrt(v)."""
    alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
    new = []
    for i, (w, g) in enumerate(zip(weights, grads)):
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        new.append(w - alpha * m[i] / (np.sqrt(v[i]) + eps))
    return new
