"""The tf.keras surface beginner code touches beyond the articles (issue 12):
new activations by name, weightless layers, `.numpy()` on call results and
TensorFlow's tensor functions, metrics and the Huber loss. Expected values
come from tests/reference.py, from formulas written here, or from examples
in Keras's documentation; never from the code under test."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import reference as ref
import tinynn as tf
from test_core_gradcheck import numeric_grad, rel_error
from tinynn import _core

NEW = ["elu", "selu", "softplus", "leaky_relu", "swish", "silu", "gelu"]
KERNEL = {"silu": "swish"}


# ---- activations ---------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_activation_functions_match_reference(name):
    x = np.random.default_rng(1).normal(size=(5, 7)) * 3
    got = getattr(tf.keras.activations, name)(x)
    want = ref.ACTIVATIONS[KERNEL.get(name, name)](x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    assert isinstance(got, tf.Tensor)
    np.testing.assert_array_equal(getattr(tf.nn, name)(x).numpy(), got.numpy())


def test_activation_function_arguments():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(tf.activations.elu(x, alpha=0.5), ref.elu(x, 0.5))
    np.testing.assert_allclose(tf.activations.leaky_relu(x), ref.leaky_relu(x, 0.2))
    np.testing.assert_allclose(
        tf.activations.leaky_relu(x, negative_slope=0.1), ref.leaky_relu(x, 0.1)
    )
    np.testing.assert_allclose(tf.nn.leaky_relu(x, alpha=0.3), ref.leaky_relu(x, 0.3))
    np.testing.assert_allclose(
        tf.activations.gelu(x, approximate=True), ref.gelu_tanh(x), rtol=1e-12
    )
    with pytest.raises(ValueError, match="elu: alpha"):
        tf.activations.elu(x, alpha=-1.0)
    with pytest.raises(TypeError, match="gelu: approximate"):
        tf.activations.gelu(x, approximate="yes")


@pytest.mark.parametrize("name", NEW)
def test_dense_with_new_activation_forward_and_gradients(name):
    """Dense(activation=name) applies it after the GEMM; its backward (from y,
    or from the kept pre-activation for swish/gelu) matches finite differences."""
    tf.set_floatx("float64")
    try:
        r = np.random.default_rng(2)
        x = r.normal(size=(4, 6))
        layer = tf.keras.layers.Dense(5, activation=name)
        y = layer.forward(x)
        w, b = layer.weights
        want = ref.ACTIVATIONS[KERNEL.get(name, name)](x @ w + b)
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-14)
        weight = r.normal(size=y.shape)
        dx = layer.backward(weight)
        dw = layer.gradients[0].copy()

        def loss_x(v):
            return float((weight * layer.forward(v)).sum())

        assert rel_error(dx, numeric_grad(loss_x, x.copy())) < 1e-6

        def loss_w(v):
            saved = w.copy()
            w[...] = v
            out = float((weight * layer.forward(x)).sum())
            w[...] = saved
            return out

        assert rel_error(dw, numeric_grad(loss_w, w.copy())) < 1e-6
        assert layer.get_config()["activation"] == KERNEL.get(name, name)
    finally:
        tf.set_floatx("float32")


@pytest.mark.parametrize("name", ["gelu", "elu", "swish"])
def test_activation_layer_gradients(name):
    tf.set_floatx("float64")
    try:
        r = np.random.default_rng(3)
        x = r.normal(size=(3, 5)) * 2
        layer = tf.keras.layers.Activation(name)
        weight = r.normal(size=x.shape)
        layer.forward(x)
        dx = layer.backward(weight)
        numeric = numeric_grad(lambda v: float((weight * layer.forward(v)).sum()), x)
        assert rel_error(dx, numeric) < 1e-6
    finally:
        tf.set_floatx("float32")


def test_model_with_new_activations_trains_and_reloads(tmp_path):
    r = np.random.default_rng(4)
    x = r.normal(size=(96, 6)).astype("float32")
    y = (x[:, :1] * 2 - x[:, 1:2]).astype("float32")
    tf.set_seed(0)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(16, activation="gelu", input_shape=(6,)),
            tf.keras.layers.Dense(16, activation="silu"),
            tf.keras.layers.Dense(16, activation="selu"),
            tf.keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    history = model.fit(x, y, epochs=25, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    path = tmp_path / "m.h5"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


# ---- layers ----------------------------------------------------------------------


def relu_formula(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras's ReLU layer, written from its documentation."""
    top = np.inf if max_value is None else max_value
    return np.where(
        x >= top, top, np.where(x >= threshold, x, negative_slope * (x - threshold))
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"max_value": 6.0},
        {"negative_slope": 0.1},
        {"threshold": 0.5},
        {"max_value": 1.5, "negative_slope": 0.2, "threshold": 0.25},
    ],
)
def test_relu_layer(kwargs):
    tf.set_floatx("float64")
    try:
        r = np.random.default_rng(5)
        x = r.normal(size=(4, 9)) * 4
        layer = tf.keras.layers.ReLU(**kwargs)
        np.testing.assert_allclose(layer(x).numpy(), relu_formula(x, **kwargs))
        weight = r.normal(size=x.shape)
        layer.forward(x)
        dx = layer.backward(weight)
        numeric = numeric_grad(lambda v: float((weight * layer.forward(v)).sum()), x)
        assert rel_error(dx, numeric) < 1e-6
        config = layer.get_config()
        again = tf.keras.layers.ReLU.from_config(config)
        np.testing.assert_array_equal(again(x), layer(x))
    finally:
        tf.set_floatx("float32")


def test_relu_rejects_negative_arguments():
    for key in ("max_value", "negative_slope", "threshold"):
        with pytest.raises(ValueError, match=f"ReLU: {key}"):
            tf.keras.layers.ReLU(**{key: -1.0})


def test_leaky_relu_and_elu_layers():
    x = np.array([[-2.0, -0.5, 0.0, 1.5]], "float32")
    np.testing.assert_allclose(
        tf.keras.layers.LeakyReLU()(x), [[-0.6, -0.15, 0, 1.5]], rtol=1e-6
    )
    np.testing.assert_allclose(
        tf.keras.layers.LeakyReLU(negative_slope=0.1)(x),
        [[-0.2, -0.05, 0, 1.5]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        tf.keras.layers.ELU(alpha=0.5)(x),
        0.5 * np.expm1(np.minimum(x, 0)) + np.maximum(x, 0),
        rtol=1e-6,
    )
    assert tf.keras.layers.LeakyReLU().get_config()["alpha"] == 0.3
    assert tf.keras.layers.ELU().get_config()["alpha"] == 1.0
    with pytest.raises(ValueError, match="LeakyReLU: alpha"):
        tf.keras.layers.LeakyReLU(alpha=-0.1)


def test_rescaling_and_reshape_in_a_model(tmp_path):
    r = np.random.default_rng(6)
    images = r.integers(0, 256, size=(40, 4, 6)).astype(np.uint8)
    labels = r.integers(0, 3, size=40)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Rescaling(1.0 / 255, input_shape=(4, 6)),
            tf.keras.layers.Reshape((-1,)),
            tf.keras.layers.Dense(8, activation="relu"),
            tf.keras.layers.Reshape((2, 4)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(3, activation="softmax"),
        ]
    )
    assert model.layers[1].output_shape == (None, 24)
    assert model.layers[3].output_shape == (None, 2, 4)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    model.fit(images, labels, epochs=2, verbose=0)
    scaled = model.layers[0](images.astype("float32")).numpy()
    np.testing.assert_allclose(scaled, images / 255.0, rtol=1e-6)
    path = tmp_path / "r.h5"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0)
    )


def test_rescaling_offset_and_gradient():
    tf.set_floatx("float64")
    try:
        layer = tf.keras.layers.Rescaling(scale=[2.0, -1.0, 0.5], offset=-1.0)
        x = np.arange(6.0).reshape(2, 3)
        np.testing.assert_allclose(layer(x), x * [2.0, -1.0, 0.5] - 1.0)
        np.testing.assert_allclose(
            layer.backward(np.ones((2, 3))), [[2.0, -1.0, 0.5]] * 2
        )
    finally:
        tf.set_floatx("float32")


def test_reshape_errors():
    with pytest.raises(ValueError, match="Reshape: target_shape"):
        tf.keras.layers.Reshape((-1, -1))
    layer = tf.keras.layers.Reshape((5,))
    with pytest.raises(ValueError, match="total size of new array must be unchanged"):
        layer.build((None, 2, 3))
    with pytest.raises(ValueError, match="not a multiple of 4"):
        tf.keras.layers.Reshape((4, -1)).build((None, 7))


# ---- what calls return -------------------------------------------------------------


def test_quickstart_numpy_calls():
    """The TensorFlow quickstart's lines, with tinynn as tf."""
    r = np.random.default_rng(7)
    x = r.random(size=(5, 3, 3)).astype("float32")
    y = np.array([1, 0, 2, 1, 0])
    model = tf.keras.models.Sequential(
        [
            tf.keras.layers.Flatten(input_shape=(3, 3)),
            tf.keras.layers.Dense(8, activation="relu"),
            tf.keras.layers.Dense(3),
        ]
    )
    predictions = model(x[:1]).numpy()
    assert type(predictions) is np.ndarray and predictions.shape == (1, 3)
    probs = tf.nn.softmax(predictions).numpy()
    np.testing.assert_allclose(
        probs, ref.softmax(predictions.astype(np.float64)), rtol=1e-6
    )
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss = loss_fn(y[:1], predictions).numpy()
    assert loss.dtype == np.float32
    want, _, _ = ref.softmax_xent(predictions.astype(np.float64), y[:1])
    assert loss == pytest.approx(want, rel=1e-6)
    assert type(model.predict(x, verbose=0)) is np.ndarray
    assert type(model.predict_on_batch(x)) is np.ndarray
    layer_out = model.layers[1](x.reshape(5, 9))
    assert isinstance(layer_out, tf.Tensor) and layer_out.numpy().shape == (5, 8)
    # Everywhere else a Tensor is the ndarray it wraps.
    out = model(x)
    np.testing.assert_array_equal(
        np.argmax(out, axis=1), np.argmax(out.numpy(), axis=1)
    )
    assert float(out.sum()) == pytest.approx(float(out.numpy().sum()))


def test_tensor_functions_follow_tensorflow():
    assert tf.constant(1.5).dtype == np.float32
    assert tf.constant([1, 2]).dtype == np.int32
    assert tf.constant(np.arange(3.0)).dtype == np.float64
    np.testing.assert_array_equal(tf.constant(7, shape=(2, 2)), [[7, 7], [7, 7]])
    np.testing.assert_array_equal(
        tf.constant([1, 2, 3, 4], shape=[2, 2]), [[1, 2], [3, 4]]
    )
    assert (
        tf.ones((2, 3)).dtype == np.float32
        and float(tf.reduce_sum(tf.ones((2, 3)))) == 6
    )
    assert tf.zeros(4, dtype=tf.int32).dtype == np.int32
    t = tf.convert_to_tensor([[1.0, 5.0, 2.0], [3.0, 0.0, 9.0]])
    np.testing.assert_array_equal(
        tf.argmax(t).numpy(), [1, 0, 1]
    )  # TF's default axis 0
    np.testing.assert_array_equal(tf.argmax(t, axis=1).numpy(), [1, 2])
    assert tf.argmax(t, axis=1).dtype == np.int64
    np.testing.assert_allclose(tf.reduce_sum(t, axis=0).numpy(), [4, 5, 11])
    np.testing.assert_allclose(
        tf.reduce_mean(t, axis=1, keepdims=True).numpy(), [[8 / 3], [4]]
    )
    assert tf.reduce_mean(tf.constant([1, 2])).numpy() == 1  # integer mean truncates
    np.testing.assert_array_equal(tf.cast(tf.constant([1.7, -1.7]), tf.int32), [1, -1])
    assert tf.cast([0, 2], tf.bool).dtype == np.bool_
    assert tf.reduce_sum(t).numpy() == pytest.approx(20.0)
    with pytest.raises(ValueError, match="reduce_sum: axis"):
        tf.reduce_sum(t, axis=2)
    with pytest.raises(TypeError, match="constant: value"):
        tf.constant("text")


def test_version_and_logger():
    assert tf.version.VERSION == tf.__version__
    assert tf.keras.__version__ == tf.__version__
    logger = tf.get_logger()
    assert isinstance(logger, logging.Logger)
    logger.setLevel("ERROR")


# ---- metrics -----------------------------------------------------------------------


def test_keras_documentation_examples():
    m = tf.keras.metrics.Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert m.result().numpy() == pytest.approx(2 / 3)
    m = tf.keras.metrics.Recall()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert m.result().numpy() == pytest.approx(2 / 3)
    m = tf.keras.metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.result().numpy() == pytest.approx(0.75)
    m = tf.keras.metrics.TopKCategoricalAccuracy(k=1)
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert m.result().numpy() == pytest.approx(0.5)
    m = tf.keras.metrics.SparseTopKCategoricalAccuracy(k=1)
    m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert m.result().numpy() == pytest.approx(0.5)
    m = tf.keras.metrics.TruePositives()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert m.result().numpy() == 2
    m.reset_state()
    assert m.result().numpy() == 0


def test_confusion_counts_against_a_loop():
    r = np.random.default_rng(8)
    y = (r.random(97) > 0.4).astype(float)
    p = r.random(97)
    for threshold in (0.5, 0.3):
        tp, fp, tn, fn = ref.confusion(y, p, threshold)
        got = [
            tf.keras.metrics.TruePositives(threshold)(y, p).numpy(),
            tf.keras.metrics.FalsePositives(threshold)(y, p).numpy(),
            tf.keras.metrics.TrueNegatives(threshold)(y, p).numpy(),
            tf.keras.metrics.FalseNegatives(threshold)(y, p).numpy(),
        ]
        assert got == [tp, fp, tn, fn]
        assert tf.keras.metrics.Precision(threshold)(y, p).numpy() == pytest.approx(
            tp / (tp + fp)
        )
        assert tf.keras.metrics.Recall(threshold)(y, p).numpy() == pytest.approx(
            tp / (tp + fn)
        )
    several = tf.keras.metrics.Precision(thresholds=[0.7, 0.3, 0.5])(y, p).numpy()
    want = []
    for threshold in (0.7, 0.3, 0.5):
        tp, fp, _, _ = ref.confusion(y, p, threshold)
        want.append(tp / (tp + fp))
    np.testing.assert_allclose(several, want, rtol=1e-6)
    # NaN is above no threshold (a comparison with NaN is false)
    assert tf.keras.metrics.FalseNegatives()([1, 1], [np.nan, 0.9]).numpy() == 1
    # class_id picks one column of a multi-column prediction
    y2 = np.stack([y, 1 - y], axis=1)
    p2 = np.stack([p, 1 - p], axis=1)
    tp, fp, _, _ = ref.confusion(1 - y, 1 - p, 0.5)
    got = tf.keras.metrics.Precision(class_id=1)(y2, p2).numpy()
    assert got == pytest.approx(tp / (tp + fp))


@pytest.mark.parametrize(
    "curve,summation",
    [
        ("ROC", "interpolation"),
        ("ROC", "minoring"),
        ("ROC", "majoring"),
        ("PR", "interpolation"),
        ("PR", "minoring"),
        ("PR", "majoring"),
    ],
)
@pytest.mark.parametrize("num_thresholds", [200, 7])
def test_auc_against_the_loop_reference(curve, summation, num_thresholds):
    r = np.random.default_rng(9)
    y = (r.random(151) > 0.5).astype(float)
    p = np.clip(0.35 * y + 0.65 * r.random(151), 0, 1)
    m = tf.keras.metrics.AUC(
        num_thresholds=num_thresholds, curve=curve, summation_method=summation
    )
    m.update_state(y[:70], p[:70])
    m.update_state(y[70:], p[70:])  # accumulates over batches
    want = ref.auc(y, p, num_thresholds, curve, summation)
    assert m.result().numpy() == pytest.approx(want, rel=1e-6)


def test_auc_perfect_and_from_logits():
    y = np.array([0, 0, 1, 1, 1])
    logits = np.array([-3.0, -1.0, 0.5, 2.0, 4.0])
    assert tf.keras.metrics.AUC(from_logits=True)(y, logits).numpy() == pytest.approx(
        1.0
    )
    assert tf.keras.metrics.AUC()(y, 1 - ref.sigmoid(logits)).numpy() == pytest.approx(
        0.0
    )


def test_function_forms():
    y_true = np.array([[1.0], [0.0], [1.0]])
    y_pred = np.array([[0.7], [0.6], [0.2]])
    np.testing.assert_array_equal(
        tf.keras.metrics.binary_accuracy(y_true, y_pred), [1, 0, 0]
    )
    onehot = np.eye(3)[[0, 2, 1]]
    probs = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    np.testing.assert_array_equal(
        tf.keras.metrics.categorical_accuracy(onehot, probs), [1, 1, 0]
    )
    np.testing.assert_array_equal(
        tf.keras.metrics.sparse_categorical_accuracy([0, 2, 1], probs), [1, 1, 0]
    )
    np.testing.assert_array_equal(
        tf.keras.metrics.sparse_categorical_accuracy([[0], [2], [1]], probs), [1, 1, 0]
    )
    np.testing.assert_array_equal(
        tf.keras.metrics.top_k_categorical_accuracy(onehot, probs, k=2), [1, 1, 1]
    )
    np.testing.assert_array_equal(
        tf.keras.metrics.sparse_top_k_categorical_accuracy([2, 0, 2], probs, k=2),
        [0, 0, 0],
    )
    bce = tf.keras.metrics.binary_crossentropy(y_true, y_pred).numpy()
    q = np.clip(y_pred, 1e-7, 1 - 1e-7)
    want = -(y_true * np.log(q + 1e-7) + (1 - y_true) * np.log(1 - q + 1e-7))[:, 0]
    np.testing.assert_allclose(bce, want, rtol=1e-12)


def binary_model(x, seed=0):
    tf.set_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(8, activation="relu", input_shape=(x.shape[1],)),
            tf.keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    return model


def test_metric_strings_and_objects_in_fit_and_evaluate():
    r = np.random.default_rng(10)
    x = r.normal(size=(200, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * r.normal(size=200) > 0).astype("float32")
    model = binary_model(x)
    model.compile(
        "adam",
        "binary_crossentropy",
        metrics=[
            "binary_crossentropy",
            "crossentropy",
            "AUC",
            tf.keras.metrics.Precision(),
            tf.keras.metrics.Recall(thresholds=0.4),
            tf.keras.metrics.AUC(curve="PR", name="pr_auc"),
            tf.keras.metrics.FalseNegatives(),
        ],
    )
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.25)
    for key in ("binary_crossentropy", "crossentropy", "AUC", "precision", "recall"):
        assert (
            len(history.history[key]) == 2 and len(history.history[f"val_{key}"]) == 2
        )
    # binary_crossentropy as a metric is the loss (both from the fused logits).
    np.testing.assert_allclose(
        history.history["binary_crossentropy"], history.history["loss"], rtol=1e-6
    )
    result = model.evaluate(x, y, batch_size=17, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)[:, 0].astype(np.float64)
    tp, fp, tn, fn = ref.confusion(y, p, 0.5)
    assert result["precision"] == pytest.approx(tp / (tp + fp), rel=1e-6)
    assert result["false_negatives"] == fn
    tp, fp, tn, fn = ref.confusion(y, p, 0.4)
    assert result["recall"] == pytest.approx(tp / (tp + fn), rel=1e-6)
    assert result["AUC"] == pytest.approx(ref.auc(y, p), abs=1e-6)
    assert result["pr_auc"] == pytest.approx(ref.auc(y, p, curve="PR"), abs=1e-6)
    # evaluate resets the state: a second call reports the same values
    assert model.evaluate(x, y, batch_size=17, verbose=0, return_dict=True) == result


def test_top_k_metric_strings_in_fit():
    r = np.random.default_rng(11)
    x = r.normal(size=(60, 5)).astype("float32")
    labels = r.integers(0, 7, size=60)
    model = tf.keras.Sequential(
        [tf.keras.layers.Dense(7, activation="softmax", input_shape=(5,))]
    )
    model.compile(
        "sgd",
        "sparse_categorical_crossentropy",
        ["sparse_top_k_categorical_accuracy", "crossentropy", "accuracy"],
    )
    history = model.fit(x, labels, epochs=1, verbose=0)
    assert set(history.history) >= {"sparse_top_k_categorical_accuracy", "crossentropy"}
    result = model.evaluate(x, labels, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    rank = (p > p[np.arange(60), labels][:, None]).sum(axis=1)
    assert result["sparse_top_k_categorical_accuracy"] == pytest.approx(
        np.mean(rank < 5)
    )
    assert result["crossentropy"] == pytest.approx(result["loss"], rel=1e-5)
    onehot = np.eye(7)[labels].astype("float32")
    model.compile("sgd", "categorical_crossentropy", ["top_k_categorical_accuracy"])
    result = model.evaluate(x, onehot, verbose=0, return_dict=True)
    assert result["top_k_categorical_accuracy"] == pytest.approx(np.mean(rank < 5))


def test_unknown_metric_names_the_metric():
    x = np.zeros((4, 2), "float32")
    model = binary_model(x)
    # Keras fails in compile; so does tinynn (issue #20), naming the metric
    with pytest.raises(ValueError, match="unknown metric 'f1_scorex'"):
        model.compile("adam", "binary_crossentropy", ["f1_scorex"])


# ---- Huber -------------------------------------------------------------------------


def test_huber_loss_object_and_function():
    r = np.random.default_rng(12)
    y, p = r.normal(size=(6, 3)), r.normal(size=(6, 3)) * 2
    for delta in (1.0, 0.5):
        loss = tf.keras.losses.Huber(delta=delta)
        want, want_grad = ref.huber(p, y, delta)
        assert loss(y, p).numpy() == pytest.approx(want, rel=1e-12)
        value, grad = loss.value_and_grad(y, p)
        assert value == pytest.approx(want, rel=1e-12)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-12)
    assert float(tf.keras.losses.huber(y, p)) == pytest.approx(ref.huber(p, y)[0])
    assert tf.keras.losses.Huber().name == "huber_loss"
    with pytest.raises(ValueError, match="Huber: delta"):
        tf.keras.losses.Huber(delta=0)


def test_huber_string_trains_and_saves(tmp_path):
    r = np.random.default_rng(13)
    x = r.normal(size=(128, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 3
    model = binary_model(x)
    model.pop()
    model.add(tf.keras.layers.Dense(1))
    model.compile(tf.keras.optimizers.Adam(0.05), loss="huber", metrics=["mae"])
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    model.compile("adam", tf.keras.losses.Huber(delta=2.5))
    path = tmp_path / "h.h5"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert isinstance(loaded.loss, tf.keras.losses.Huber) and loaded.loss.delta == 2.5


def test_huber_kernel_is_the_one_used():
    pred = np.array([[0.0, 3.0]], "float32")
    target = np.zeros_like(pred)
    d = np.empty_like(pred)
    assert _core.huber(pred, target, d, 1.0) == pytest.approx((0 + 2.5) / 2)
    np.testing.assert_allclose(d, [[0.0, 0.5]])


def test_mean_metric_objects_are_stateful():
    y = np.array([[1.0], [2.0], [4.0]])
    p = np.array([[1.5], [2.0], [1.0]])
    m = tf.keras.metrics.MeanAbsoluteError()
    m.update_state(y[:2], p[:2])
    m.update_state(y[2:], p[2:])
    assert m.result().numpy() == pytest.approx((0.5 + 0 + 3) / 3)
    m.reset_state()
    m.update_state(y, p, sample_weight=[1, 1, 2])
    assert m.result().numpy() == pytest.approx((0.5 + 0 + 6) / 4)
    assert tf.keras.metrics.MeanSquaredError()(y, p).numpy() == pytest.approx(
        (0.25 + 0 + 9) / 3
    )
    acc = tf.keras.metrics.SparseCategoricalAccuracy()
    assert acc([0, 1], [[0.9, 0.1], [0.8, 0.2]]).numpy() == pytest.approx(0.5)
    assert acc([1], [[0.1, 0.9]]).numpy() == pytest.approx(2 / 3)
    ce = tf.keras.metrics.CategoricalCrossentropy()
    want = -np.log(0.7)
    assert ce([[0, 1, 0]], [[0.2, 0.7, 0.1]]).numpy() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(
    "name,want",
    [
        # y = [[1, 0]], p = [[0.5, 0.25]], worked by hand from Keras's formulas
        ("mape", 100 * (0.5 / 1 + 0.25 / 1e-7) / 2),
        ("msle", ((np.log(1.5) - np.log(2)) ** 2 + np.log(1.25) ** 2) / 2),
        ("kld", np.log(1 / 0.5) + 1e-7 * np.log(1e-7 / 0.25)),
        ("hinge", ((1 - 0.5) + (1 + 0.25)) / 2),
        ("squared_hinge", (0.5**2 + 1.25**2) / 2),
        ("poisson", ((0.5 - np.log(0.5 + 1e-7)) + 0.25) / 2),
        ("logcosh", (np.log(np.cosh(0.5)) + np.log(np.cosh(0.25))) / 2),
        ("cosine_similarity", 0.5 / np.hypot(0.5, 0.25)),
    ],
)
def test_other_keras_metric_strings(name, want):
    metric = tf.metrics.get(name, False, 2)
    metric.update_state([[1.0, 0.0]], [[0.5, 0.25]])
    assert metric.result().numpy() == pytest.approx(want, rel=1e-6)
    assert metric.name == name


def test_other_metric_strings_work_in_fit():
    r = np.random.default_rng(14)
    x = r.random(size=(40, 3)).astype("float32")
    y = x[:, :2] + 0.1
    model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
    names = ["mape", "msle", "kld", "hinge", "squared_hinge", "poisson", "logcosh"]
    model.compile("adam", "mse", names + ["cosine_similarity"])
    history = model.fit(x, y, epochs=1, verbose=0)
    assert set(names) <= set(history.history)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0).astype(np.float64)
    cos = (y * p).sum(1) / (np.linalg.norm(y, axis=1) * np.linalg.norm(p, axis=1))
    assert result["cosine_similarity"] == pytest.approx(cos.mean(), rel=1e-5)


@pytest.mark.parametrize("filename", ["layers.h5", "layers.tnn"])
def test_weightless_layers_round_trip_through_files(tmp_path, filename):
    r = np.random.default_rng(15)
    x = r.normal(size=(20, 6)).astype("float32")
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(8, input_shape=(6,)),
            tf.keras.layers.ReLU(max_value=1.5, negative_slope=0.05, threshold=0.1),
            tf.keras.layers.Dense(8),
            tf.keras.layers.LeakyReLU(alpha=0.2),
            tf.keras.layers.Dense(8),
            tf.keras.layers.ELU(alpha=0.7),
            tf.keras.layers.Rescaling(2.0, offset=-0.5),
            tf.keras.layers.Reshape((2, -1)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(1, activation="gelu"),
        ]
    )
    model.compile("adam", "huber")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    path = tmp_path / filename
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    assert loaded.layers[1].get_config() == model.layers[1].get_config()
    assert loaded.layers[3].alpha == 0.2 and loaded.layers[5].alpha == 0.7
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


def test_accumulating_metrics_are_right_under_concurrent_evaluate():
    import threading

    r = np.random.default_rng(16)
    x = r.normal(size=(300, 4)).astype("float32")
    y = (x[:, 1] > 0).astype("float32")
    model = binary_model(x)
    model.compile("adam", "binary_crossentropy", [tf.keras.metrics.AUC()])
    want = model.evaluate(x, y, batch_size=8, verbose=0)
    got = []

    def run():
        for _ in range(3):
            got.append(model.evaluate(x, y, batch_size=8, verbose=0))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 9


def test_binary_accuracy_counts_every_element_of_1d_predictions():
    # Keras (2 and 3) counts each element of a 1-d batch as a sample, so unequal
    # batches give the accuracy over all samples, not the mean of batch means.
    rng = np.random.default_rng(2)
    y = (rng.random(70) < 0.5).astype(np.float64)
    p = rng.random(70)
    metric = tf.metrics.BinaryAccuracy()
    for lo, hi in ((0, 64), (64, 70)):
        metric.update_state(y[lo:hi], p[lo:hi])
    assert float(metric.result()) == pytest.approx(np.mean((p > 0.5) == y), rel=1e-6)
