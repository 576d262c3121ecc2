"""Orthogonal, TruncatedNormal, Constant(array) and initializer=None, with
Keras's rules; every one round-trips through get_config and a saved model."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf

init = tf.keras.initializers


@pytest.mark.parametrize("shape", [(7, 3), (3, 7), (5, 5), (2, 3, 4), (1, 1)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    w = init.Orthogonal(gain=1.0, seed=3)(shape, "float64")
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_orthogonal_gain_scales_and_follows_the_qr_sign_rule():
    a = np.random.default_rng(5).normal(size=(6, 4))  # what seed 5 draws
    q, r = np.linalg.qr(a)
    want = 2.5 * q * np.sign(np.diag(r))
    got = init.Orthogonal(gain=2.5, seed=5)((6, 4), "float64")
    np.testing.assert_allclose(got, want, rtol=1e-12)
    wide = init.Orthogonal(gain=2.5, seed=5)((4, 6), "float64")
    np.testing.assert_allclose(wide, want.T, rtol=1e-12)
    with pytest.raises(ValueError, match="at least two dimensions; got shape \\(5,\\)"):
        init.Orthogonal()((5,))


def test_truncated_normal_stays_within_two_stddev_of_the_mean():
    tf.set_seed(0)
    w = tf.keras.initializers.get("truncated_normal", "test")((200, 300))
    assert isinstance(
        tf.keras.initializers.get("truncated_normal", "t"), init.TruncatedNormal
    )
    assert w.dtype == np.float32 and np.abs(w).max() <= 0.1
    # a N(0, 0.05) truncated at +-2 sigma keeps 0.87962566 of its spread
    assert w.std() == pytest.approx(0.05 * 0.87962566, rel=0.02)
    shifted = init.TruncatedNormal(mean=3.0, stddev=0.5, seed=1)((1000,), "float64")
    assert shifted.min() >= 2.0 and shifted.max() <= 4.0
    assert shifted.mean() == pytest.approx(3.0, abs=0.05)


def test_constant_takes_a_number_or_an_array_of_the_weights_shape():
    assert init.Constant(0.5)((2, 2)).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    kernel = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(init.Constant(kernel)((3, 2), "float64"), kernel)
    np.testing.assert_array_equal(
        init.Constant([1.0, 2.0])((3, 2), "float64"), [[1, 2]] * 3
    )  # broadcasts, as Keras 3 does
    with pytest.raises(
        ValueError, match=r"value has shape \(3, 2\), which does not fit"
    ):
        init.Constant(kernel)((2, 3))
    with pytest.raises(TypeError, match="Constant: value must be a number or an array"):
        init.Constant("one")
    config = init.Constant(kernel).get_config()
    assert config == {"value": kernel.tolist()}
    np.testing.assert_array_equal(init.Constant(**config)((3, 2), "float64"), kernel)


def test_dense_with_constant_array_orthogonal_and_none_saves_and_loads(tmp_path):
    kernel = np.arange(12.0).reshape(4, 3) / 10
    tf.set_seed(2)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(
                3,
                input_shape=(4,),
                kernel_initializer=init.Constant(kernel),
                bias_initializer=None,
            ),
            tf.keras.layers.Dense(2, kernel_initializer="orthogonal"),
        ]
    )
    w0, b0, w1, _ = model.get_weights()
    np.testing.assert_allclose(w0, kernel, rtol=1e-7)
    # Keras's add_weight falls back to glorot_uniform for initializer=None
    assert isinstance(model.layers[0].bias_initializer, init.GlorotUniform)
    assert np.abs(b0).max() <= np.sqrt(6 / (1 + 3)) and np.any(b0 != 0)
    np.testing.assert_allclose(w1.T @ w1, np.eye(2), atol=1e-6)
    model.compile("sgd", "mse")
    path = tmp_path / "m.tnn"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.get_weights()[0], w0)
    first, second = (layer.kernel_initializer for layer in loaded.layers)
    assert isinstance(second, init.Orthogonal)
    np.testing.assert_allclose(first((4, 3), "float64"), kernel)


@pytest.mark.parametrize(
    "obj",
    [
        init.Orthogonal(gain=0.5, seed=4),
        init.TruncatedNormal(mean=0.1, stddev=0.2, seed=4),
        init.Constant(0.25),
    ],
    ids=lambda o: type(o).__name__,
)
def test_get_config_round_trips(obj):
    again = tf.keras.initializers.deserialize(tf.keras.initializers.serialize(obj))
    assert type(again) is type(obj) and again.get_config() == obj.get_config()
    np.testing.assert_array_equal(again((3, 3)), obj((3, 3)))
