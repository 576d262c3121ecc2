"""PReLU, LayerNormalization and Normalization as layers: Keras's names,
defaults and weight shapes, forward and backward through the layer against
tests/reference.py (the kernels themselves are tested in
tests/test_core_kernels.py), adapt, training in a model, summary counts,
every file format and Keras-written configs, and real TensorFlow when it
happens to be importable."""

from __future__ import annotations

import json

import numpy as np
import pytest

import reference as ref
import tinynn as tf

PReLU = tf.keras.layers.PReLU
LN = tf.keras.layers.LayerNormalization
Norm = tf.keras.layers.Normalization


def data(n=60, features=5, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, features)) * np.arange(1, features + 1) + 3
    return x, (x[:, 0] + x[:, 1] > 6).astype(int)


# ---- PReLU ----------------------------------------------------------------------
def test_prelu_keras_defaults_and_alpha_shape():
    layer = PReLU()
    layer.build((None, 4, 3))
    assert layer._param_names == ["alpha"]
    np.testing.assert_array_equal(layer.get_weights()[0], np.zeros((4, 3), np.float32))
    shared = PReLU(shared_axes=[1])
    shared.build((None, 4, 3))
    assert shared.get_weights()[0].shape == (1, 3)  # Keras's shape
    assert PReLU(shared_axes=2).shared_axes == [2]


@pytest.mark.parametrize(
    "features, shared_axes, split",
    [
        ((7,), None, (1, 7, 1)),
        ((7,), [1], (7, 1, 1)),
        ((4, 3), [1], (4, 3, 1)),
        ((4, 3), [2], (1, 4, 3)),
        ((2, 3, 5), [1, 2], (6, 5, 1)),
        ((2, 3, 5), [3], (1, 6, 5)),
        ((2, 3, 5), [1, 3], (2, 3, 5)),
    ],
)
def test_prelu_layer_follows_the_reference(features, shared_axes, split):
    r = np.random.default_rng(len(features))
    layer = PReLU(shared_axes=shared_axes, dtype="float64")
    layer.build((None, *features))
    alpha = r.normal(size=layer.get_weights()[0].shape)
    layer.set_weights([alpha])
    x = r.normal(size=(3, *features))
    outer, channels, inner = split
    x3 = x.reshape(3 * outer, channels, inner)
    alpha1 = alpha.reshape(-1)
    np.testing.assert_allclose(
        layer.forward(x).reshape(x3.shape), ref.prelu_forward(x3, alpha1), rtol=1e-15
    )
    # the broadcast formula, independent of the (outer, channels, inner) view
    np.testing.assert_allclose(
        layer.forward(x), np.where(x > 0, x, alpha[None] * x), rtol=1e-15
    )
    dy = r.normal(size=x.shape)
    dx = layer.backward(dy)
    want_dx, want_dalpha = ref.prelu_backward(x3, alpha1, dy.reshape(x3.shape))
    np.testing.assert_allclose(dx.reshape(x3.shape), want_dx, rtol=1e-15)
    np.testing.assert_allclose(
        layer.gradients[0].reshape(-1), want_dalpha, rtol=1e-12, atol=1e-14
    )


def test_prelu_shared_axes_between_unshared_ones_are_refused():
    layer = PReLU(shared_axes=[2])
    with pytest.raises(ValueError, match="PReLU: shared_axes \\[2\\] must be leading"):
        layer.build((None, 2, 3, 4))
    with pytest.raises(ValueError, match="beyond the input's 1 feature axes"):
        PReLU(shared_axes=[2]).build((None, 5))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"alpha_regularizer": "l2"}, ValueError, "alpha_regularizer is not supported"),
        ({"alpha_constraint": "non_neg"}, ValueError, "alpha_constraint is not"),
        ({"shared_axes": [0]}, ValueError, "shared_axes must be input axes >= 1"),
        ({"shared_axes": "1"}, ValueError, "shared_axes must be input axes"),
        ({"shared_axes": 1.5}, TypeError, "shared_axes must be None, an int"),
        ({"alpha_initializer": "nope"}, ValueError, "PReLU"),
    ],
)
def test_prelu_bad_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        PReLU(**kwargs)


# ---- LayerNormalization ---------------------------------------------------------
def test_layernorm_keras_defaults_and_weight_names():
    layer = LN()
    assert (layer.axis, layer.epsilon, layer.center, layer.scale) == (-1, 1e-3, 1, 1)
    layer.build((None, 4))
    assert layer._param_names == ["gamma", "beta"]
    gamma, beta = layer.get_weights()
    np.testing.assert_array_equal(gamma, np.ones(4, np.float32))
    np.testing.assert_array_equal(beta, np.zeros(4, np.float32))
    off = LN(center=False, scale=False)
    off.build((None, 4))
    assert off.count_params() == 0


@pytest.mark.parametrize("shape", [(9, 4), (3, 5, 7), (1, 2), (70, 3)])
@pytest.mark.parametrize("center", [True, False])
def test_layernorm_layer_follows_the_reference(shape, center):
    r = np.random.default_rng(len(shape))
    x = r.normal(size=shape) * 3 + 2
    layer = LN(center=center, epsilon=0.01, dtype="float64")
    layer.build((None, *shape[1:]))
    channels = shape[-1]
    gamma, beta = r.normal(size=channels), r.normal(size=channels)
    layer.set_weights([gamma, beta] if center else [gamma])
    x2 = x.reshape(-1, channels)
    want = ref.layernorm_forward(x2, gamma, beta if center else None, 0.01)
    for training in (False, True):  # the same in both modes
        got = layer.forward(x, training=training)
        np.testing.assert_allclose(got.reshape(x2.shape), want, atol=1e-12)
    dy = r.normal(size=shape)
    dx = layer.backward(dy)
    want_dx, want_dgamma, want_dbeta = ref.layernorm_backward(
        x2, gamma, dy.reshape(x2.shape), 0.01
    )
    np.testing.assert_allclose(dx.reshape(x2.shape), want_dx, atol=1e-11)
    np.testing.assert_allclose(layer.gradients[0], want_dgamma, atol=1e-11)
    if center:
        np.testing.assert_allclose(layer.gradients[1], want_dbeta, atol=1e-11)


def test_layernorm_statistics_follow_the_batch_size():
    layer = LN(dtype="float64")
    r = np.random.default_rng(3)
    for rows in (5, 50, 3):  # grows, then a smaller batch reuses the buffer
        x = r.normal(size=(rows, 6))
        np.testing.assert_allclose(
            layer.forward(x), ref.layernorm_forward(x, None, None, 1e-3), atol=1e-12
        )
        assert layer.backward(np.ones_like(x)).shape == x.shape


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epsilon": -1}, ValueError, "epsilon must be a finite number"),
        ({"center": "yes"}, TypeError, "center must be True or False"),
        ({"axis": "last"}, TypeError, "axis must be an int"),
        ({"rms_scaling": True}, ValueError, "rms_scaling is not supported"),
        ({"beta_regularizer": "l2"}, ValueError, "beta_regularizer is not supported"),
    ],
)
def test_layernorm_bad_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        LN(**kwargs)


def test_layernorm_only_on_the_last_axis():
    with pytest.raises(ValueError, match="axis must be the last axis"):
        LN(axis=1).build((None, 3, 4))
    LN(axis=2).build((None, 3, 4))


# ---- Normalization --------------------------------------------------------------
def test_normalization_adapt_computes_float64_statistics():
    x, _ = data()
    x32 = (x + 1e4).astype(np.float32)  # a large offset: float32 sums would drift
    norm = Norm()
    norm.adapt(x32)
    mean, variance, count = norm.get_weights()
    want = x32.astype(np.float64)
    np.testing.assert_allclose(mean, want.mean(0), rtol=1e-7)
    np.testing.assert_allclose(variance, want.var(0), rtol=1e-6)
    assert count.shape == () and count == len(x)
    assert norm.mean.shape == (1, 5) and norm.variance.shape == (1, 5)
    np.testing.assert_allclose(norm.mean.numpy()[0], want.mean(0), rtol=1e-7)
    got = norm(x32).numpy().astype(np.float64)
    # float32 tolerance scaled by what the result is built from, |x| and
    # |mean| over the standard deviation (Keras rounds the mean to float32
    # too, an error of the same order)
    std = np.sqrt(want.var(0))
    bound = 4 * 1.2e-7 * (np.abs(want) + np.abs(want.mean(0))) / std
    err = np.abs(got - ref.normalization(x32, want.mean(0), want.var(0)))
    assert np.all(err <= bound), np.max(err / bound)
    # adapt again replaces (Keras 2 adapt resets its state)
    norm.adapt(x32[:10])
    assert norm.get_weights()[2] == 10


def test_normalization_formula_invert_and_epsilon_floor():
    x = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 5.0]])
    norm = Norm(dtype="float64")
    norm.adapt(x)  # the middle feature has variance 0
    want = ref.normalization(x, x.mean(0), x.var(0))
    np.testing.assert_allclose(norm.forward(x), want, rtol=1e-15)
    assert norm.forward(x + 1e-9)[0, 1] == pytest.approx(1e-9 / 1e-7)
    inverse = Norm(invert=True, dtype="float64")
    inverse.build((None, 3))
    inverse.set_weights(norm.get_weights())
    np.testing.assert_allclose(inverse.forward(norm.forward(x)), x, rtol=1e-14)
    np.testing.assert_allclose(
        inverse.forward(x), ref.normalization(x, x.mean(0), x.var(0), invert=True)
    )
    dy = np.random.default_rng(0).normal(size=x.shape)
    std = np.maximum(np.sqrt(x.var(0)), 1e-7)
    np.testing.assert_allclose(norm.backward(dy), dy / std, rtol=1e-15)
    inverse.forward(x)
    np.testing.assert_allclose(inverse.backward(dy), dy * std, rtol=1e-15)


def test_normalization_axis_none_with_a_vector_as_the_regression_tutorial():
    horsepower = np.array([130.0, 165, 150, 150, 140, 198, 220, 215])
    norm = Norm(input_shape=[1], axis=None, dtype="float64")
    norm.adapt(horsepower)
    assert [w.shape for w in norm.get_weights()] == [(), (), ()]
    want = ref.normalization(horsepower[:, None], horsepower.mean(), horsepower.var())
    np.testing.assert_allclose(norm.forward(horsepower[:, None]), want, rtol=1e-14)


def test_normalization_with_given_statistics_has_no_weights():
    norm = Norm(mean=3.0, variance=2.0)
    x = np.array([[1.0], [2.0], [3.0]])
    np.testing.assert_allclose(
        norm(x).numpy()[:, 0], [-1.4142135, -0.70710677, 0.0], rtol=1e-6
    )
    assert norm.count_params() == 0
    per_feature = Norm(mean=[1.0, 2.0], variance=[4.0, 9.0], dtype="float64")
    np.testing.assert_allclose(per_feature.forward(np.array([[3.0, 8.0]])), [[1, 2]])
    with pytest.raises(ValueError, match="adapt only a layer built without them"):
        norm.adapt(x)
    with pytest.raises(ValueError, match="does not broadcast"):
        Norm(mean=[1.0, 2.0], variance=[1.0, 1.0]).build((None, 3))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"mean": 1.0}, ValueError, "give both mean and variance"),
        ({"mean": 0.0, "variance": -1.0}, ValueError, "variance must be >= 0"),
        ({"invert": 1}, TypeError, "invert must be True or False"),
        ({"axis": "last"}, TypeError, "axis must be an int"),
    ],
)
def test_normalization_bad_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        Norm(**kwargs)


def test_normalization_adapt_checks_its_data():
    norm = Norm()
    with pytest.raises(ValueError, match="data must hold at least one sample"):
        norm.adapt(np.zeros((0, 3)))
    norm.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="incompatible"):
        norm.adapt(np.ones((4, 2)))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        norm.adapt(np.ones((4, 3)), batch_size=0)


# ---- in a model -----------------------------------------------------------------
def model_with_all_three(dtype="float64"):
    tf.set_seed(3)
    x, y = data()
    norm = Norm(input_shape=(5,), dtype=dtype)
    norm.adapt(x)
    model = tf.keras.Sequential(
        [
            norm,
            tf.keras.layers.Dense(8, dtype=dtype),
            PReLU(alpha_initializer=tf.keras.initializers.Constant(0.25), dtype=dtype),
            LN(dtype=dtype),
            tf.keras.layers.Dense(2, activation="softmax", dtype=dtype),
        ]
    )
    model.compile(
        tf.keras.optimizers.Adam(0.01),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model, x, y


def test_each_layer_trains_in_a_model():
    model, x, y = model_with_all_three()
    norm, _, prelu, ln, _ = model.layers
    before = [layer.get_weights() for layer in (norm, prelu, ln)]
    loss0 = model.evaluate(x, y, verbose=0)[0]
    history = model.fit(x, y, batch_size=10, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.7 * loss0
    assert history.history["accuracy"][-1] > 0.85
    # Normalization's statistics are not trained; alpha, gamma, beta are.
    for a, b in zip(before[0], norm.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(before[1][0], prelu.get_weights()[0])
    for a, b in zip(before[2], ln.get_weights()):
        assert not np.array_equal(a, b)


def test_summary_counts_follow_keras():
    model, _, _ = model_with_all_three()
    lines = []
    model.summary(print_fn=lines.append)
    # Normalization(5): mean 5 + variance 5 + count 1, non-trainable (Keras 2);
    # Dense 48, PReLU 8, LayerNormalization 16, Dense 18.
    assert "Total params: 101" in lines
    assert "Trainable params: 90" in lines
    assert "Non-trainable params: 11" in lines


@pytest.mark.parametrize("suffix", [".tnn", ".h5", ".keras"])
def test_round_trip_in_every_format(tmp_path, suffix):
    model, x, y = model_with_all_three("float32")
    model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Normalization",
        "Dense",
        "PReLU",
        "LayerNormalization",
        "Dense",
    ]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    if suffix == ".h5":
        h5py = pytest.importorskip("h5py")
        with h5py.File(path, "r") as file:
            names = {
                layer.name: [
                    n.decode() if isinstance(n, bytes) else n
                    for n in file["model_weights"][layer.name].attrs["weight_names"]
                ]
                for layer in loaded.layers
            }
        norm, _, prelu, ln, _ = loaded.layers
        assert names[norm.name] == [
            f"{norm.name}/{w}:0" for w in ("mean", "variance", "count")
        ]
        assert names[prelu.name] == [f"{prelu.name}/alpha:0"]
        assert names[ln.name] == [f"{ln.name}/gamma:0", f"{ln.name}/beta:0"]


def test_json_round_trip_keeps_the_arguments():
    layers = [
        Norm(axis=None, invert=True, mean=2.0, variance=4.0, input_shape=(3,)),
        PReLU(shared_axes=[1], alpha_initializer="ones"),
        LN(epsilon=0.01, center=False),
    ]
    model = tf.keras.Sequential(layers)
    model.build((None, 3))
    again = tf.keras.models.model_from_json(model.to_json())
    for old, new in zip(model.layers, again.layers):
        a, b = old.get_config(), new.get_config()
        for key in ("name", "batch_input_shape"):
            a.pop(key, None), b.pop(key, None)
        assert a == b
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_written_configs_load():
    """What tf.keras 2 writes for built layers (axis as lists, the
    regularizers and constraints as null)."""
    prelu = json.loads(
        '{"name": "p_re_lu", "trainable": true, "dtype": "float32",'
        ' "alpha_initializer": {"class_name": "Zeros", "config": {}},'
        ' "alpha_regularizer": null, "alpha_constraint": null,'
        ' "shared_axes": null}'
    )
    ln = json.loads(
        '{"name": "layer_normalization", "trainable": true, "dtype": "float32",'
        ' "axis": [1], "epsilon": 0.001, "center": true, "scale": true,'
        ' "beta_initializer": {"class_name": "Zeros", "config": {}},'
        ' "gamma_initializer": {"class_name": "Ones", "config": {}},'
        ' "beta_regularizer": null, "gamma_regularizer": null,'
        ' "beta_constraint": null, "gamma_constraint": null}'
    )
    norm = json.loads(
        '{"name": "normalization", "trainable": true, "dtype": "float32",'
        ' "axis": [-1], "invert": false, "mean": null, "variance": null}'
    )
    for cls, config, count in ((PReLU, prelu, 3), (LN, ln, 6), (Norm, norm, 7)):
        layer = cls.from_config(config)
        layer.build((None, 3))
        assert layer.count_params() == count
    assert Norm.from_config(dict(norm, axis=[])).axis is None


def test_matches_tensorflow_when_it_is_installed():
    tensorflow = pytest.importorskip(
        "tensorflow", reason="TensorFlow is not installed (an optional oracle)"
    )
    r = np.random.default_rng(2)
    x = (r.normal(size=(16, 5)) * 2 + 1).astype(np.float32)
    pairs = [
        (tensorflow.keras.layers.PReLU(), PReLU(), [r.normal(size=5)]),
        (
            tensorflow.keras.layers.LayerNormalization(),
            LN(),
            [r.normal(size=5), r.normal(size=5)],
        ),
    ]
    for theirs, ours, weights in pairs:
        theirs.build((None, 5))
        ours.build((None, 5))
        theirs.set_weights([w.astype(np.float32) for w in weights])
        ours.set_weights(weights)
        np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), atol=1e-5)
    theirs = tensorflow.keras.layers.Normalization()
    theirs.adapt(x)
    ours = Norm()
    ours.adapt(x)
    np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), atol=1e-5)


def test_a_keras2_h5_with_an_integer_count_loads(tmp_path):
    """tf.keras 2 keeps Normalization's count as an int64 scalar."""
    h5py = pytest.importorskip("h5py")
    model, x, _ = model_with_all_three("float32")
    path = tmp_path / "keras2.h5"
    model.save(path)
    norm = model.layers[0].name
    with h5py.File(path, "r+") as file:
        group = file["model_weights"][norm][norm]
        del group["count:0"]
        group.create_dataset("count:0", data=np.int64(len(x)))
    loaded = tf.keras.models.load_model(path)
    assert loaded.layers[0].get_weights()[2] == len(x)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
