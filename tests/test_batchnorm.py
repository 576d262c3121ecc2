"""BatchNormalization: Keras 2's layer on the C kernels (tested against the
NumPy reference of Keras's formulas in tests/test_core_kernels.py), here as a
layer: training versus inference, the moving statistics, trainable flags and
counts, both file formats with Keras's weight names, and a comparison with
real TensorFlow when it happens to be importable."""

from __future__ import annotations

import json

import numpy as np
import pytest

import reference as ref
import tinynn as tf

BN = tf.keras.layers.BatchNormalization


def data(n=40, features=5, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, features)) * 2 + 1, r.integers(0, 3, n)


def bn_model(dtype="float64", **bn_args):
    tf.set_seed(7)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(6, activation="relu", input_shape=(5,), dtype=dtype),
            BN(dtype=dtype, **bn_args),
            tf.keras.layers.Dense(3, activation="softmax", dtype=dtype),
        ]
    )
    model.compile(tf.keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


def test_keras_defaults_and_weight_names():
    layer = BN()
    assert (layer.axis, layer.momentum, layer.epsilon) == (-1, 0.99, 1e-3)
    assert layer.center and layer.scale
    layer.build((None, 4))
    assert layer._param_names == ["gamma", "beta", "moving_mean", "moving_variance"]
    gamma, beta, mean, var = layer.get_weights()
    for array, value in ((gamma, 1), (beta, 0), (mean, 0), (var, 1)):
        np.testing.assert_array_equal(array, np.full(4, value, np.float32))
    assert len(layer.trainable_weights) == 2
    assert len(layer.non_trainable_weights) == 2


@pytest.mark.parametrize("shape", [(9, 4), (3, 5, 7), (1, 2)])
def test_layer_forward_and_backward_follow_the_reference(shape):
    r = np.random.default_rng(len(shape))
    x = r.normal(size=shape) * 3 + 2
    layer = BN(momentum=0.9, dtype="float64")
    layer.build((None, *shape[1:]))
    channels = shape[-1]
    gamma, beta = r.normal(size=channels), r.normal(size=channels)
    moving = r.normal(size=channels), 0.5 + r.random(channels)
    layer.set_weights([gamma, beta, *moving])
    x2 = x.reshape(-1, channels)
    # Inference: the moving statistics, left as they are.
    want, _, _ = ref.batchnorm_forward(x2, gamma, beta, *moving, 0.9, 1e-3, False)
    got = layer.forward(x)
    np.testing.assert_allclose(got.reshape(-1, channels), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer.get_weights()[2], moving[0])
    # Training: the batch's statistics, and the moving ones move.
    want, mean, var = ref.batchnorm_forward(x2, gamma, beta, *moving, 0.9, 1e-3, True)
    got = layer.forward(x, training=True)
    np.testing.assert_allclose(got.reshape(-1, channels), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.get_weights()[2], mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.get_weights()[3], var, rtol=1e-12)
    dy = r.normal(size=shape)
    dx = layer.backward(dy)
    want_dx, want_dgamma, want_dbeta = ref.batchnorm_backward(
        x2, gamma, dy.reshape(-1, channels), *moving, 1e-3, True
    )
    np.testing.assert_allclose(dx.reshape(-1, channels), want_dx, atol=1e-11)
    np.testing.assert_allclose(layer.gradients[0], want_dgamma, rtol=1e-11)
    np.testing.assert_allclose(layer.gradients[1], want_dbeta, rtol=1e-11)
    assert not np.any(layer.gradients[2]) and not np.any(layer.gradients[3])


def test_fit_updates_moving_statistics_and_predict_uses_them():
    model = bn_model()
    x, y = data()
    bn = model.layers[1]
    # One step by hand: the statistics are those of the first layer's
    # output for this batch, before the step changes its weights.
    kernel, bias = model.layers[0].get_weights()
    hidden = np.maximum(x @ kernel + bias, 0)
    _, want_mean, want_var = ref.batchnorm_forward(
        hidden, None, None, np.zeros(6), np.ones(6), 0.99, 1e-3, True
    )
    model.train_on_batch(x, y)
    np.testing.assert_allclose(bn.get_weights()[2], want_mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bn.get_weights()[3], want_var, rtol=1e-12)
    # gamma and beta were trained by the optimizer; the statistics were not
    # (the optimizer's state covers the trainable weights only).
    assert not np.array_equal(bn.get_weights()[0], np.ones(6))
    assert model.optimizer.flat_state() == {}  # plain SGD keeps none
    # predict is inference: the moving statistics, same answer twice.
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    gamma, beta, mean, var = bn.get_weights()
    kernel, bias = model.layers[0].get_weights()
    hidden = np.maximum(x @ kernel + bias, 0)
    normed, _, _ = ref.batchnorm_forward(
        hidden, gamma, beta, mean, var, 0.99, 1e-3, False
    )
    k2, b2 = model.layers[2].get_weights()
    logits = normed @ k2 + b2
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-10)
    np.testing.assert_array_equal(bn.get_weights()[2], mean)


def test_a_frozen_batchnorm_runs_in_inference_mode_and_keeps_everything():
    model = bn_model()
    bn = model.layers[1]
    bn.trainable = False
    before = bn.get_weights()
    first_before = model.layers[0].get_weights()[0]
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for old, new in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(new, old)
    # Gradients flow through it (inference-mode backward) to the Dense below.
    assert not np.array_equal(model.layers[0].get_weights()[0], first_before)


@pytest.mark.parametrize(
    "args, trainable, frozen",
    [
        ({}, 12, 12),
        ({"center": False}, 6, 12),
        ({"scale": False, "center": False}, 0, 12),
    ],
)
def test_summary_counts_follow_keras(args, trainable, frozen):
    tf.set_seed(0)
    model = tf.keras.Sequential([BN(input_shape=(6,), **args)])
    lines = []
    model.summary(print_fn=lines.append)
    # Keras: 4 weights of 6 per BatchNormalization(6); gamma, beta trainable.
    assert f"Total params: {trainable + frozen}" in lines
    assert f"Trainable params: {trainable}" in lines
    assert f"Non-trainable params: {frozen}" in lines


@pytest.mark.parametrize("suffix", [".tnn", ".h5"])
def test_round_trip_in_both_formats_with_keras_weight_names(tmp_path, suffix):
    model = bn_model(dtype="float32", center=False, momentum=0.9, epsilon=0.01)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / f"bn{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    bn = loaded.layers[1]
    assert isinstance(bn, BN)
    assert (bn.center, bn.scale, bn.momentum, bn.epsilon) == (False, True, 0.9, 0.01)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    # Training continues where it stopped, in both copies alike.
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    if suffix == ".h5":
        h5py = pytest.importorskip("h5py")
        with h5py.File(path, "r") as file:
            group = file["model_weights"][bn.name]
            names = [
                n.decode() if isinstance(n, bytes) else n
                for n in group.attrs["weight_names"]
            ]
        assert names == [
            f"{bn.name}/gamma:0",
            f"{bn.name}/moving_mean:0",
            f"{bn.name}/moving_variance:0",
        ]


def test_a_keras_written_config_loads():
    """What tf.keras 2 writes for a built layer (axis as a list, fused, the
    regularizers and constraints as null)."""
    config = json.loads(
        '{"name": "batch_normalization", "trainable": true, "dtype": "float32",'
        ' "axis": [1], "momentum": 0.99, "epsilon": 0.001, "center": true,'
        ' "scale": true, "beta_initializer": {"class_name": "Zeros", "config": {}},'
        ' "gamma_initializer": {"class_name": "Ones", "config": {}},'
        ' "moving_mean_initializer": {"class_name": "Zeros", "config": {}},'
        ' "moving_variance_initializer": {"class_name": "Ones", "config": {}},'
        ' "beta_regularizer": null, "gamma_regularizer": null,'
        ' "beta_constraint": null, "gamma_constraint": null}'
    )
    layer = BN.from_config(config)
    layer.build((None, 3))
    assert layer.count_params() == 12
    with pytest.raises(ValueError, match="axis must be the last axis"):
        BN.from_config(config).build((None, 3, 4))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"momentum": "high"}, TypeError, "momentum must be a number"),
        ({"momentum": 1.5}, ValueError, "momentum must be a finite number"),
        ({"epsilon": -1}, ValueError, "epsilon must be a finite number"),
        ({"center": "yes"}, TypeError, "center must be True or False"),
        ({"axis": "last"}, TypeError, "axis must be an int"),
        ({"renorm": True}, ValueError, "renorm is not supported"),
        ({"gamma_regularizer": "l5"}, ValueError, "gamma_regularizer"),
        ({"beta_constraint": 1.0}, TypeError, "beta_constraint"),
        ({"gamma_initializer": "nope"}, ValueError, "BatchNormalization"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        BN(**kwargs)


def test_matches_tensorflow_when_it_is_installed():
    tensorflow = pytest.importorskip(
        "tensorflow", reason="TensorFlow is not installed (an optional oracle)"
    )
    r = np.random.default_rng(2)
    x = r.normal(size=(16, 5)).astype(np.float32) * 2 + 1
    theirs = tensorflow.keras.layers.BatchNormalization(momentum=0.9)
    theirs.build((None, 5))
    ours = BN(momentum=0.9)
    ours.build((None, 5))
    weights = [r.normal(size=5), r.normal(size=5), r.normal(size=5), 0.5 + r.random(5)]
    theirs.set_weights([w.astype(np.float32) for w in weights])
    ours.set_weights(weights)
    for training in (False, True):
        np.testing.assert_allclose(
            ours.forward(x, training=training),
            np.asarray(theirs(x, training=training)),
            rtol=1e-4,
            atol=1e-5,
        )
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
