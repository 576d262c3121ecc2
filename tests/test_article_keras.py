"""The Keras "hello world" article (001), run verbatim after `import tinynn as tf`.

Needs full MNIST: found through TINYNN_DATASETS (CI sets it) or the
../shared/datasets folder beside the repository; skipped with a reason
otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture(scope="module")
def mnist_available():
    if not os.environ.get("TINYNN_DATASETS") and (SHARED / "mnist").is_dir():
        os.environ["TINYNN_DATASETS"] = str(SHARED)
    folder = Path(os.environ.get("TINYNN_DATASETS", "/nonexistent")) / "mnist"
    if not folder.is_dir():
        pytest.skip(
            "full MNIST not found: set TINYNN_DATASETS to the folder holding mnist/"
        )


def run_article(epochs):
    # The article's listing, unchanged but for the epoch count.
    import tinynn as tf
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tf.keras.backend.clear_session()
    tf.set_seed(0)
    mnist = tf.keras.datasets.mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    plt.subplot(221)
    plt.imshow(x_train[0], cmap=plt.get_cmap("gray"))
    x_train, x_test = x_train / 255.0, x_test / 255.0
    model = tf.keras.models.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(28, 28)),
            tf.keras.layers.Dense(512, activation=tf.nn.relu),
            tf.keras.layers.Dense(256, activation=tf.nn.relu),
            tf.keras.layers.Dense(128, activation=tf.nn.relu),
            tf.keras.layers.Dense(10, activation=tf.nn.softmax),
        ]
    )
    model.summary()
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(
        x_train, y_train, epochs=epochs, validation_data=[x_test, y_test]
    )
    scores = model.evaluate(x_test, y_test, verbose=0)
    print("Baseline Error: %.2f%%" % (100 - scores[1] * 100))
    plt.close("all")
    return model, history, scores, (x_test, y_test)


def test_article_one_epoch_reaches_95_percent(mnist_available, tmp_path):
    model, history, scores, (x_test, y_test) = run_article(epochs=1)
    assert scores[1] >= 0.95
    assert history.history["val_accuracy"][0] == pytest.approx(scores[1], abs=1e-6)
    assert len(history.batch_history["loss"]) == 1875
    path = tmp_path / "handwritten_digit.h5"
    try:
        import h5py  # noqa: F401
    except ImportError:
        path = tmp_path / "handwritten_digit.tnn"
    model.save(str(path))
    import tinynn as tf

    again = tf.keras.models.load_model(str(path))
    np.testing.assert_array_equal(
        again.predict(x_test[:500], verbose=0), model.predict(x_test[:500], verbose=0)
    )


@pytest.mark.slow
def test_article_ten_epochs_reaches_98_percent(mnist_available):
    _, history, scores, _ = run_article(epochs=10)
    print(f"10-epoch test accuracy: {scores[1]:.4f}")
    assert scores[1] >= 0.98
    assert len(history.history["loss"]) == 10
