"""Conv2D, Conv1D and Conv2DTranspose as layers: Keras's arguments, shapes,
configs and errors; gradients through the layer (activation, regularizers,
a shared layer's accumulated gradients); training in a Sequential; round
trips through every file format."""

from __future__ import annotations

import json

import numpy as np
import pytest

import reference as ref
import tinynn as tf
from tinynn.layers import Conv1D, Conv2D, Conv2DTranspose

layers = tf.keras.layers


def same_out(size, stride):
    return -(-size // stride)


# ---- shapes -----------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 2, 5, 7, 8, 13])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same", "SAME", "Valid"])
def test_conv2d_output_size_matches_tf_rules_and_the_reference(
    size, kernel, stride, padding
):
    p = padding.lower()
    if p == "valid" and size < kernel:
        with pytest.raises(ValueError, match="at least as large as the kernel"):
            layers.Conv2D(2, kernel, strides=stride, padding=padding).build(
                (None, size, size + 1, 1)
            )
        return
    layer = layers.Conv2D(2, (kernel, 1), strides=(stride, 1), padding=padding)
    layer.build((None, size, 3, 1))
    expected = same_out(size, stride) if p == "same" else (size - kernel) // stride + 1
    assert layer.output_shape == (None, expected, 3, 2)
    x = np.random.default_rng(size).normal(size=(2, size, 3, 1))
    y = layer.forward(x)
    top = 0
    if p == "same":
        total = max((expected - 1) * stride + kernel - size, 0)
        top = total // 2  # the odd row goes to the bottom
        pad = (top, 0, total - top, 0)
    else:
        pad = (0, 0, 0, 0)
    want = ref.conv2d_forward(x, layer.kernel, layer.bias, (stride, 1), (1, 1), pad)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_dilation_same_and_valid_sizes():
    layer = layers.Conv2D(3, 3, dilation_rate=2, padding="same", input_shape=(9, 8, 2))
    layer.build((None, 9, 8, 2))
    assert layer.output_shape == (None, 9, 8, 3)
    layer = layers.Conv2D(3, 3, dilation_rate=(2, 3), input_shape=(9, 8, 2))
    layer.build((None, 9, 8, 2))
    assert layer.output_shape == (None, 5, 2, 3)


@pytest.mark.parametrize(
    "size, kernel, stride, padding, output_padding, expected",
    [
        (5, 3, 2, "valid", None, 11),
        (5, 3, 2, "same", None, 10),
        (5, 3, 2, "same", 1, 10),
        (5, 3, 2, "valid", 1, 12),
        (4, 1, 3, "valid", None, 12),
        (4, 4, 2, "same", 0, 6),
        (3, 5, 1, "valid", None, 7),
        (3, 2, 3, "same", 2, 8),
    ],
)
def test_conv2d_transpose_output_sizes(
    size, kernel, stride, padding, output_padding, expected
):
    layer = layers.Conv2DTranspose(
        2, kernel, strides=stride, padding=padding, output_padding=output_padding
    )
    layer.build((None, size, size, 3))
    assert layer.output_shape == (None, expected, expected, 2)
    assert layer.kernel.shape == (kernel, kernel, 2, 3)
    x = np.random.default_rng(1).normal(size=(2, size, size, 3))
    y = layer.forward(x)
    # The reference paints every input pixel onto the output with the
    # padding TF derives for the convolution being transposed.
    total = max((size - 1) * stride + kernel - expected, 0)
    pad = (total // 2, total // 2, total - total // 2, total - total // 2)
    want = ref.conv2d_transpose_forward(
        x, layer.kernel, layer.bias, (expected, expected), (stride,) * 2, (1, 1), pad
    )
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def test_conv1d_is_conv2d_on_one_row_and_causal_pads_in_front():
    r = np.random.default_rng(2)
    x = r.normal(size=(3, 11, 4))
    for padding, pad in [("valid", (0, 0)), ("same", (3, 3)), ("causal", (6, 0))]:
        layer = layers.Conv1D(5, 4, dilation_rate=2, padding=padding, dtype="float64")
        y = layer.forward(x)
        assert layer.kernel.shape == (4, 4, 5)
        want = ref.conv2d_forward(
            x[:, None],
            layer.kernel[None],
            layer.bias,
            (1, 1),
            (1, 2),
            (0, pad[0], 0, pad[1]),
        )[:, 0]
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
        assert y.shape == layer.compute_output_shape((3, 11, 4))


# ---- arguments and errors ---------------------------------------------------------------
def test_defaults_and_config_match_keras():
    layer = layers.Conv2D(32, 3)
    config = layer.get_config()
    assert config["kernel_size"] == [3, 3] and config["strides"] == [1, 1]
    assert config["padding"] == "valid" and config["data_format"] == "channels_last"
    assert config["dilation_rate"] == [1, 1] and config["groups"] == 1
    assert config["activation"] == "linear" and config["use_bias"] is True
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["bias_initializer"]["class_name"] == "Zeros"
    json.dumps(config)
    again = layers.Conv2D.from_config(config)
    assert again.get_config() == config
    t = layers.Conv2DTranspose(4, (3, 2), strides=2, output_padding=1, padding="Same")
    config = t.get_config()
    assert config["output_padding"] == [1, 1] and config["padding"] == "same"
    assert "groups" not in config
    assert layers.Conv2DTranspose.from_config(config).get_config() == config
    assert layers.Conv1D(8, 5).get_config()["kernel_size"] == [5]


def test_glorot_uniform_uses_the_receptive_field():
    tf.keras.utils.set_random_seed(0)
    layer = layers.Conv2D(32, 3)
    layer.build((None, 28, 28, 1))
    limit = np.sqrt(6 / (9 * 1 + 9 * 32))
    assert np.abs(layer.kernel).max() <= limit
    assert np.abs(layer.kernel).max() > 0.9 * limit
    assert not layer.bias.any()


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Conv2D(0, 3), ValueError, "filters"),
        (lambda: Conv2D(2.5, 3), TypeError, "filters"),
        (lambda: Conv2D(2, 0), ValueError, "kernel_size"),
        (lambda: Conv2D(2, (3, 3, 3)), ValueError, "kernel_size"),
        (lambda: Conv2D(2, 3, strides=0), ValueError, "strides"),
        (lambda: Conv2D(2, 3, strides=2, dilation_rate=2), ValueError, "dilation_rate"),
        (lambda: Conv2D(2, 3, padding="full"), ValueError, "padding"),
        (lambda: Conv2D(2, 3, padding="causal"), ValueError, "padding"),
        (
            lambda: Conv2D(2, 3, data_format="channels_first"),
            ValueError,
            "channels_last",
        ),
        (lambda: Conv2D(2, 3, groups=2), ValueError, "groups"),
        (lambda: Conv2D(2, 3, activation="nope"), ValueError, "activation"),
        (lambda: Conv2D(2, 3, use_bias=1), TypeError, "use_bias"),
        (lambda: Conv1D(2, (3, 3)), ValueError, "kernel_size"),
        (
            lambda: Conv2DTranspose(2, 3, strides=2, output_padding=2),
            ValueError,
            "output_padding",
        ),
        (lambda: Conv2D(2, 3).build((None, 28, 28)), ValueError, "height, width"),
        (lambda: Conv1D(2, 3).build((None, 28, 28, 1)), ValueError, "steps"),
        (lambda: Conv2D(2, 5).build((None, 4, 9, 1)), ValueError, "kernel"),
    ],
)
def test_bad_arguments_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ---- gradients through the layer (float64 central differences) -------------------------
def layer_gradients(layer, x, probe):
    y = layer.forward(x)
    dx = layer.backward(probe)
    return y, dx, [g.copy() for g in layer.gradients]


def numeric(f, v, eps=1e-6):
    g = np.zeros_like(v)
    for i in range(v.size):
        keep = v.flat[i]
        v.flat[i] = keep + eps
        plus = f()
        v.flat[i] = keep - eps
        minus = f()
        v.flat[i] = keep
        g.flat[i] = (plus - minus) / (2 * eps)
    return g


@pytest.mark.parametrize(
    "make, shape",
    [
        (
            lambda: Conv2D(
                3, (3, 2), strides=(2, 1), padding="same", activation="tanh"
            ),
            (2, 5, 6, 2),
        ),
        (lambda: Conv2D(2, 3, padding="same", activation="swish"), (1, 4, 5, 2)),
        (lambda: Conv2D(4, 2, activation="softmax"), (2, 4, 4, 1)),
        (
            lambda: Conv1D(3, 3, padding="causal", activation="relu", dilation_rate=2),
            (2, 7, 2),
        ),
        (
            lambda: Conv2DTranspose(
                2, 3, strides=2, padding="same", activation="sigmoid"
            ),
            (2, 3, 3, 2),
        ),
        (lambda: Conv2DTranspose(2, 2, strides=3, output_padding=1), (1, 2, 3, 3)),
    ],
)
def test_layer_gradients_by_central_differences(make, shape):
    layer = make()
    layer._dtype = np.dtype("float64")
    r = np.random.default_rng(3)
    x = r.normal(size=shape)
    layer.build((None, *shape[1:]))
    for w in layer.weights:
        w[...] = r.normal(size=w.shape) * 0.5
    probe = r.normal(size=(shape[0], *layer.output_shape[1:]))
    _, dx, grads = layer_gradients(layer, x, probe)

    def loss():
        return float((layer.forward(x) * probe).sum())

    for got, v in [(dx, x), *zip(grads, layer.weights)]:
        want = numeric(loss, v)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_a_shared_call_accumulates_weight_gradients():
    from tinynn._call_context import CallContext

    layer = Conv2D(3, 3, padding="same", dtype="float64")
    layer.build((None, 5, 5, 2))
    r = np.random.default_rng(4)
    xs = [r.normal(size=(2, 5, 5, 2)) for _ in range(2)]
    dys = [r.normal(size=(2, 5, 5, 3)) for _ in range(2)]
    ctxs = [CallContext(), CallContext()]
    outs = [np.empty((2, 5, 5, 3)) for _ in range(2)]
    for x, out, ctx in zip(xs, outs, ctxs):
        layer._forward(x, True, out, ctx)
    layer._backward(dys[0].copy(), None, ctxs[0])
    layer._backward(dys[1].copy(), None, ctxs[1], accumulate=True)
    both = [g.copy() for g in layer.gradients]
    singles = []
    for dy, ctx in zip(dys, ctxs):
        layer._backward(dy.copy(), None, ctx)
        singles.append([g.copy() for g in layer.gradients])
    for total, a, b in zip(both, *singles):
        np.testing.assert_allclose(total, a + b, rtol=1e-12, atol=1e-12)


# ---- in a model ---------------------------------------------------------------------------
def convnet(seed=0):
    tf.keras.utils.set_random_seed(seed)
    return tf.keras.Sequential(
        [
            layers.Conv2D(6, 3, activation="relu", input_shape=(10, 10, 1)),
            layers.Conv2D(
                4,
                (2, 3),
                strides=2,
                padding="same",
                kernel_regularizer="l2",
                bias_constraint=tf.keras.constraints.MaxNorm(1.0),
            ),
            layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def data(n=48):
    r = np.random.default_rng(9)
    x = r.random((n, 10, 10, 1))
    return x, (x[:, :5].sum(axis=(1, 2, 3)) > x[:, 5:].sum(axis=(1, 2, 3))).astype(int)


def test_convnet_trains_evaluates_predicts():
    model = convnet()
    x, y = data()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.evaluate(x, y, verbose=0)[0]
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[0] < before
    assert model.predict(x, verbose=0).shape == (48, 3)
    assert model.layers[2].output_shape == (None, 8, 8, 3)


@pytest.mark.parametrize("suffix", [".h5", ".keras", ".tinynn"])
def test_convnet_round_trips_through_every_format(tmp_path, suffix):
    model = convnet()
    x, y = data()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [type(la).__name__ for la in loaded.layers] == [
        type(la).__name__ for la in model.layers
    ]
    for a, b in zip(model.layers, loaded.layers):
        ca, cb = a.get_config(), b.get_config()
        ca.pop("batch_input_shape", None), cb.pop("batch_input_shape", None)
        assert ca == cb
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    # training continues from the same state
    h1 = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    h2 = loaded.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-6)


def test_conv1d_text_style_model_trains():
    tf.keras.utils.set_random_seed(1)
    r = np.random.default_rng(1)
    x = r.normal(size=(40, 30, 8)).astype("float32")
    y = (x[:, :, 0].mean(axis=1) > 0).astype("float32")
    model = tf.keras.Sequential(
        [
            layers.Conv1D(16, 5, activation="relu", input_shape=(30, 8)),
            layers.Conv1D(8, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_keras_names_resolve_after_import_tinynn_as_tf():
    assert tf.keras.layers.Conv2D is Conv2D
    assert tf.keras.layers.Conv1D is Conv1D
    assert tf.keras.layers.Conv2DTranspose is Conv2DTranspose
    from tinynn.keras.layers import Conv2D as Imported

    assert Imported is Conv2D
