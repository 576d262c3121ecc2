"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, and their lower-case functions (``layers.add([a, b])``).

Each is called on a list of tensors of one shape (Concatenate: equal but
for the axis) and has no weights. Backward rules (Keras/TensorFlow's):
Add passes dy to every input, Subtract dy and -dy, Multiply dy times the
product of the other inputs, Average dy / n, Maximum and Minimum route dy
to the one input that holds the extreme (the first one on ties, as
``tf.maximum``'s gradient does), Concatenate splits dy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import registry
from .base import Layer

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]


class _Merge(Layer):
    """Element-wise merge of n inputs of one shape."""

    _takes_list = True
    #: The fewest and most inputs the layer takes.
    _arity = (1, None)

    def build(self, input_shape: Any) -> None:
        shapes = self._check_shapes(input_shape)
        self.input_shape = shapes
        self.output_shape = self._merged_shape(shapes)
        self._gradients_from_params()
        self.built = True

    def _check_shapes(self, input_shape: Any) -> list[tuple]:
        cls = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in input_shape
        ):
            raise ValueError(
                f"A `{cls}` layer should be called on a list of inputs; got "
                f"{input_shape!r}"
            )
        low, high = self._arity
        n = len(input_shape)
        if n < low or (high is not None and n > high):
            expected = str(low) if high == low else f"at least {low}"
            raise ValueError(
                f"A `{cls}` layer should be called on {expected} inputs. Received: "
                f"{n} inputs."
            )
        return [tuple(s) for s in input_shape]

    def _merged_shape(self, shapes: list[tuple]) -> tuple:
        first = shapes[0][1:]
        for shape in shapes[1:]:
            if tuple(shape[1:]) != tuple(first):
                raise ValueError(
                    f"{type(self).__name__}: inputs must have the same shape (no "
                    f"broadcasting in tinynn); got shapes {shapes}"
                )
        return (None, *first)

    def _build_or_check(self, shape: Any) -> None:
        if not self.built:
            self.build(shape)
            return
        shapes = self._check_shapes(shape)
        if [s[1:] for s in shapes] != [tuple(s[1:]) for s in self.input_shape]:
            raise ValueError(
                f'Layer "{self.name}" was built for inputs of shapes '
                f"{self.input_shape}; got {shapes}"
            )

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        arrays = [np.ascontiguousarray(a, self._dtype) for a in x]
        if not self.built:
            self.build([(None, *a.shape[1:]) for a in arrays])
        out = np.empty((len(arrays[0]), *self.output_shape[1:]), self._dtype)
        self._eager_context = ctx = type(self._eager_context)()
        return self._forward(arrays, training, out, ctx)

    def backward(self, dy: Any) -> list[np.ndarray]:
        ctx = self._eager_context
        if ctx.output is None:
            raise RuntimeError(f"{self.name}.backward: call forward before backward")
        grad = np.ascontiguousarray(dy, self._dtype)
        dxs = [np.empty_like(x) for x in ctx.input]
        self._backward(grad, dxs, ctx)
        return dxs

    def _forward(self, xs, training, out, ctx):
        ctx.input, ctx.output = list(xs), out
        self._merge(xs, out)
        return out


@registry.register("layer")
class Add(_Merge):
    """``keras.layers.Add``: the sum of the inputs (summed left to right)."""

    def _merge(self, xs, out):
        np.copyto(out, xs[0])
        for x in xs[1:]:
            np.add(out, x, out=out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        for dx in dxs:
            if dx is not None:
                np.copyto(dx, dy)
        return dxs


@registry.register("layer")
class Subtract(_Merge):
    """``keras.layers.Subtract``: inputs[0] - inputs[1]."""

    _arity = (2, 2)

    def _merge(self, xs, out):
        np.subtract(xs[0], xs[1], out=out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        if dxs[0] is not None:
            np.copyto(dxs[0], dy)
        if dxs[1] is not None:
            np.negative(dy, out=dxs[1])
        return dxs


@registry.register("layer")
class Multiply(_Merge):
    """``keras.layers.Multiply``: the element-wise product (left to right)."""

    def _merge(self, xs, out):
        np.copyto(out, xs[0])
        for x in xs[1:]:
            np.multiply(out, x, out=out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        xs = ctx.input
        for i, dx in enumerate(dxs):
            if dx is None:
                continue
            # d(x0 x1 ... xn)/dxi: the product of the others, no division
            # (zeros must work), times dy.
            np.copyto(dx, dy)
            for j, x in enumerate(xs):
                if j != i:
                    np.multiply(dx, x, out=dx)
        return dxs


@registry.register("layer")
class Average(_Merge):
    """``keras.layers.Average``: the mean of the inputs."""

    def _merge(self, xs, out):
        np.copyto(out, xs[0])
        for x in xs[1:]:
            np.add(out, x, out=out)
        np.divide(out, len(xs), out=out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        n = len(dxs)
        for dx in dxs:
            if dx is not None:
                np.divide(dy, n, out=dx)
        return dxs


class _Extreme(_Merge):
    """Maximum/Minimum: a left fold; dy goes to the input holding the
    extreme, the earliest one on ties."""

    _pick = staticmethod(np.maximum)
    _beats = staticmethod(np.greater)

    def _merge(self, xs, out):
        np.copyto(out, xs[0])
        for x in xs[1:]:
            self._pick(out, x, out=out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        xs = ctx.input
        winner = ctx.buffer("winner", dy.shape, np.int64)
        best = ctx.buffer("best", dy.shape, self._dtype)
        winner.fill(0)
        np.copyto(best, xs[0])
        for i, x in enumerate(xs[1:], start=1):
            later_wins = self._beats(x, best)
            winner[later_wins] = i
            np.copyto(best, x, where=later_wins)
        for i, dx in enumerate(dxs):
            if dx is not None:
                np.multiply(dy, winner == i, out=dx)
        return dxs


@registry.register("layer")
class Maximum(_Extreme):
    """``keras.layers.Maximum``: the element-wise maximum."""


@registry.register("layer")
class Minimum(_Extreme):
    """``keras.layers.Minimum``: the element-wise minimum."""

    _pick = staticmethod(np.minimum)
    _beats = staticmethod(np.less)


@registry.register("layer")
class Concatenate(_Merge):
    """``keras.layers.Concatenate(axis=-1)``: the inputs joined along `axis`
    (their other axes equal)."""

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Concatenate: axis must be an int; got {axis!r}")
        self.axis = int(axis)

    def _merged_shape(self, shapes):
        rank = len(shapes[0])
        axis = self.axis if self.axis >= 0 else rank + self.axis
        if not 1 <= axis < rank or any(len(s) != rank for s in shapes):
            raise ValueError(
                f"Concatenate: axis {self.axis} is not a feature axis of inputs of "
                f"shapes {shapes}"
            )
        for s in shapes:
            if [d for i, d in enumerate(s) if i not in (0, axis)] != [
                d for i, d in enumerate(shapes[0]) if i not in (0, axis)
            ]:
                raise ValueError(
                    "A `Concatenate` layer requires inputs with matching shapes "
                    f"except for the concatenation axis. Received: input_shape={shapes}"
                )
        self._axis = axis
        width = sum(s[axis] for s in shapes)
        return (None, *shapes[0][1:axis], width, *shapes[0][axis + 1 :])

    def _merge(self, xs, out):
        np.concatenate(xs, axis=self._axis, out=out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        start = 0
        for x, dx in zip(ctx.input, dxs):
            width = x.shape[self._axis]
            if dx is not None:
                index = [slice(None)] * dy.ndim
                index[self._axis] = slice(start, start + width)
                np.copyto(dx, dy[tuple(index)])
            start += width
        return dxs

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def _functional(cls: type, doc: str):
    def merge(inputs: Any, **kwargs: Any) -> Any:
        return cls(**kwargs)(inputs)

    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = doc
    return merge


add = _functional(Add, "``keras.layers.add(inputs)``: ``Add()(inputs)``.")
subtract = _functional(Subtract, "``keras.layers.subtract``: ``Subtract()(inputs)``.")
multiply = _functional(Multiply, "``keras.layers.multiply``: ``Multiply()(inputs)``.")
average = _functional(Average, "``keras.layers.average``: ``Average()(inputs)``.")
maximum = _functional(Maximum, "``keras.layers.maximum``: ``Maximum()(inputs)``.")
minimum = _functional(Minimum, "``keras.layers.minimum``: ``Minimum()(inputs)``.")


def concatenate(inputs: Any, axis: int = -1, **kwargs: Any) -> Any:
    """``keras.layers.concatenate(inputs, axis=-1)``: ``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
