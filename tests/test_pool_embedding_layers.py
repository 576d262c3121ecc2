"""The pooling, reshaping, SpatialDropout2D and Embedding layers: Keras's
arguments, defaults, names, configs and output shapes; training in a
Sequential; save/load in the native format, .h5 and .keras; integer ids
reaching the Embedding kernel unconverted."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn import _backend
from tinynn.keras import layers


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")
    yield
    tinynn.set_floatx("float32")


# ---- arguments, configs, shapes -----------------------------------------------------
@pytest.mark.parametrize(
    "layer, in_shape, out_shape",
    [
        (layers.MaxPooling2D(), (7, 5, 3), (3, 2, 3)),
        (layers.MaxPooling2D(3, 2, padding="SAME"), (7, 5, 3), (4, 3, 3)),
        (layers.MaxPooling2D((2, 3), strides=(3, 1)), (8, 8, 1), (3, 6, 1)),
        (layers.MaxPool2D(pool_size=5), (5, 5, 2), (1, 1, 2)),
        (layers.MaxPooling1D(), (9, 4), (4, 4)),
        (layers.MaxPooling1D(3, 2, "same"), (9, 4), (5, 4)),
        (layers.AveragePooling2D(), (6, 6, 2), (3, 3, 2)),
        (layers.AveragePooling1D(4, padding="same"), (10, 3), (3, 3)),
        (layers.GlobalAveragePooling2D(), (6, 5, 7), (7,)),
        (layers.GlobalAveragePooling2D(keepdims=True), (6, 5, 7), (1, 1, 7)),
        (layers.GlobalMaxPooling1D(), (6, 7), (7,)),
        (layers.GlobalMaxPooling1D(keepdims=True), (6, 7), (1, 7)),
        (layers.GlobalMaxPool2D(), (6, 5, 7), (7,)),
        (layers.GlobalAvgPool1D(), (6, 7), (7,)),
        (layers.ZeroPadding2D(), (4, 5, 2), (6, 7, 2)),
        (layers.ZeroPadding2D((1, 2)), (4, 5, 2), (6, 9, 2)),
        (layers.ZeroPadding2D(((1, 0), (2, 3))), (4, 5, 2), (5, 10, 2)),
        (layers.Cropping2D(((1, 0), (2, 1))), (4, 5, 2), (3, 2, 2)),
        (layers.Cropping2D(1), (4, 5, 2), (2, 3, 2)),
        (layers.UpSampling2D(), (4, 5, 2), (8, 10, 2)),
        (layers.UpSampling2D((1, 3)), (4, 5, 2), (4, 15, 2)),
        (layers.SpatialDropout2D(0.5), (4, 5, 2), (4, 5, 2)),
        (layers.Embedding(10, 3), (7,), (7, 3)),
        (layers.Embedding(10, 3), (2, 7), (2, 7, 3)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, layers.Layer) else str(v),
)
def test_output_shapes(layer, in_shape, out_shape):
    assert layer.compute_output_shape((None, *in_shape)) == (None, *out_shape)
    layer.build((None, *in_shape))
    assert layer.output_shape == (None, *out_shape)


def test_defaults_and_configs_are_keras():
    assert layers.MaxPooling2D().get_config() | {} == {
        "name": "max_pooling2d",
        "trainable": True,
        "dtype": "float32",
        "pool_size": (2, 2),
        "padding": "valid",
        "strides": (2, 2),
        "data_format": "channels_last",
    }
    config = layers.MaxPooling1D(3, padding="Same").get_config()
    assert (config["pool_size"], config["strides"], config["padding"]) == (
        (3,),
        (3,),
        "same",
    )
    assert layers.GlobalAveragePooling1D().get_config()["keepdims"] is False
    assert layers.ZeroPadding2D().get_config()["padding"] == ((1, 1), (1, 1))
    assert layers.Cropping2D().get_config()["cropping"] == ((0, 0), (0, 0))
    up = layers.UpSampling2D().get_config()
    assert (up["size"], up["interpolation"]) == ((2, 2), "nearest")
    embedding = layers.Embedding(10, 3).get_config()
    assert embedding["embeddings_initializer"] == {
        "class_name": "RandomUniform",
        "config": {"minval": -0.05, "maxval": 0.05, "seed": None},
    }
    assert (
        embedding["input_dim"],
        embedding["output_dim"],
        embedding["mask_zero"],
    ) == (
        10,
        3,
        False,
    )
    for layer in (
        layers.MaxPooling2D((3, 2), (1, 2), "same"),
        layers.AveragePooling1D(3),
        layers.GlobalMaxPooling2D(keepdims=True),
        layers.ZeroPadding2D(((1, 0), (2, 3))),
        layers.Cropping2D((1, 2)),
        layers.UpSampling2D(3),
        layers.SpatialDropout2D(0.25, seed=3),
        layers.Embedding(10, 3, embeddings_regularizer="l2", input_length=4),
    ):
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()


def test_default_names():
    names = [
        type(layer).__name__ + "=" + layer.name
        for layer in (
            layers.MaxPooling2D(),
            layers.MaxPool2D(),
            layers.GlobalAveragePooling1D(),
            layers.UpSampling2D(),
            layers.ZeroPadding2D(),
            layers.Cropping2D(),
            layers.SpatialDropout2D(0.1),
            layers.Embedding(3, 2),
        )
    ]
    assert names == [
        "MaxPooling2D=max_pooling2d",
        "MaxPooling2D=max_pooling2d_1",
        "GlobalAveragePooling1D=global_average_pooling1d",
        "UpSampling2D=up_sampling2d",
        "ZeroPadding2D=zero_padding2d",
        "Cropping2D=cropping2d",
        "SpatialDropout2D=spatial_dropout2d",
        "Embedding=embedding",
    ]


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: layers.MaxPooling2D(data_format="channels_first"),
            "not supported yet",
        ),
        (
            lambda: layers.GlobalAveragePooling2D(data_format="channels_first"),
            "channels_last",
        ),
        (lambda: layers.UpSampling2D(interpolation="bilinear"), "'nearest'"),
        (
            lambda: layers.Embedding(4, 2, mask_zero=True),
            "masking is not supported yet",
        ),
        (lambda: layers.MaxPooling2D(padding="causal"), "'valid' or 'same'"),
        (lambda: layers.MaxPooling2D((2, 2, 2)), "tuple of 2 ints"),
        (
            lambda: layers.MaxPooling1D(2).build((None, 4, 4, 1)),
            "(batch, steps, channels)",
        ),
        (
            lambda: layers.AveragePooling2D(3).build((None, 2, 9, 1)),
            "smaller than the pool",
        ),
    ],
)
def test_clear_errors(make, message):
    with pytest.raises(
        (ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        make()


def test_embedding_initializer_is_uniform_005():
    table = layers.Embedding(1000, 20)
    table.build((None, 5))
    w = table.get_weights()[0]
    assert w.shape == (1000, 20) and -0.05 <= w.min() and w.max() < 0.05
    assert w.std() > 0.025  # uniform on [-0.05, 0.05): std 0.0289


# ---- low-level face ----------------------------------------------------------------
def test_max_pooling_backward_after_an_inference_forward():
    layer = layers.MaxPooling2D(dtype="float64")
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3))
    layer.forward(x)  # training=False: no argmax saved
    dx = layer.backward(np.ones((2, 2, 2, 3)))
    assert dx.sum() == 24 and ((dx == 0) | (dx == 1)).all()
    assert (dx * x).sum() == pytest.approx(layer.forward(x).sum())


@pytest.mark.parametrize(
    "layer, shape",
    [
        (layers.MaxPooling1D(3, 2, "same", dtype="float64"), (2, 7, 3)),
        (layers.AveragePooling1D(2, 3, dtype="float64"), (2, 8, 3)),
        (layers.GlobalMaxPooling2D(keepdims=True, dtype="float64"), (2, 3, 4, 2)),
        (layers.Cropping2D(((1, 0), (0, 2)), dtype="float64"), (2, 3, 4, 2)),
        (layers.ZeroPadding2D(((0, 1), (2, 0)), dtype="float64"), (2, 3, 4, 2)),
        (layers.UpSampling2D((2, 1), dtype="float64"), (2, 3, 4, 2)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, layers.Layer) else str(v),
)
def test_layer_gradients_by_central_differences(layer, shape):
    x = np.random.default_rng(1).permutation(int(np.prod(shape))).reshape(shape) * 0.1
    y = layer.forward(x, training=True)
    r = np.random.default_rng(2).normal(size=y.shape)
    got = layer.backward(r)
    want = np.zeros_like(x)
    for i in np.ndindex(*shape):
        keep = x[i]
        x[i] = keep + 1e-6
        up = (layer.forward(x) * r).sum()
        x[i] = keep - 1e-6
        down = (layer.forward(x) * r).sum()
        x[i] = keep
        want[i] = (up - down) / 2e-6
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_spatial_dropout_drops_whole_channels():
    layer = layers.SpatialDropout2D(0.4, seed=1)
    x = np.ones((64, 5, 3, 8), np.float32)
    y = layer.forward(x, training=True)
    per_map = y.reshape(64, 15, 8)
    # Each (sample, channel) map is all zeros or all 1 / (1 - rate).
    assert (per_map.min(axis=1) == per_map.max(axis=1)).all()
    assert set(np.unique(per_map)) == {0.0, np.float32(1 / 0.6)}
    dropped = (per_map[:, 0, :] == 0).mean()
    assert 0.3 < dropped < 0.5
    dy = np.random.default_rng(0).normal(size=x.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dy), dy * (y / x), rtol=1e-6)
    np.testing.assert_array_equal(layer.forward(x), x)  # inference: identity


# ---- training, saving ---------------------------------------------------------------
def image_model():
    return tf.keras.Sequential(
        [
            layers.Input((9, 8, 3)),
            layers.ZeroPadding2D(((1, 2), (0, 1))),
            layers.Cropping2D(1),
            layers.UpSampling2D((2, 1)),
            layers.SpatialDropout2D(0.2),
            layers.AveragePooling2D(3, strides=2, padding="same"),
            layers.MaxPooling2D(2, padding="same"),
            layers.GlobalMaxPooling2D(keepdims=True),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def text_model():
    return tf.keras.Sequential(
        [
            layers.Embedding(30, 4, input_length=7),
            layers.MaxPooling1D(2, padding="same"),
            layers.AveragePooling1D(2),
            layers.GlobalAveragePooling1D(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def image_data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(40, 9, 8, 3)), rng.integers(0, 3, 40)


def text_data():
    rng = np.random.default_rng(4)
    return rng.integers(0, 30, size=(40, 7)).astype(np.int32), rng.integers(0, 3, 40)


@pytest.mark.parametrize("which", ["image", "text"])
@pytest.mark.parametrize("suffix", [".tnn", ".keras", ".h5"])
def test_fit_evaluate_predict_save_load(tmp_path, which, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    tinynn.set_seed(0)
    model = image_model() if which == "image" else text_model()
    x, y = image_data() if which == "image" else text_data()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    before = model.get_weights()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert any((a != b).any() for a, b in zip(before, model.get_weights()))
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert [a.get_config() for a in loaded.layers] == [
        b.get_config() for b in model.layers
    ]
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    tinynn.set_seed(9)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    tinynn.set_seed(9)
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_training_the_text_model_learns():
    tinynn.set_seed(1)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, size=(400, 7))
    y = np.minimum((x < 10).sum(axis=1), 4) // 2  # few, some, many "small" words
    model = text_model()
    model.compile(
        tf.keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", ["accuracy"]
    )
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.8


# ---- integer ids reach the kernel unconverted --------------------------------------
@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int16, np.int32, np.int64, np.uint64, ">i4"]
)
def test_ids_of_any_integer_dtype_train_alike(monkeypatch, dtype):
    x, y = text_data()
    seen = []
    real = _backend.embedding_forward

    def spy(ids, table, out):
        seen.append(ids.dtype)
        return real(ids, table, out)

    def train(data):
        tinynn.set_seed(0)
        model = text_model()
        model.compile("adam", "sparse_categorical_crossentropy")
        history = model.fit(data, y, epochs=2, batch_size=16, verbose=0)
        return (
            history.history["loss"],
            model.get_weights(),
            model.predict(data, verbose=0),
        )

    reference = train(x.astype(np.int64))
    monkeypatch.setattr(_backend, "embedding_forward", spy)
    got = train(x.astype(dtype))
    native = np.dtype(dtype).newbyteorder("=")
    assert seen and all(d == native for d in seen)  # never a float copy
    assert got[0] == reference[0]
    for a, b in zip(got[1] + [got[2]], reference[1] + [reference[2]]):
        np.testing.assert_array_equal(a, b)


def test_float_ids_are_accepted_as_keras_does():
    x, y = text_data()
    tinynn.set_seed(0)
    model = text_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    as_int = model.predict(x, verbose=0)
    np.testing.assert_array_equal(
        model.predict(x.astype(np.float32), verbose=0), as_int
    )
    np.testing.assert_array_equal(model(x.astype(float)).numpy(), as_int)


def test_a_contiguous_id_array_is_batched_without_a_copy():
    from tinynn.training import _Batches

    x, _ = text_data()
    batches = _Batches(x, x.dtype, 16)
    assert batches.direct and np.shares_memory(batches.rows(0, 16), x)


@pytest.mark.parametrize("source_type", [np.float64, np.uint8, np.float32])
def test_shuffled_batches_are_the_converted_rows(source_type):
    """A shuffled batch of data in another dtype than the model's is gathered
    and converted in one pass (float64 and uint8 by the C gather, others
    through a staging copy): the rows of x[index] as NumPy converts them."""
    from tinynn.training import _Batches

    r = np.random.default_rng(3)
    x = (r.random((50, 4, 7)) * 255).astype(source_type)
    index = r.permutation(50)[:16]
    batches = _Batches(x, np.dtype(np.float32), 16)
    if source_type != np.float32:
        assert batches.flat is not None  # the one-pass path
    got = batches.rows(0, 16, index)
    np.testing.assert_array_equal(got, x[index].astype(np.float32))
    swapped = x.astype(x.dtype.newbyteorder())  # not native: the staging copy
    got = _Batches(swapped, np.dtype(np.float32), 16).rows(0, 16, index)
    np.testing.assert_array_equal(got, x[index].astype(np.float32))


def test_bad_ids_are_named_by_their_place_in_the_data():
    x, y = text_data()
    x[33, 4] = 30
    model = text_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"x\[33, 4\] = 30 is not a valid id"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"x\[33, 4\] = 30"):
        model.predict(x.astype(np.uint8), verbose=0)


# ---- graphs: a pooling layer called twice, Embedding behind an Input ------------
def test_a_shared_pooling_layer_keeps_each_call_apart():
    """One MaxPooling1D at two places of a graph: each call's argmax lives in
    its own context, so the Dense kernel's gradient (read off one SGD step
    with learning rate 1) equals central differences of the loss."""
    tinynn.set_floatx("float64")
    tinynn.set_seed(0)
    inp = tf.keras.Input((6, 3))
    pool = layers.MaxPooling1D(2)
    dense, other = layers.Dense(3), layers.Dense(3)
    merged = layers.add([pool(dense(inp)), pool(other(inp))])
    out = layers.Dense(2, activation="softmax")(layers.Flatten()(merged))
    model = tf.keras.Model(inp, out)
    model.compile(tf.keras.optimizers.SGD(1.0), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 6, 3)), rng.integers(0, 2, 5)
    kernel = dense.get_weights()[0]

    def loss_at(w):
        dense.set_weights([w, dense.get_weights()[1]])
        return model.evaluate(x, y, verbose=0)

    want = np.zeros_like(kernel)
    for i in np.ndindex(*kernel.shape):
        step = np.zeros_like(kernel)
        step[i] = 1e-6
        want[i] = (loss_at(kernel + step) - loss_at(kernel - step)) / 2e-6
    dense.set_weights([kernel, dense.get_weights()[1]])
    model.train_on_batch(x, y)
    np.testing.assert_allclose(
        kernel - dense.get_weights()[0], want, rtol=1e-6, atol=1e-9
    )


def test_embedding_behind_an_integer_input_in_a_functional_model(monkeypatch):
    seen = []
    real = _backend.embedding_forward
    monkeypatch.setattr(
        _backend,
        "embedding_forward",
        lambda ids, table, out: seen.append(ids.dtype) or real(ids, table, out),
    )
    inp = tf.keras.Input((7,), dtype="int32")
    vectors = layers.Embedding(30, 4)(inp)
    pooled = layers.concatenate(
        [layers.GlobalAveragePooling1D()(vectors), layers.GlobalMaxPooling1D()(vectors)]
    )
    model = tf.keras.Model(inp, layers.Dense(3, activation="softmax")(pooled))
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = text_data()
    history = model.fit(x.astype(np.uint8), y, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert seen and set(seen) == {np.dtype(np.uint8)}
