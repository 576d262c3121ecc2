"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot, and their lower-case functions (``layers.add([a, b])``).

Each is called on a list of tensors of one shape (Concatenate: equal but
for the axis; Dot: see its docstring) and has no weights. Backward rules
(Keras/TensorFlow's): Add passes dy to every input, Subtract dy and -dy,
Multiply dy times the product of the other inputs, Average dy / n, Maximum
and Minimum route dy to the one input TensorFlow's gradient picks (the
earliest on ties), Concatenate splits dy. The arithmetic is in C
(csrc/merge.inc; docs/merge-kernels.md has the tie and NaN rules).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend, registry
from .base import Layer

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
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
        _backend.merge_add(xs, out)

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
        _backend.merge_subtract(xs[0], xs[1], out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        _backend.merge_subtract_backward(dy, dxs[0], dxs[1])
        return dxs


@registry.register("layer")
class Multiply(_Merge):
    """``keras.layers.Multiply``: the element-wise product (left to right)."""

    def _merge(self, xs, out):
        _backend.merge_multiply(xs, out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        # d(x0 x1 ... xn)/dxi: dy times the product of the others (no
        # division, so zeros work).
        _backend.merge_multiply_backward(ctx.input, dy, dxs)
        return dxs


@registry.register("layer")
class Average(_Merge):
    """``keras.layers.Average``: the mean of the inputs."""

    def _merge(self, xs, out):
        _backend.merge_average(xs, out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        _backend.merge_average_backward(dy, dxs)
        return dxs


@registry.register("layer")
class Maximum(_Merge):
    """``keras.layers.Maximum``: the element-wise maximum (a left fold; dy
    goes to the earliest input holding it)."""

    def _merge(self, xs, out):
        _backend.merge_maximum(xs, out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        _backend.merge_maximum_backward(ctx.input, dy, dxs)
        return dxs


@registry.register("layer")
class Minimum(_Merge):
    """``keras.layers.Minimum``: the element-wise minimum (a left fold; dy
    goes to the earliest input holding it)."""

    def _merge(self, xs, out):
        _backend.merge_minimum(xs, out)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        _backend.merge_minimum_backward(ctx.input, dy, dxs)
        return dxs


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
        _backend.concatenate(xs, out, self._axis)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        _backend.concatenate_backward(ctx.input, dy, dxs, self._axis)
        return dxs

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


@registry.register("layer")
class Dot(_Merge):
    """``keras.layers.Dot(axes, normalize=False)``: the dot product of two
    tensors along `axes`, sample by sample.

    2-D inputs (batch, d) with ``axes=1`` give (batch, 1), optionally of
    l2-normalized rows (cosine similarity, TensorFlow's epsilon 1e-12 on the
    squared norm); 3-D inputs (batch, a1, a2) and (batch, b1, b2) with axes
    1 or 2 each (an int or a pair) give the batched matrix product over
    those axes (no ``normalize``).
    """

    _arity = (2, 2)

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Dot: axes must be an int or a pair; got {axes!r}")
            pair = tuple(axes)
        else:
            pair = (axes, axes)
        for axis in pair:
            if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
                raise TypeError(f"Dot: axes must hold ints; got {axes!r}")
        self.axes = (
            [int(a) for a in pair] if isinstance(axes, (list, tuple)) else int(axes)
        )
        self._pair = tuple(int(a) for a in pair)
        if not isinstance(normalize, (bool, np.bool_)):
            raise TypeError(f"Dot: normalize must be True or False; got {normalize!r}")
        self.normalize = bool(normalize)

    def _merged_shape(self, shapes):
        (a, b), rank = shapes, len(shapes[0])
        if rank != len(b) or rank not in (2, 3):
            raise ValueError(
                f"Dot: inputs must both be 2-D (batch, d) or both 3-D; got {shapes}"
            )
        axes = tuple(x % rank for x in self._pair)
        if a[axes[0]] != b[axes[1]] or 0 in axes:
            raise ValueError(
                f"Dot: incompatible input shapes {shapes} for axes {self.axes}: the "
                "summed axes must have one size (and not be the batch axis)"
            )
        if rank == 2:
            return (None, 1)
        if self.normalize:
            raise ValueError("Dot: normalize=True is supported for 2-D inputs only")
        free_a = a[3 - axes[0]]
        free_b = b[3 - axes[1]]
        return (None, free_a, free_b)

    def _merge(self, xs, out):
        if xs[0].ndim == 2:
            _backend.dot(xs[0], xs[1], out, normalize=self.normalize)
        else:
            _backend.batch_dot(xs[0], xs[1], out, axes=self._pair)

    def _backward(self, dy, dxs, ctx, accumulate=False):
        x0, x1 = ctx.input
        if x0.ndim == 2:
            _backend.dot_backward(x0, x1, dy, dxs[0], dxs[1], normalize=self.normalize)
        else:
            _backend.batch_dot_backward(x0, x1, dy, dxs[0], dxs[1], axes=self._pair)
        return dxs

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
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


def dot(inputs: Any, axes: Any, normalize: bool = False, **kwargs: Any) -> Any:
    """``keras.layers.dot(inputs, axes)``: ``Dot(axes, normalize)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


def concatenate(inputs: Any, axis: int = -1, **kwargs: Any) -> Any:
    """``keras.layers.concatenate(inputs, axis=-1)``: ``Concatenate(axis)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
