"""Files tinynn writes, opened by real Keras, and files real Keras writes,
opened by tinynn: predictions equal to 1e-6 in float32, and the optimizer
state wherever Keras restores it.

Optional oracle: Keras 3 is ``keras`` (TensorFlow >= 2.16 ships it as
tf.keras), Keras 2.x is ``tf_keras`` (``pip install tensorflow-cpu==2.21.0
tf-keras==2.21.0``); each half skips with a reason when absent. The reading
side is also tested without TensorFlow, on committed fixtures
(tests/test_keras_fixtures.py).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from keras_oracle import keras_2_and_3

import tinynn

keras2, keras3 = keras_2_and_3()
h5py = pytest.importorskip("h5py")
needs_keras3 = pytest.mark.skipif(
    keras3 is None, reason="Keras 3 oracle: pip install tensorflow-cpu==2.21.0"
)
needs_keras2 = pytest.mark.skipif(
    keras2 is None,
    reason="Keras 2.x oracle: pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0",
)

TOL = 1e-6


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")


def trained_tinynn(optimizer="adam"):
    """The issue's model (smaller), trained three steps so every optimizer
    slot holds something."""
    tinynn.set_seed(3)
    L = tinynn.keras.layers
    model = tinynn.keras.Sequential(
        [
            L.Flatten(input_shape=(7, 4)),
            L.Dense(11, activation="relu"),
            L.Dropout(0.1),
            L.Dense(6, activation="tanh"),
            L.Activation("sigmoid"),
            L.Dense(5, activation="softmax"),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(
        rng.normal(size=(24, 7, 4)), rng.integers(0, 5, 24), batch_size=8, verbose=0
    )
    return model


def sample():
    return np.random.default_rng(1).normal(size=(9, 7, 4)).astype("float32")


def assert_same_predictions(keras_model, model):
    x = sample()
    np.testing.assert_allclose(
        np.asarray(keras_model.predict(x, verbose=0)),
        model.predict(x, verbose=0),
        rtol=0,
        atol=TOL,
    )


OPTIMIZERS = [
    lambda: "adam",
    lambda: tinynn.optimizers.Adam(0.01, amsgrad=True),
    lambda: tinynn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: tinynn.optimizers.RMSprop(0.01, momentum=0.5),
    lambda: tinynn.optimizers.Adagrad(0.1),
]
OPTIMIZER_IDS = ["adam", "amsgrad", "sgd-nesterov", "rmsprop-momentum", "adagrad"]


def keras_state(keras_model, skip):
    """Keras's optimizer variables after the step count (and, Keras 3, the
    learning rate)."""
    return [np.asarray(v) for v in keras_model.optimizer.variables[skip:]]


# ---- tinynn -> Keras 3 ------------------------------------------------------------
@needs_keras3
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_tinynn_keras_file_loads_in_keras3_with_optimizer_state(tmp_path, optimizer):
    model = trained_tinynn(optimizer())
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras3.models.load_model(path)
    assert_same_predictions(loaded, model)
    assert type(loaded.optimizer).__name__ == type(model.optimizer).__name__
    assert int(loaded.optimizer.iterations) == model.optimizer.iterations == 3
    expected = [v for _, v in tinynn.saving.keras_config.optimizer_arrays(model)]
    got = keras_state(loaded, 2)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
    assert loaded.loss == "sparse_categorical_crossentropy"


@needs_keras3
def test_tinynn_h5_loads_in_keras3(tmp_path):
    model = trained_tinynn()
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "r") as root:  # what the data half added
        assert root["model_weights/dense/dense/kernel:0"].fletcher32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras 3 warns that h5 is legacy
        loaded = keras3.models.load_model(path)
    assert_same_predictions(loaded, model)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
        "Activation",
        "Dense",
    ]
    assert type(loaded.optimizer).__name__ == "Adam"


@needs_keras3
def test_tinynn_weights_h5_and_json_load_in_keras3(tmp_path):
    model = trained_tinynn()
    model.save_weights(tmp_path / "m.weights.h5")
    rebuilt = keras3.models.model_from_json(model.to_json())
    rebuilt.load_weights(tmp_path / "m.weights.h5")
    assert_same_predictions(rebuilt, model)


# ---- Keras 3 -> tinynn ------------------------------------------------------------
def keras_model(keras, optimizer):
    L = keras.layers
    model = keras.Sequential(
        [
            keras.Input(shape=(7, 4)),
            L.Flatten(),
            L.Dense(11, activation="relu"),
            L.Dropout(0.1),
            L.Dense(6, activation="tanh"),
            L.Activation("sigmoid"),
            L.Dense(5),
            L.Softmax(),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(
        rng.normal(size=(24, 7, 4)).astype("float32"),
        rng.integers(0, 5, 24),
        batch_size=8,
        verbose=0,
    )
    return model


@needs_keras3
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras3_files_load_in_tinynn(tmp_path, suffix):
    original = keras_model(keras3, keras3.optimizers.Adam(0.01))
    path = tmp_path / f"m{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .keras of Keras 3.15: no optimizer
        model = tinynn.load_model(path)
    assert_same_predictions(original, model)
    if suffix == ".h5":
        assert model.optimizer.iterations == 3
        expected = keras_state(original, 2)
        got = [v for _, v in tinynn.saving.keras_config.optimizer_arrays(model)]
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
    rebuilt = tinynn.models.model_from_json(original.to_json())
    original.save_weights(tmp_path / "m.weights.h5")
    rebuilt.load_weights(tmp_path / "m.weights.h5")
    assert_same_predictions(original, rebuilt)


# ---- tinynn -> Keras 2.x ----------------------------------------------------------
@needs_keras2
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_tinynn_h5_loads_in_keras2_with_optimizer_state(tmp_path, optimizer):
    model = trained_tinynn(optimizer())
    path = tmp_path / "m.h5"
    model.save(path)
    loaded = keras2.models.load_model(path)
    assert_same_predictions(loaded, model)
    assert int(loaded.optimizer.iterations) == model.optimizer.iterations == 3
    expected = [v for _, v in tinynn.saving.keras_config.optimizer_arrays(model)]
    got = keras_state(loaded, 1)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


@needs_keras2
def test_tinynn_json_loads_in_keras2(tmp_path):
    model = trained_tinynn()
    model.save_weights(tmp_path / "m.h5")
    rebuilt = keras2.models.model_from_json(model.to_json())
    rebuilt.load_weights(tmp_path / "m.h5")
    assert_same_predictions(rebuilt, model)
    model.save_weights(tmp_path / "m.weights.h5")  # Keras 3's layout
    rebuilt = keras2.models.model_from_json(model.to_json())
    rebuilt.load_weights(tmp_path / "m.weights.h5")
    assert_same_predictions(rebuilt, model)
    assert json.loads(model.to_json())["config"]["layers"][0]["class_name"] == (
        "InputLayer"
    )


# ---- Keras 2.x -> tinynn ----------------------------------------------------------
@needs_keras2
def test_keras2_h5_loads_in_tinynn_with_optimizer_state(tmp_path):
    original = keras_model(keras2, keras2.optimizers.Adam(0.01))
    path = tmp_path / "m.h5"
    original.save(path)
    model = tinynn.load_model(path)
    assert_same_predictions(original, model)
    assert model.optimizer.iterations == 3
    expected = keras_state(original, 1)
    got = [v for _, v in tinynn.saving.keras_config.optimizer_arrays(model)]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


@needs_keras2
def test_keras_files_between_tinynn_and_keras2(tmp_path):
    """tf-keras 2.x's own .keras (2.13+) loads in tinynn with its optimizer
    state; tinynn's .keras loads in tf-keras 2.x with architecture, weights
    and compile config (tf-keras skips Keras 3's optimizer layout, which
    also lists the learning rate, and starts the optimizer afresh)."""
    original = keras_model(keras2, keras2.optimizers.Adam(0.01))
    original.save(tmp_path / "k2.keras")
    model = tinynn.load_model(tmp_path / "k2.keras")
    assert_same_predictions(original, model)
    assert model.optimizer.iterations == 3
    expected = keras_state(original, 1)
    got = [v for _, v in tinynn.saving.keras_config.optimizer_arrays(model)]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
    model = trained_tinynn()
    model.save(tmp_path / "t.keras")
    loaded = keras2.models.load_model(tmp_path / "t.keras")
    assert_same_predictions(loaded, model)
    assert type(loaded.optimizer).__name__ == "Adam"


# ---- the layers added after the interop work, both directions with Keras 3 ----
NEW_LAYERS_X = np.random.default_rng(5).normal(size=(48, 6)).astype(np.float32)
NEW_LAYERS_Y = np.random.default_rng(6).integers(0, 3, 48)


@needs_keras3
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_normalization_prelu_and_regularized_layers_load_in_keras3(tmp_path, suffix):
    tinynn.set_seed(0)
    model = tinynn.Sequential(
        [
            tinynn.layers.InputLayer(shape=(6,)),
            tinynn.layers.Dense(8, kernel_regularizer="l2"),
            tinynn.layers.BatchNormalization(),
            tinynn.layers.PReLU(),
            tinynn.layers.LayerNormalization(),
            tinynn.layers.LeakyReLU(),
            tinynn.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(NEW_LAYERS_X, NEW_LAYERS_Y, epochs=2, verbose=0)
    path = str(tmp_path / f"model{suffix}")
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = keras3.models.load_model(path).predict(NEW_LAYERS_X, verbose=0)
    mine = model.predict(NEW_LAYERS_X, verbose=0)
    np.testing.assert_allclose(theirs, mine, atol=TOL, rtol=0)


@needs_keras3
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras3_normalization_and_prelu_layers_load_in_tinynn(tmp_path, suffix):
    keras3.utils.set_random_seed(0)
    model = keras3.Sequential(
        [
            keras3.Input((6,)),
            keras3.layers.Dense(8),
            keras3.layers.BatchNormalization(),
            keras3.layers.PReLU(),
            keras3.layers.LayerNormalization(),
            keras3.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(NEW_LAYERS_X, NEW_LAYERS_Y, epochs=1, verbose=0)
    path = str(tmp_path / f"model{suffix}")
    model.save(path)
    theirs = model.predict(NEW_LAYERS_X, verbose=0)
    mine = tinynn.keras.models.load_model(path).predict(NEW_LAYERS_X, verbose=0)
    np.testing.assert_allclose(mine, theirs, atol=TOL, rtol=0)
