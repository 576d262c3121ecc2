"""What the Keras oracle tests share: importing real Keras 3 (skipping the
test module without TensorFlow, failing instead when TINYNN_REQUIRE_KERAS
is set, as in CI's Keras step), running both libraries in float64, and the
relative-error check."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

import tinynn


def tensorflow_or_skip(what: str):
    """TensorFlow, when its tf.keras is Keras 3; otherwise skip the calling
    test module (`what` names the oracle in the reason)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
    except ImportError:
        if os.environ.get("TINYNN_REQUIRE_KERAS"):
            raise
        pytest.skip(
            "TensorFlow is an optional oracle (pip install tensorflow-cpu)",
            allow_module_level=True,
        )
    if not tf.keras.__version__.startswith("3."):
        pytest.skip(f"the {what} oracle needs Keras 3", allow_module_level=True)
    return tf


def keras_2_and_3():
    """(Keras 2.x as tf_keras, Keras 3 as keras), None for either that is
    not importable; both required when TINYNN_REQUIRE_KERAS is set."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras as keras3

        if not keras3.__version__.startswith("3."):
            keras3 = None
    except ImportError:
        keras3 = None
    try:
        import tf_keras as keras2
    except ImportError:
        keras2 = None
    if os.environ.get("TINYNN_REQUIRE_KERAS") and (keras3 is None or keras2 is None):
        raise ImportError(
            "TINYNN_REQUIRE_KERAS is set but Keras 3 (keras) or Keras 2.x "
            "(tf_keras) is not importable: pip install tensorflow-cpu==2.21.0 "
            "tf-keras==2.21.0"
        )
    return keras2, keras3


def file_format_params(keras2, keras3):
    """pytest params ("keras2", ".h5") and ("keras3", ".keras"), each
    skipped when that Keras is missing: each Keras with its own file format."""
    import pytest

    return [
        pytest.param(
            "keras2",
            ".h5",
            marks=pytest.mark.skipif(keras2 is None, reason="needs tf_keras"),
        ),
        pytest.param(
            "keras3",
            ".keras",
            marks=pytest.mark.skipif(keras3 is None, reason="needs Keras 3"),
        ),
    ]


@contextlib.contextmanager
def float64(keras):
    """Both libraries in float64 for the block. Keras caches its global
    dtype policy: it is set too, or layers built after an earlier float32
    test would compute in float32."""
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    tinynn.backend.clear_session()
    tinynn.set_floatx("float64")
    try:
        yield keras
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
        tinynn.set_floatx("float32")


def assert_close(mine, theirs, tol: float, what: str = "") -> None:
    """max |mine - theirs| <= tol max(max |theirs|, 1), shapes equal."""
    mine, theirs = np.asarray(mine, np.float64), np.asarray(theirs, np.float64)
    assert mine.shape == theirs.shape, f"{what}: {mine.shape} vs {theirs.shape}"
    scale = max(np.abs(theirs).max(), 1.0) if theirs.size else 1.0
    err = np.abs(mine - theirs).max() / scale if theirs.size else 0.0
    assert err <= tol, f"{what}: relative error {err:.3g}"


def assert_same_training(mine, theirs, x, y, validation, fit, tol):
    """Fit both models alike (`fit`: fit's keyword arguments, validation data
    given); every History series, evaluate's values and predict agree to
    `tol`. Returns the History keys (sorted) for further checks."""
    h_mine = mine.fit(x, y, validation_data=validation, **fit).history
    h_theirs = theirs.fit(x, y, validation_data=validation, **fit).history
    assert sorted(h_mine) == sorted(h_theirs)
    for key in h_mine:
        assert_close(h_mine[key], h_theirs[key], tol, f"history {key}")
    e_mine = mine.evaluate(*validation, verbose=0, return_dict=True)
    e_theirs = theirs.evaluate(*validation, verbose=0, return_dict=True)
    assert sorted(e_mine) == sorted(e_theirs)
    for key in e_mine:
        assert_close(e_mine[key], e_theirs[key], tol, f"evaluate {key}")
    x_val = validation[0]
    assert_close(
        mine.predict(x_val, verbose=0), theirs.predict(x_val, verbose=0), tol, "predict"
    )
    return sorted(h_mine)
