"""Session-wide settings: the default float dtype and the layer-name counters.

Mirrors the parts of ``tf.keras.backend`` that beginner code touches
(``set_floatx``, ``floatx``, ``clear_session``, ``epsilon``).
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

_SUPPORTED_FLOATX = ("float32", "float64")
_floatx = "float32"
_name_counters: defaultdict[str, int] = defaultdict(int)


def floatx() -> str:
    """The default float dtype of new layers and models, ``'float32'`` or ``'float64'``."""
    return _floatx


def set_floatx(value: str) -> None:
    """Choose the default float dtype: ``'float32'`` (default) or ``'float64'``.

    Layers built afterwards compute, store weights and accumulate metrics in
    that dtype, end to end.

    Raises
    ------
    ValueError
        If `value` is not one of the two supported names.
    """
    global _floatx
    name = np.dtype(value).name if _is_dtype_like(value) else value
    if name not in _SUPPORTED_FLOATX:
        raise ValueError(
            f"set_floatx: value must be one of {_SUPPORTED_FLOATX}; got {value!r}"
        )
    _floatx = name


def _is_dtype_like(value: object) -> bool:
    try:
        np.dtype(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return True


def epsilon() -> float:
    """The fuzz factor Keras uses to clip probabilities (1e-7)."""
    return 1e-7


def resolve_dtype(dtype: object, where: str) -> np.dtype:
    """The float dtype for `dtype` (None means floatx()); rejects anything else."""
    if dtype is None:
        return np.dtype(_floatx)
    try:
        resolved = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in _SUPPORTED_FLOATX:
        raise TypeError(f"{where}: dtype must be 'float32' or 'float64'; got {dtype!r}")
    return resolved


def unique_name(prefix: str) -> str:
    """Keras-style default name: ``dense``, then ``dense_1``, ``dense_2``..."""
    count = _name_counters[prefix]
    _name_counters[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def snake_case(class_name: str) -> str:
    """Keras's default layer names: ``Dense`` -> ``dense``, ``InputLayer`` ->
    ``input_layer``, ``ReLU`` -> ``re_lu``, ``PReLU`` -> ``p_re_lu``: a
    capitalised word starts a new part, and so does a capital after a
    lowercase letter; a run of capitals stays together."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()


def clear_session() -> None:
    """Reset the default-name counters (the next Dense is ``dense`` again)."""
    _name_counters.clear()
