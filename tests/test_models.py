"""Sequential: build, compile, fit, evaluate, predict, summary, weights, errors.

Numbers are checked against tests/model_reference.py (plain NumPy, float64)
and against Keras facts recorded in ../shared/KERAS.md, never against tinynn.
"""

from __future__ import annotations


import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn.keras import layers

import model_reference as ref


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")
    yield
    tinynn.set_floatx("float32")


def article_model():
    return tf.keras.models.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(28, 28)),
            tf.keras.layers.Dense(512, activation=tf.nn.relu),
            tf.keras.layers.Dense(256, activation=tf.nn.relu),
            tf.keras.layers.Dense(128, activation=tf.nn.relu),
            tf.keras.layers.Dense(10, activation=tf.nn.softmax),
        ]
    )


def small_data(n=50, features=7, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    y = rng.integers(0, classes, size=n)
    return x, y


# ---- structure ------------------------------------------------------------------
def test_article_summary_matches_keras_text():
    model = article_model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(line.rstrip() for line in lines)
    expected = "\n".join(
        [
            'Model: "sequential"',
            "_" * 65,
            "Layer (type)                 Output Shape              Param #",
            "=" * 65,
            "flatten (Flatten)            (None, 784)               0",
            "_" * 65,
            "dense (Dense)                (None, 512)               401920",
            "_" * 65,
            "dense_1 (Dense)              (None, 256)               131328",
            "_" * 65,
            "dense_2 (Dense)              (None, 128)               32896",
            "_" * 65,
            "dense_3 (Dense)              (None, 10)                1290",
            "=" * 65,
            "Total params: 567,434",
            "Trainable params: 567,434",
            "Non-trainable params: 0",
            "_" * 65,
        ]
    )
    assert text == expected
    assert all(len(line) == 65 for line in lines[1:-4])


def test_weights_exist_before_data_and_follow_glorot_limits():
    model = article_model()
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [
        (784, 512),
        (512,),
        (512, 256),
        (256,),
        (256, 128),
        (128,),
        (128, 10),
        (10,),
    ]
    for kernel, limit in zip(
        model.get_weights()[0::2], [0.06804, 0.08839, 0.125, 0.20851]
    ):
        assert np.abs(kernel).max() <= limit + 1e-5
        assert np.abs(kernel).max() > 0.9 * limit
    assert all(np.all(b == 0) for b in model.get_weights()[1::2])


def test_names_keep_counting_until_clear_session():
    first = layers.Dense(2)
    second = layers.Dense(2)
    assert (first.name, second.name) == ("dense", "dense_1")
    tinynn.backend.clear_session()
    assert layers.Dense(2).name == "dense"


def test_unbuilt_model_builds_on_first_fit_and_summary_before_raises():
    model = tf.keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)])
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    model.build((None, 7))
    assert model.get_weights()[0].shape == (7, 4)


def test_units_validated_at_construction():
    with pytest.raises(
        ValueError, match="Dense: units must be a positive integer; got 0"
    ):
        layers.Dense(0)
    with pytest.raises(TypeError, match="units"):
        layers.Dense(2.5)
    with pytest.raises(ValueError, match="Unknown activation"):
        layers.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="Dropout: rate"):
        layers.Dropout(1.5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'unit'"):
        layers.Dense(3, unit=4)


def test_keras_import_styles_work():
    from tinynn.keras.layers import Dense, Flatten  # noqa: F401
    from tinynn.keras.models import Sequential, load_model  # noqa: F401
    from tinynn.keras.optimizers import SGD, Adam, RMSprop  # noqa: F401
    from tinynn.keras import backend, utils  # noqa: F401

    assert tinynn.keras.utils.to_categorical([1, 0], 3).tolist() == [
        [0, 1, 0],
        [1, 0, 0],
    ]


# ---- training against the NumPy reference -----------------------------------------
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 2e-4)])
def test_adam_steps_match_numpy_reference(dtype, rtol):
    tinynn.set_floatx(dtype)
    x, y = small_data(n=24, features=7, classes=5)
    model = tf.keras.Sequential(
        [
            layers.Dense(13, activation="relu", input_shape=(7,)),
            layers.Dense(5, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    weights = [w.astype(np.float64) for w in model.get_weights()]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    losses = []
    for step in range(3):
        xb, yb = (
            x[step * 8 : (step + 1) * 8].astype(dtype).astype(np.float64),
            y[step * 8 : (step + 1) * 8],
        )
        loss, grads = ref.sparse_xent_grads(weights, xb, yb, ["relu", "softmax"])
        losses.append(loss)
        weights = ref.adam_step(weights, grads, m, v, step + 1)
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(history.batch_history["loss"], losses, rtol=rtol)
    assert history.history["loss"][0] == pytest.approx(np.mean(losses), rel=rtol)


def test_fused_softmax_matches_unfused_math():
    """Softmax + sparse CE trains through the fused kernel; the same model with a
    linear output and from_logits=True computes the same numbers another way."""
    tinynn.set_floatx("float64")
    x, y = small_data(n=16, features=5, classes=4)
    fused = tf.keras.Sequential(
        [layers.Dense(4, activation="softmax", input_shape=(5,))]
    )
    logits = tf.keras.Sequential([layers.Dense(4, input_shape=(5,))])
    logits.set_weights(fused.get_weights())
    fused.compile(
        optimizer=tf.keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy"
    )
    logits.compile(
        optimizer=tf.keras.optimizers.SGD(0.5),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    loss_a = fused.train_on_batch(x, y)
    loss_b = logits.train_on_batch(x, y)
    assert loss_a == pytest.approx(loss_b, rel=1e-12)
    for a, b in zip(fused.get_weights(), logits.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    probs = fused.predict(x, verbose=0)
    np.testing.assert_allclose(
        probs, ref.softmax(logits.predict(x, verbose=0)), rtol=1e-12
    )


def test_probability_output_without_fusion_uses_keras_clipping():
    tinynn.set_floatx("float64")
    y_true = np.array([0, 1])
    y_pred = np.array([[1.0, 0.0], [0.3, 0.7]])
    value = tinynn.losses.sparse_categorical_crossentropy(y_true, y_pred)
    q = np.clip(y_pred, 1e-7, 1 - 1e-7)
    want = np.mean([-np.log(q[0, 0] / q[0].sum()), -np.log(q[1, 1] / q[1].sum())])
    assert value == pytest.approx(want, rel=1e-12)


def test_epoch_loss_is_batch_weighted_mean_before_update():
    x, y = small_data(n=10, features=3, classes=2)
    model = tf.keras.Sequential(
        [layers.Dense(2, activation="softmax", input_shape=(3,))]
    )
    model.compile(
        optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    batch_losses = np.array(history.batch_history["loss"])
    sizes = np.array([4, 4, 2])
    assert len(batch_losses) == 6
    for epoch in range(2):
        want = (batch_losses[3 * epoch : 3 * epoch + 3] * sizes).sum() / 10
        assert history.history["loss"][epoch] == pytest.approx(want, rel=1e-6)
    assert list(history.history) == ["loss", "accuracy"]
    assert history.epoch == [0, 1]


def test_validation_split_takes_tail_before_shuffling():
    x, y = small_data(n=10, features=3, classes=2)
    model = tf.keras.Sequential(
        [layers.Dense(2, activation="softmax", input_shape=(3,))]
    )
    model.compile(
        optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"]
    )
    history = model.fit(x, y, validation_split=0.3, epochs=1, verbose=0)
    assert list(history.history) == ["loss", "acc", "val_loss", "val_acc"]
    want = model.evaluate(x[7:], y[7:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(want[0], rel=1e-6)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.0, verbose=0)


def test_evaluate_return_forms_and_metrics_names():
    x, y = small_data()
    model = tf.keras.Sequential(
        [layers.Dense(3, activation="softmax", input_shape=(7,))]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    loss, acc = model.evaluate(x, y, verbose=0)
    probs = model.predict(x, verbose=0)
    assert acc == pytest.approx(np.mean(probs.argmax(1) == y))
    assert loss == pytest.approx(
        np.mean(-np.log(probs[np.arange(len(y)), y])), rel=1e-5
    )
    assert model.metrics_names == ["loss", "accuracy"]
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {
        "loss",
        "accuracy",
    }


def test_same_seed_same_training_and_float64_end_to_end():
    x, y = small_data(n=40)
    runs = []
    for _ in range(2):
        tinynn.set_seed(123)
        tinynn.set_floatx("float64")
        model = tf.keras.Sequential(
            [
                layers.Dense(6, activation="relu", input_shape=(7,)),
                layers.Dropout(0.3),
                layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        runs.append(model.get_weights())
        assert all(w.dtype == np.float64 for w in runs[-1])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_dropout_is_inverted_and_off_at_inference():
    layer = layers.Dropout(0.25)
    x = np.ones((400, 50))
    out = layer.forward(x, training=True)
    kept = out != 0
    assert np.allclose(out[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_array_equal(
        layer.forward(x, training=False), x.astype(np.float32)
    )


# ---- errors -------------------------------------------------------------------------
def test_fit_before_compile_raises_runtime_error():
    model = tf.keras.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(RuntimeError, match="You must compile your model"):
        model.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)


def test_bad_labels_and_shapes_raise_clear_errors():
    x, y = small_data(n=8, features=7, classes=3)
    model = tf.keras.Sequential(
        [layers.Dense(3, activation="softmax", input_shape=(7,))]
    )
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    with pytest.raises(ValueError, match=r"y\[2\] = 10 is outside \[0, 3\)"):
        model.fit(x, np.array([0, 1, 10, 0, 1, 2, 0, 1]), verbose=0)
    with pytest.raises(ValueError, match="not a whole number"):
        model.fit(x, y + 0.5, verbose=0)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        model.fit(x[:, :5], y, verbose=0)
    with pytest.raises(ValueError, match="cardinality"):
        model.fit(x, y[:5], verbose=0)
    with pytest.raises(ValueError, match="looks one-hot"):
        model.fit(x, tinynn.utils.to_categorical(y, 3), verbose=0)
    model.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match="incompatible"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.predict(np.full((2, 7), np.nan), verbose=0)


def test_float_integral_labels_are_accepted():
    x, y = small_data(n=8, features=7, classes=3)
    model = tf.keras.Sequential(
        [layers.Dense(3, activation="softmax", input_shape=(7,))]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    a = model.test_on_batch(x, y)
    b = model.test_on_batch(x, y.astype(np.float64))
    assert a == b


def test_diverging_loss_warns_with_epoch_and_batch():
    x = np.array([[1e30, -1e30]] * 4)
    model = tf.keras.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(tf.keras.optimizers.SGD(1.0), "mse")
    with pytest.warns(
        RuntimeWarning, match=r"the loss is (nan|inf) at epoch 1, batch [234]"
    ):
        model.fit(x, np.ones(4), epochs=1, batch_size=1, shuffle=False, verbose=0)


def test_lr_alias_is_honoured():
    assert tf.keras.optimizers.Adam(lr=0.01).learning_rate == 0.01
    assert tf.keras.optimizers.SGD(lr=0.2).learning_rate == 0.2


# ---- low-level face ---------------------------------------------------------------------
def test_layer_forward_backward_match_reference():
    tinynn.set_floatx("float64")
    rng = np.random.default_rng(1)
    dense = layers.Dense(5, activation="relu")
    x = rng.normal(size=(7, 3))
    y = dense.forward(x)
    w, b = dense.weights
    np.testing.assert_allclose(y, np.maximum(x @ w + b, 0), rtol=1e-12)
    dy = rng.normal(size=y.shape)
    dx = dense.backward(dy)
    dz = dy * (y > 0)
    np.testing.assert_allclose(dx, dz @ w.T, rtol=1e-12)
    np.testing.assert_allclose(dense.gradients[0], x.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(dense.gradients[1], dz.sum(0), rtol=1e-12)
    dense.weights[1][:] = 1.0
    assert np.all(dense.get_weights()[1] == 1.0)


def test_value_and_grad_and_apply_gradients():
    tinynn.set_floatx("float64")
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, 6)
    loss, grad = tinynn.losses.SparseCategoricalCrossentropy(
        from_logits=True
    ).value_and_grad(labels, logits)
    p = ref.softmax(logits)
    assert loss == pytest.approx(np.mean(-np.log(p[np.arange(6), labels])), rel=1e-12)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(grad, (p - onehot) / 6, rtol=1e-10)
    w = np.ones(3)
    tinynn.optimizers.SGD(0.1).apply_gradients([(np.array([1.0, 2.0, 3.0]), w)])
    np.testing.assert_allclose(w, [0.9, 0.8, 0.7])


def test_main_command_runs_on_the_bundled_sample(tmp_path):
    import subprocess
    import sys

    plot = tmp_path / "history.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tinynn",
            "--sample",
            "--epochs",
            "1",
            "--verbose",
            "2",
            "--plot",
            str(plot),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        env={**__import__("os").environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr
    assert "using the bundled sample" in result.stdout
    accuracy = float(result.stdout.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.85  # 6,000 digits, one epoch
    assert "time per epoch" in result.stdout
    assert plot.stat().st_size > 1000


def test_categorical_crossentropy_label_smoothing_follows_keras():
    tinynn.set_floatx("float64")
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    p = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
    loss = tinynn.losses.CategoricalCrossentropy(label_smoothing=0.3)(y, p)
    smoothed = y * 0.7 + 0.3 / 3
    assert loss == pytest.approx(
        np.mean(-(smoothed * np.log(p)).sum(axis=1)), rel=1e-12
    )
    with pytest.raises(ValueError, match="label_smoothing"):
        tinynn.losses.BinaryCrossentropy(label_smoothing=2)


def test_activation_layer_softmax_is_fused_like_dense_softmax():
    tinynn.set_floatx("float64")
    x, y = small_data(n=12, features=5, classes=4)
    tinynn.set_seed(3)
    a = tf.keras.Sequential([layers.Dense(4, activation="softmax", input_shape=(5,))])
    tinynn.set_seed(3)
    b = tf.keras.Sequential(
        [layers.Dense(4, input_shape=(5,)), layers.Activation("softmax")]
    )
    for m in (a, b):
        m.compile(tf.keras.optimizers.SGD(0.3), "sparse_categorical_crossentropy")
        m.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12)


def test_dense_on_rank_3_input_works_on_the_last_axis():
    tinynn.set_floatx("float64")
    dense = layers.Dense(3)
    x = np.random.default_rng(0).normal(size=(2, 4, 5))
    y = dense.forward(x)
    assert y.shape == (2, 4, 3)
    np.testing.assert_allclose(y, x @ dense.weights[0] + dense.weights[1], rtol=1e-12)
    dx = dense.backward(np.ones_like(y))
    np.testing.assert_allclose(dx, np.ones_like(y) @ dense.weights[0].T, rtol=1e-12)
