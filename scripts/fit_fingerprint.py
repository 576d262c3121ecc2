"""Fingerprints of whole fits, to prove a refactor changed no arithmetic.

For a fixed set of models (the Keras article's, and models that exercise
every layer kind the Trainer drives: dropout, batch and layer normalization,
PReLU, activity regularizers, swish's pre-activation buffer, a nested
Sequential...) this trains 2 epochs on the bundled MNIST sample (first 1,200 digits) from a fixed
seed and prints, per model:

- the SHA-256 of every weight's bytes after the fit, and of the History;
- the sequence of tinynn._core calls made by one training batch (names only),
  so "the same C calls per batch" can be compared too.

Run it on two checkouts (each built in place) and diff the outputs:

    python scripts/fit_fingerprint.py > after.txt
    (cd /path/to/old && python scripts/fit_fingerprint.py) > before.txt
    diff before.txt after.txt
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

import tinynn
from tinynn import _backend
from tinynn.keras import layers


def models():
    """(name, builder, dtype, optimizer) for each fingerprinted model."""
    yield (
        "article",
        lambda: [
            layers.Flatten(input_shape=(28, 28)),
            layers.Dense(512, activation="relu"),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        "float32",
        "adam",
    )
    yield (
        "every_layer",
        lambda: [
            layers.Flatten(input_shape=(28, 28)),
            layers.Rescaling(1.0, offset=0.0),
            layers.Dense(64, activation="swish", kernel_regularizer="l2"),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Dense(48, activity_regularizer="l1"),
            layers.PReLU(),
            layers.LayerNormalization(),
            layers.Reshape((6, 8)),
            layers.Flatten(),
            layers.Dense(32, activation="gelu"),
            layers.ReLU(max_value=6.0),
            layers.LeakyReLU(),
            layers.ELU(),
            layers.Activation("tanh"),
            layers.Dense(10),
            layers.Softmax(),
        ],
        "float64",
        "rmsprop",
    )
    yield (
        "nested",
        lambda: [
            tinynn.keras.Sequential(
                [
                    layers.Flatten(input_shape=(28, 28)),
                    layers.Dense(40, activation="relu"),
                ]
            ),
            layers.Dense(10, activation="sigmoid"),
        ],
        "float32",
        "sgd",
    )


def trace_calls(model, x, y):
    """Names of the _core functions one train_on_batch call makes."""
    calls = []
    core = _backend._core
    originals = {}
    for name in dir(core):
        fn = getattr(core, name)
        if callable(fn) and not name.startswith("_"):
            originals[name] = fn

            def wrapper(*args, _fn=fn, _name=name, **kwargs):
                calls.append(_name)
                return _fn(*args, **kwargs)

            setattr(core, name, wrapper)
    # _backend keeps the activation kernels in tables made at import time.
    tables = {"forward": _backend._FORWARD, "backward": _backend._BACKWARD}
    saved = {key: dict(table) for key, table in tables.items()}
    for key, table in tables.items():
        for act, fn in saved[key].items():
            table[act] = lambda *a, _fn=fn, _n=f"{act}_{key}", **k: (
                calls.append(_n),
                _fn(*a, **k),
            )[1]
    try:
        model.train_on_batch(x, y)
    finally:
        for name, fn in originals.items():
            setattr(core, name, fn)
        for key, table in tables.items():
            table.update(saved[key])
    return calls


def digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def main() -> None:
    (x, y), _ = tinynn.datasets.mnist.load_sample()
    x, y = x[:1200] / 255.0, y[:1200]
    for name, build, dtype, optimizer in models():
        tinynn.backend.set_floatx(dtype)
        tinynn.set_seed(1234)
        model = tinynn.keras.Sequential(build())
        loss = "binary_crossentropy" if name == "nested" else None
        targets = np.eye(10)[y] if loss else y
        model.compile(
            optimizer=optimizer,
            loss=loss or "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = model.fit(
            x, targets, batch_size=64, epochs=2, validation_split=0.1, verbose=0
        )
        print(name, "weights", digest(model.get_weights()))
        print(
            name,
            "history",
            hashlib.sha256(
                json.dumps(history.history, sort_keys=True).encode()
            ).hexdigest()[:16],
        )
        print(name, "calls", " ".join(trace_calls(model, x[:64], targets[:64])))
    tinynn.backend.set_floatx("float32")


if __name__ == "__main__":
    main()
