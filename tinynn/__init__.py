"""tinynn: a small Keras-like neural-network library with a C core.

``import tinynn as tf`` runs classic ``tf.keras`` beginner code: the
``tinynn.keras`` namespace mirrors ``tf.keras`` (models, layers, optimizers,
losses, callbacks, datasets, utils, backend).
"""

from __future__ import annotations

import types as _types

from ._version import __version__

from . import _backend, _unsupported
from . import activations, backend, callbacks, initializers, layers, losses, metrics
from . import constraints, nn, optimizers, random, registry, regularizers, tensor, utils
from . import data, datasets, text
from .backend import clear_session, floatx, set_floatx
from ._random import set_seed
from .models import Model, Sequential
from .saving import load_model
from .tensor import (
    Tensor,
    argmax,
    cast,
    constant,
    convert_to_tensor,
    float16,
    float32,
    float64,
    get_logger,
    int8,
    int16,
    int32,
    int64,
    ones,
    reduce_mean,
    reduce_sum,
    uint8,
    zeros,
)
from .tensor import bool_ as bool  # noqa: A004  (tf.bool)
from .tensor import (  # noqa: A004  (TensorFlow's names)
    abs,
    add,
    clip_by_value,
    concat,
    divide,
    equal,
    exp,
    expand_dims,
    greater,
    less,
    linspace,
    log,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    one_hot,
    pow,
    range,
    reduce_max,
    reduce_min,
    reduce_prod,
    reshape,
    round,
    shape,
    sigmoid,
    sqrt,
    square,
    squeeze,
    stack,
    subtract,
    tanh,
    transpose,
    where,
)
from . import keras  # noqa: E402  (needs everything above)


#: ``tf.math``: the element-wise and reduction functions under their math names.
math = _types.SimpleNamespace(
    **{
        name: getattr(tensor, name)
        for name in (
            "abs add argmax divide equal exp greater less log maximum minimum "
            "multiply negative not_equal pow reduce_max reduce_mean reduce_min "
            "reduce_prod reduce_std reduce_sum reduce_variance round sigmoid sqrt "
            "square subtract tanh"
        ).split()
    }
)

#: ``tf.version.VERSION`` (tinynn's version, like ``tf.__version__``).
version = _types.SimpleNamespace(VERSION=__version__)


def set_num_threads(n: int) -> None:
    """Number of threads every kernel uses.

    The default is ``TINYNN_NUM_THREADS`` when set, otherwise the CPUs this
    process may run on (its affinity mask, lowered to its cgroup's CPU quota).
    Results are bit-for-bit the same for every thread count.
    """
    from ._checks import positive_int

    _backend.set_num_threads(positive_int(n, "set_num_threads", "n"))


def get_num_threads() -> int:
    """Number of threads the kernels use."""
    return _backend.get_num_threads()


def __getattr__(name: str):
    # matplotlib-backed plotting loads only when first used.
    if name == "plot":
        import importlib

        return importlib.import_module(".plot", __name__)
    return _explain_missing(name)  # raises AttributeError


_explain_missing = _unsupported.module_getattr("tinynn", _unsupported.TENSORFLOW, "tf")


__all__ = [
    "abs",
    "add",
    "clip_by_value",
    "concat",
    "divide",
    "equal",
    "exp",
    "expand_dims",
    "greater",
    "less",
    "linspace",
    "log",
    "matmul",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "not_equal",
    "one_hot",
    "pow",
    "range",
    "reduce_max",
    "reduce_min",
    "reduce_prod",
    "reshape",
    "round",
    "shape",
    "sigmoid",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "subtract",
    "tanh",
    "transpose",
    "where",
    "Model",
    "Sequential",
    "Tensor",
    "argmax",
    "bool",
    "cast",
    "constant",
    "convert_to_tensor",
    "float16",
    "float32",
    "float64",
    "get_logger",
    "int8",
    "int16",
    "int32",
    "int64",
    "ones",
    "reduce_mean",
    "reduce_sum",
    "tensor",
    "text",
    "uint8",
    "version",
    "zeros",
    "activations",
    "backend",
    "callbacks",
    "clear_session",
    "constraints",
    "data",
    "datasets",
    "floatx",
    "get_num_threads",
    "initializers",
    "keras",
    "math",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "nn",
    "optimizers",
    "plot",
    "random",
    "registry",
    "regularizers",
    "set_floatx",
    "set_num_threads",
    "set_seed",
    "utils",
    "__version__",
]
