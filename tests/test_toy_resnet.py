"""keras.io's "A toy ResNet model" (the functional API guide) built verbatim
with tinynn.keras: its summary (layer count, the "Connected to" column of the
two residual additions, every parameter count worked out by hand below), a
short fit on CIFAR-shaped random images, and round trips through tinynn's own
format, .h5 and .keras (issue #18).

The last tests are an optional oracle against real Keras 3 in float64 (the
same initial weights, no shuffling: History, evaluate and predict to 1e-9);
they skip without TensorFlow, and TINYNN_REQUIRE_KERAS makes a missing
TensorFlow fail (CI's Keras step runs this file).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from keras_oracle import (
    assert_close,
    assert_same_training,
    float64,
    tensorflow_or_skip,
)

import tinynn


def toy_resnet(keras, dropout=0.5):
    """The guide's model, line for line; `keras` is tinynn.keras or tf.keras.
    `dropout` is the guide's 0.5 except in the oracle's training run, where
    the two libraries' random dropout masks could not agree."""
    layers = keras.layers
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])

    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(10)(x)

    return keras.Model(inputs, outputs, name="toy_resnet")


def guide_compile(keras):
    """The guide's compile arguments."""
    return dict(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["acc"],
    )


def conv_params(kernel, channels_in, filters):
    return kernel * kernel * channels_in * filters + filters  # kernel + bias


def dense_params(units_in, units):
    return units_in * units + units  # kernel + bias


# Every layer's output shape and parameter count, by hand, in the summary's order.
# A 3x3 "valid" convolution takes 2 off each side (32 -> 30 -> 28), MaxPooling2D(3)
# has pool 3 and stride 3 (28 -> 9), "same" keeps 9, the last valid one gives 7.
EXPECTED_ROWS = [
    ("img", "InputLayer", (None, 32, 32, 3), 0, []),
    ("conv2d", "Conv2D", (None, 30, 30, 32), conv_params(3, 3, 32), ["img"]),
    ("conv2d_1", "Conv2D", (None, 28, 28, 64), conv_params(3, 32, 64), ["conv2d"]),
    ("max_pooling2d", "MaxPooling2D", (None, 9, 9, 64), 0, ["conv2d_1"]),
    ("conv2d_2", "Conv2D", (None, 9, 9, 64), conv_params(3, 64, 64), ["max_pooling2d"]),
    ("conv2d_3", "Conv2D", (None, 9, 9, 64), conv_params(3, 64, 64), ["conv2d_2"]),
    ("add", "Add", (None, 9, 9, 64), 0, ["conv2d_3", "max_pooling2d"]),
    ("conv2d_4", "Conv2D", (None, 9, 9, 64), conv_params(3, 64, 64), ["add"]),
    ("conv2d_5", "Conv2D", (None, 9, 9, 64), conv_params(3, 64, 64), ["conv2d_4"]),
    ("add_1", "Add", (None, 9, 9, 64), 0, ["conv2d_5", "add"]),
    ("conv2d_6", "Conv2D", (None, 7, 7, 64), conv_params(3, 64, 64), ["add_1"]),
    ("global_average_pooling2d", "GlobalAveragePooling2D", (None, 64), 0, ["conv2d_6"]),
    (
        "dense",
        "Dense",
        (None, 256),
        dense_params(64, 256),
        ["global_average_pooling2d"],
    ),
    ("dropout", "Dropout", (None, 256), 0, ["dense"]),
    ("dense_1", "Dense", (None, 10), dense_params(256, 10), ["dropout"]),
]


def test_parameter_arithmetic_by_hand():
    # conv2d:           3*3*3*32  + 32  =    896
    # conv2d_1:         3*3*32*64 + 64  = 18,496
    # conv2d_2 .. _6:   3*3*64*64 + 64  = 36,928 each, five of them = 184,640
    # dense:            64*256    + 256 = 16,640
    # dense_1:          256*10    + 10  =  2,570
    # total: 896 + 18,496 + 184,640 + 16,640 + 2,570 = 223,242 (the guide's figure)
    assert conv_params(3, 3, 32) == 896
    assert conv_params(3, 32, 64) == 18_496
    assert conv_params(3, 64, 64) == 36_928
    assert dense_params(64, 256) == 16_640
    assert dense_params(256, 10) == 2_570
    assert sum(row[3] for row in EXPECTED_ROWS) == 223_242


@pytest.fixture
def fresh_names():
    """Layer names start from `conv2d` again, as in a new Keras session."""
    tinynn.backend.clear_session()
    yield
    tinynn.backend.clear_session()


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines).splitlines()


def test_structure_and_summary(fresh_names):
    model = toy_resnet(tinynn.keras)
    assert model.name == "toy_resnet"
    assert len(model.layers) == len(EXPECTED_ROWS) == 15
    for layer, (name, kind, shape, params, _) in zip(model.layers, EXPECTED_ROWS):
        assert (layer.name, type(layer).__name__) == (name, kind)
        assert tuple(layer.output_shape) == shape, name
        assert layer.count_params() == params, name
    assert model.count_params() == 223_242

    lines = summary_lines(model)
    text = "\n".join(lines)
    assert "Total params: 223,242" in text
    assert "Trainable params: 223,242" in text
    assert "Non-trainable params: 0" in text
    # One table row per layer, "<name> (<type>)  <shape>  <params>  <inbound>[0][0]"
    # (the type may be cut, as Keras 2 cuts "GlobalAveragePooling2D" at the
    # column's width).
    rows = [line for line in lines if " (" in line][1:]  # past "Layer (type)"
    assert [row.split(" (")[0] for row in rows] == [row[0] for row in EXPECTED_ROWS]
    for row, (_, _, shape, params, inbound) in zip(rows, EXPECTED_ROWS):
        assert str(shape) in row, row
        after_shape = row.split(str(shape), 1)[1].lstrip("]").split()
        assert after_shape[0] == str(params), row
        assert after_shape[1:] == [f"{n}[0][0]" for n in inbound[:1]], row
    # "Connected to" of an Add names both of its inputs, one per line.
    for name, inbound in (
        ("add", ["conv2d_3", "max_pooling2d"]),
        ("add_1", ["conv2d_5", "add"]),
    ):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{name} (Add)"))
        assert lines[at].rstrip().endswith(f"{inbound[0]}[0][0]")
        assert lines[at + 1].strip() == f"{inbound[1]}[0][0]"


def cifar_shaped(n, seed):
    """`n` random 32x32 RGB images whose brightness gives away their label, so
    that two short epochs can lower the loss; one-hot labels as in the guide."""
    r = np.random.default_rng(seed)
    labels = r.integers(0, 10, n)
    images = 0.5 * r.random((n, 32, 32, 3)) + labels[:, None, None, None] / 20
    return images.astype("float32"), tinynn.keras.utils.to_categorical(labels, 10)


@pytest.fixture
def trained(fresh_names):
    tinynn.set_seed(0)
    model = toy_resnet(tinynn.keras)
    model.compile(**guide_compile(tinynn.keras))
    x, y = cifar_shaped(64, seed=1)
    history = model.fit(
        x, y, batch_size=16, epochs=2, validation_split=0.2, verbose=0
    ).history
    return model, history, x, y


def test_fit_two_epochs_lowers_the_loss(trained):
    model, history, _, _ = trained
    assert sorted(history) == ["acc", "loss", "val_acc", "val_loss"]
    losses = history["loss"]
    assert len(losses) == 2
    assert all(math.isfinite(v) for v in losses + history["val_loss"])
    assert losses[1] < losses[0], losses
    assert int(model.optimizer.iterations) == 2 * 4  # 51 training images / 16


@pytest.mark.parametrize("suffix", [".tnn", ".h5", ".keras"])
def test_round_trip_keeps_predictions_and_training_state(trained, tmp_path, suffix):
    model, _, x, y = trained
    path = tmp_path / f"toy_resnet{suffix}"
    model.save(path)
    loaded = tinynn.keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [row[0] for row in EXPECTED_ROWS]
    assert loaded.count_params() == 223_242
    # The residual connections survive: each Add still adds the same two tensors.
    lines = summary_lines(loaded)
    for name, inbound in (
        ("add", ["conv2d_3", "max_pooling2d"]),
        ("add_1", ["conv2d_5", "add"]),
    ):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{name} (Add)"))
        assert lines[at].rstrip().endswith(f"{inbound[0]}[0][0]")
        assert lines[at + 1].strip() == f"{inbound[1]}[0][0]"
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    # The optimizer's state came along: one more epoch moves both the same way.
    tinynn.set_seed(7)
    after = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    tinynn.set_seed(7)
    after_loaded = loaded.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert after_loaded.history == after.history
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


# ---- the optional oracle: real Keras 3 --------------------------------------------
TOL = 1e-9


@pytest.fixture
def keras3():
    """tf.keras (Keras 3) and tinynn, both in float64."""
    with float64(tensorflow_or_skip("toy ResNet").keras) as keras:
        yield keras


def close(mine, theirs, what):
    assert_close(mine, theirs, TOL, what)


def same_weights(mine, theirs):
    """Give `theirs` the initial weights of `mine`, layer by layer in order."""
    assert [type(layer).__name__ for layer in mine.layers] == [
        type(layer).__name__ for layer in theirs.layers
    ]
    for a, b in zip(mine.layers, theirs.layers):
        if a.weights:
            b.set_weights(a.get_weights())


def test_oracle_summary_counts_and_untrained_predictions(keras3, fresh_names):
    mine, theirs = toy_resnet(tinynn.keras), toy_resnet(keras3)
    assert theirs.count_params() == mine.count_params() == 223_242
    for a, b in zip(mine.layers, theirs.layers):
        assert a.count_params() == b.count_params(), a.name
        assert tuple(a.output.shape) == tuple(b.output.shape), a.name
    same_weights(mine, theirs)
    x, _ = cifar_shaped(8, seed=2)
    x = x.astype(np.float64)
    close(mine.predict(x, verbose=0), theirs.predict(x, verbose=0), "predict")


def test_oracle_two_epochs_match_keras(keras3, fresh_names):
    # Dropout(0): the libraries draw different random masks; all else verbatim.
    mine, theirs = toy_resnet(tinynn.keras, 0.0), toy_resnet(keras3, 0.0)
    same_weights(mine, theirs)
    mine.compile(**guide_compile(tinynn.keras))
    theirs.compile(**guide_compile(keras3), jit_compile=False)  # no XLA reordering
    x, y = cifar_shaped(24, seed=3)
    x_val, y_val = cifar_shaped(8, seed=4)
    x, x_val = x.astype(np.float64), x_val.astype(np.float64)
    fit = dict(batch_size=8, epochs=2, shuffle=False, verbose=0)
    keys = assert_same_training(mine, theirs, x, y, (x_val, y_val), fit, TOL)
    assert keys == ["acc", "loss", "val_acc", "val_loss"]
    for a, b in zip(mine.layers, theirs.layers):
        for k, (wa, wb) in enumerate(zip(a.get_weights(), b.get_weights())):
            close(wa, wb, f"weight {k} of {a.name}")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_oracle_files_open_in_keras_and_back(keras3, fresh_names, tmp_path, suffix):
    x, y = cifar_shaped(8, seed=5)
    x = x.astype(np.float64)
    mine = toy_resnet(tinynn.keras)
    mine.compile(**guide_compile(tinynn.keras))
    mine.fit(x, y, epochs=1, verbose=0)  # optimizer state in the file
    mine.save(tmp_path / f"mine{suffix}")
    theirs = keras3.models.load_model(tmp_path / f"mine{suffix}")
    assert [layer.name for layer in theirs.layers] == [row[0] for row in EXPECTED_ROWS]
    close(theirs.predict(x, verbose=0), mine.predict(x, verbose=0), "Keras reads")
    # and the reverse: a file Keras wrote
    original = toy_resnet(keras3)
    original.compile(**guide_compile(keras3))
    original.fit(x, y, epochs=1, verbose=0)
    original.save(tmp_path / f"theirs{suffix}")
    loaded = tinynn.keras.models.load_model(tmp_path / f"theirs{suffix}")
    assert loaded.count_params() == 223_242
    close(loaded.predict(x, verbose=0), original.predict(x, verbose=0), "tinynn reads")
