"""Conv2D, Conv1D and Conv2DTranspose against real Keras 3 in float64: the
forward pass of each layer on several geometries (strides, dilation, TF's
asymmetric "same", output_padding) at 1e-9, and two epochs of a small
convnet (same initial weights, no shuffle, SGD and Adam) at 1e-9 on every
History series and the final weights; convnet files (.keras, .h5) written by
tinynn open in Keras 3 with equal predictions, and the reverse.

Optional oracle, skipped without TensorFlow; TINYNN_REQUIRE_KERAS makes a
missing TensorFlow fail (CI's Keras step runs it).
"""

from __future__ import annotations

import numpy as np
import pytest
from keras_oracle import assert_close, float64, tensorflow_or_skip

import tinynn

keras = tensorflow_or_skip("conv").keras

TOL = 1e-9


@pytest.fixture(autouse=True)
def float64_everywhere():
    with float64(keras):
        yield


def close(mine, theirs, what=""):
    assert_close(mine, theirs, TOL, what)


CASES = [
    ("Conv2D", dict(filters=4, kernel_size=3), (2, 9, 8, 3)),
    ("Conv2D", dict(filters=5, kernel_size=(2, 3), strides=(2, 3)), (3, 11, 13, 2)),
    ("Conv2D", dict(filters=3, kernel_size=4, padding="same"), (2, 7, 6, 2)),
    ("Conv2D", dict(filters=2, kernel_size=3, strides=2, padding="same"), (1, 8, 9, 3)),
    (
        "Conv2D",
        dict(filters=3, kernel_size=(3, 2), dilation_rate=(2, 3), padding="same"),
        (2, 10, 11, 2),
    ),
    ("Conv2D", dict(filters=1, kernel_size=(5, 7)), (2, 5, 7, 1)),
    ("Conv2D", dict(filters=6, kernel_size=1, activation="relu"), (2, 4, 5, 3)),
    ("Conv2D", dict(filters=3, kernel_size=3, activation="softmax"), (2, 6, 6, 2)),
    ("Conv1D", dict(filters=4, kernel_size=5), (2, 17, 3)),
    ("Conv1D", dict(filters=3, kernel_size=4, strides=3, padding="same"), (2, 13, 2)),
    (
        "Conv1D",
        dict(filters=3, kernel_size=3, dilation_rate=2, padding="causal"),
        (2, 9, 4),
    ),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 4, 3, 3)),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=3, strides=2, padding="same"),
        (2, 5, 4, 3),
    ),
    (
        "Conv2DTranspose",
        dict(filters=3, kernel_size=(4, 3), strides=(2, 3), padding="same"),
        (1, 3, 4, 2),
    ),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=0),
        (2, 4, 4, 2),
    ),
    (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=2, strides=3, padding="valid", output_padding=2),
        (2, 3, 3, 2),
    ),
]
# Not compared: a dilated Conv2DTranspose (TensorFlow's CPU kernel rejects
# dilation rates > 1 there; tinynn's is the dilated conv's input gradient,
# checked against the reference in tests/test_conv_kernels.py).


@pytest.mark.parametrize("name, kwargs, shape", CASES)
def test_layer_forward_matches_keras(name, kwargs, shape):
    r = np.random.default_rng(len(shape) * 100 + shape[1])
    x = r.normal(size=shape)
    theirs = getattr(keras.layers, name)(**kwargs)
    mine = getattr(tinynn.keras.layers, name)(**kwargs)
    theirs.build(shape)
    mine.build((None, *shape[1:]))
    weights = [r.normal(size=w.shape) for w in theirs.get_weights()]
    assert [w.shape for w in mine.get_weights()] == [w.shape for w in weights]
    theirs.set_weights(weights)
    mine.set_weights(weights)
    close(mine.forward(x), theirs(x).numpy(), f"{name} {kwargs}")


def convnet(lib):
    layers = lib.layers
    return [
        layers.Conv2D(4, 3, activation="relu"),
        layers.Conv2D(3, (2, 3), strides=2, padding="same", activation="tanh"),
        layers.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1),
        layers.Conv2D(3, 2, dilation_rate=2, activation="sigmoid"),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_two_epochs_of_a_convnet_match_keras(optimizer):
    r = np.random.default_rng(7)
    x = r.random((40, 9, 9, 2))
    y = r.integers(0, 3, 40)
    xv, yv = r.random((12, 9, 9, 2)), r.integers(0, 3, 12)
    theirs = keras.Sequential([keras.Input((9, 9, 2)), *convnet(keras)])
    mine = tinynn.keras.Sequential(convnet(tinynn.keras))
    mine.build((None, 9, 9, 2))
    weights = [r.normal(scale=0.4, size=w.shape) for w in theirs.get_weights()]
    theirs.set_weights(weights)
    mine.set_weights(weights)
    histories = []
    for model, lib in ((theirs, keras), (mine, tinynn.keras)):
        # Hyperparameters float32 holds exactly: Keras casts them through
        # float32 (see tests/test_keras_oracle_optim.py).
        opt = (
            lib.optimizers.SGD(0.125, momentum=0.875)
            if optimizer == "sgd"
            else lib.optimizers.Adam(
                2**-7, beta_1=0.875, beta_2=1 - 2**-10, epsilon=2**-20
            )
        )
        model.compile(opt, "sparse_categorical_crossentropy", metrics=["accuracy"])
        histories.append(
            model.fit(
                x,
                y,
                epochs=2,
                batch_size=16,
                shuffle=False,
                validation_data=(xv, yv),
                verbose=0,
            ).history
        )
    assert sorted(histories[0]) == sorted(histories[1])
    for key in histories[0]:
        close(histories[1][key], histories[0][key], key)
    for a, b in zip(mine.get_weights(), theirs.get_weights()):
        close(a, b, "final weights")


# ---- files both ways ----------------------------------------------------------------
def file_convnet(lib, shape=(9, 9, 2)):
    L = lib.layers
    first = [lib.Input(shape)] if lib is keras else []
    extra = {} if lib is keras else {"input_shape": shape}
    return lib.Sequential(
        [
            *first,
            L.Conv2D(4, 3, activation="relu", **extra),
            L.Conv2D(3, (2, 3), strides=2, padding="same", dilation_rate=1),
            L.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1),
            L.Flatten(),
            L.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_tinynn_convnet_files_open_in_keras_and_back(tmp_path, suffix):
    tinynn.set_floatx("float32")
    keras.config.set_floatx("float32")
    r = np.random.default_rng(3)
    x = r.random((6, 9, 9, 2)).astype("float32")
    mine = file_convnet(tinynn.keras)
    mine.compile("adam", "sparse_categorical_crossentropy")
    mine.fit(x, r.integers(0, 3, 6), verbose=0)
    path = tmp_path / f"mine{suffix}"
    mine.save(path)
    theirs = keras.models.load_model(path)
    np.testing.assert_allclose(
        theirs.predict(x, verbose=0), mine.predict(x, verbose=0), atol=1e-6
    )
    # and the reverse: a file Keras wrote
    original = file_convnet(keras)
    original.compile("adam", "sparse_categorical_crossentropy")
    original.fit(x, r.integers(0, 3, 6), verbose=0)  # optimizer state in the file
    back = tmp_path / f"theirs{suffix}"
    original.save(back)
    loaded = tinynn.keras.models.load_model(back)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), original.predict(x, verbose=0), atol=1e-6
    )
