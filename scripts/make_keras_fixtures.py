"""Write the Keras fixture files of tests/fixtures/keras/ with real Keras.

Run once per Keras major version, each in a venv that has TensorFlow (never
tinynn's own venv):

    # Keras 3 (tf.keras in TensorFlow >= 2.16)
    python3.11 -m venv /work/venv-tf3
    /work/venv-tf3/bin/pip install tensorflow-cpu==2.21.0 h5py
    /work/venv-tf3/bin/python scripts/make_keras_fixtures.py

    # Keras 2.x (tf-keras, selected by TF_USE_LEGACY_KERAS=1)
    python3.11 -m venv /work/venv-tf2
    /work/venv-tf2/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 h5py
    TF_USE_LEGACY_KERAS=1 /work/venv-tf2/bin/python scripts/make_keras_fixtures.py

Model names as arguments (``make_keras_fixtures.py nested_sequential``)
write only those models' files, keeping the other entries of
keras<major>_expected.json.

For each model of MODELS (together they use every layer, activation, loss
and optimizer tinynn has) it trains two steps on fixed data, so the optimizer
state is not trivial, and writes keras<major>_<model>.h5, .weights.h5 and
.json (``to_json``) and .keras (tf-keras 2.13+ writes it too).
keras<major>_expected.json
records the Keras and TensorFlow versions, the fixed input of each model and
Keras's predictions on it. tests/test_keras_fixtures.py reads these files
without TensorFlow.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

keras = tf.keras
MAJOR = 2 if os.environ.get("TF_USE_LEGACY_KERAS") == "1" else 3
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "keras"


def keras_version() -> str:
    if MAJOR == 2:
        import tf_keras

        return tf_keras.__version__
    import keras as keras3

    return keras3.__version__


def inputs(shape):
    if MAJOR == 3:
        return [keras.Input(shape=shape)]
    return [keras.layers.InputLayer(input_shape=shape)]


def functional_mlp(L):
    inputs = keras.Input(shape=(6,), name="features")
    x = L.Dense(8, activation="relu")(inputs)
    x = L.Dense(8, activation="relu")(x)
    return keras.Model(inputs, L.Dense(3, activation="softmax")(x))


def functional_graph(L):
    inputs = keras.Input(shape=(5,))
    h = L.Dense(4, activation="relu")(inputs)
    branch_a = L.Dense(4, activation="tanh")(h)
    branch_b = L.Dense(4)(h)
    shared = L.Dense(4, activation="sigmoid", name="shared")
    first = shared(L.Add()([branch_a, branch_b]))
    second = shared(first)
    joined = L.Concatenate()([first, second, h])
    return keras.Model(inputs, L.Dense(2)(joined), name="graph")


def nested_sequential(L):
    """The TensorFlow beginner tutorial's probability_model: a Sequential
    (Flatten, Dense relu, Dense logits) nested as one layer in another,
    with Softmax after it."""
    logits = keras.Sequential(
        [*inputs((4, 3)), L.Flatten(), L.Dense(6, activation="relu"), L.Dense(5)]
    )
    return keras.Sequential([logits, L.Softmax()])


def models():
    """name -> (model builder, input shape, targets(x) for the 2 training steps)."""
    L = keras.layers
    return {
        # Flatten, Dense(relu), Dropout, Dense(softmax); Adam; sparse CE.
        "flatten_adam": (
            lambda: keras.Sequential(
                [
                    *inputs((4, 3)),
                    L.Flatten(),
                    L.Dense(6, activation="relu"),
                    L.Dropout(0.25),
                    L.Dense(5, activation="softmax"),
                ]
            ),
            (4, 3),
            lambda: ("adam", "sparse_categorical_crossentropy", ["accuracy"]),
            lambda rng, n: rng.integers(0, 5, n),
        ),
        # Dense(tanh), Activation(sigmoid), Dense(linear), Softmax; SGD with
        # Nesterov momentum; categorical CE.
        "softmax_sgd": (
            lambda: keras.Sequential(
                [
                    *inputs((5,)),
                    L.Dense(4, activation="tanh"),
                    L.Activation("sigmoid"),
                    L.Dense(3),
                    L.Softmax(),
                ]
            ),
            (5,),
            lambda: (
                keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                "categorical_crossentropy",
                ["accuracy"],
            ),
            lambda rng, n: np.eye(3, dtype="float32")[rng.integers(0, 3, n)],
        ),
        # Dense(sigmoid, no bias), Dense(linear); RMSprop with momentum; MSE.
        "nobias_rmsprop": (
            lambda: keras.Sequential(
                [
                    *inputs((5,)),
                    L.Dense(4, activation="sigmoid", use_bias=False),
                    L.Dense(2, activation="linear"),
                ]
            ),
            (5,),
            lambda: (keras.optimizers.RMSprop(0.01, momentum=0.5), "mse", []),
            lambda rng, n: rng.normal(size=(n, 2)).astype("float32"),
        ),
        # Dense(relu), Dense(sigmoid); Adagrad; binary CE.
        "binary_adagrad": (
            lambda: keras.Sequential(
                [
                    *inputs((3,)),
                    L.Dense(4, activation="relu"),
                    L.Dense(1, activation="sigmoid"),
                ]
            ),
            (3,),
            lambda: (keras.optimizers.Adagrad(0.1), "binary_crossentropy", []),
            lambda rng, n: rng.integers(0, 2, (n, 1)).astype("float32"),
        ),
        # Functional: a chain from keras.Input (the keras.io functional MLP).
        "functional_mlp": (
            lambda: functional_mlp(L),
            (6,),
            lambda: ("adam", "sparse_categorical_crossentropy", ["accuracy"]),
            lambda rng, n: rng.integers(0, 3, n),
        ),
        # Functional graph: fan-out, Add, a Dense shared at two depths,
        # Concatenate; RMSprop; MSE.
        "functional_graph": (
            lambda: functional_graph(L),
            (5,),
            lambda: (keras.optimizers.RMSprop(0.01), "mse", []),
            lambda rng, n: rng.normal(size=(n, 2)).astype("float32"),
        ),
        # A Sequential nested in a Sequential (the tutorial's probability_model);
        # Adam; sparse CE.
        "nested_sequential": (
            lambda: nested_sequential(L),
            (4, 3),
            lambda: ("adam", "sparse_categorical_crossentropy", ["accuracy"]),
            lambda rng, n: rng.integers(0, 5, n),
        ),
        # Dense(linear); Adam with amsgrad; MAE.
        "linear_amsgrad": (
            lambda: keras.Sequential([*inputs((3,)), L.Dense(2)]),
            (3,),
            lambda: (keras.optimizers.Adam(0.01, amsgrad=True), "mae", []),
            lambda rng, n: rng.normal(size=(n, 2)).astype("float32"),
        ),
    }


def main(only: list[str]) -> None:
    """Write every model's files, or only those of the models named in
    `only` (the other entries of keras<major>_expected.json are kept: each
    model starts from the same seeds either way)."""
    OUT.mkdir(parents=True, exist_ok=True)
    tf.keras.utils.set_random_seed(13)
    unknown = sorted(set(only) - set(models()))
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; known: {sorted(models())}")
    expected_path = OUT / f"keras{MAJOR}_expected.json"
    kept = {}
    if only and expected_path.exists():
        kept = json.loads(expected_path.read_text())["models"]
    record = {
        "made_by": f"scripts/make_keras_fixtures.py, Keras {keras_version()} "
        f"(tf.keras, TF_USE_LEGACY_KERAS={int(MAJOR == 2)}), TensorFlow "
        f"{tf.__version__}, Python {sys.version.split()[0]}",
        "keras_version": keras_version(),
        "tensorflow_version": tf.__version__,
        "models": {},
    }
    L = keras.layers
    for name, (build, shape, settings, targets) in models().items():
        if only and name not in only:
            if name in kept:
                record["models"][name] = kept[name]
            continue
        keras.backend.clear_session()  # layer names dense, dense_1 in each model
        tf.keras.utils.set_random_seed(13)
        rng = np.random.default_rng(len(name))
        model = build()
        optimizer, loss, metrics = settings()
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        x_train = rng.normal(size=(8, *shape)).astype("float32")
        y_train = targets(rng, 8)
        model.fit(x_train, y_train, batch_size=4, epochs=1, verbose=0)
        x = rng.normal(size=(3, *shape)).astype("float32")
        stem = OUT / f"keras{MAJOR}_{name}"
        model.save(f"{stem}.h5")
        model.save_weights(f"{stem}.weights.h5")
        model.save(f"{stem}.keras")
        Path(f"{stem}.json").write_text(model.to_json() + "\n")
        entry = {
            "optimizer": type(model.optimizer).__name__,
            "loss": loss,
            "input": x.tolist(),
            "predictions": model.predict(x, verbose=0).tolist(),
            "optimizer_iterations": int(model.optimizer.iterations.numpy()),
            "x_train": x_train.tolist(),
            "y_train": np.asarray(y_train).tolist(),
        }
        if not any(isinstance(layer, L.Dropout) for layer in model.layers):
            # One more step on the whole training set, unshuffled: only a
            # model that restored the optimizer state gets these predictions.
            model.fit(x_train, y_train, batch_size=8, shuffle=False, verbose=0)
            entry["predictions_after_next_step"] = model.predict(x, verbose=0).tolist()
        record["models"][name] = entry
    expected_path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote Keras {keras_version()} fixtures to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
