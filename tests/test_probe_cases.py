"""Issue #20 (second probe): the eight silent wrong results, each pinned by a
test that failed on the code before its fix."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from tinynn import layers, losses, metrics, optimizers
from tinynn.models import Sequential


def _binary_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.float32)
    return x, y


# ---- 1. model.trainable on a Sequential ------------------------------------
def test_frozen_base_model_is_not_trained_in_outer_model():
    tf.keras.utils.set_random_seed(1)
    base = Sequential([layers.Dense(4, activation="relu", input_shape=(3,))])
    base.trainable = False
    assert base.trainable is False
    assert base.trainable_weights == []
    before = base.get_weights()
    outer = Sequential([base, layers.Dense(1, activation="sigmoid")])
    assert len(outer.trainable_weights) == 2  # the head's kernel and bias
    assert len(outer.non_trainable_weights) == 2
    lines = []
    outer.summary(print_fn=lines.append)
    assert "Trainable params: 5" in "\n".join(lines)
    outer.compile("sgd", "binary_crossentropy")
    x, y = _binary_data()
    outer.fit(x, y, epochs=2, verbose=0)
    for old, new in zip(before, base.get_weights()):
        np.testing.assert_array_equal(old, new)
    base.trainable = True
    assert len(outer.trainable_weights) == 4


def test_frozen_outer_model_trains_nothing():
    model = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    model.trainable = False
    model.compile("sgd", "mse")
    x, y = _binary_data()
    before = model.get_weights()
    model.fit(x, y, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert model.trainable_weights == []


# ---- 2. metrics see the user's labels ----------------------------------------
@pytest.mark.parametrize("loss_class", ["binary", "categorical"])
def test_label_smoothing_does_not_reach_metrics(loss_class):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    if loss_class == "binary":
        y = (rng.random(60) > 0.5).astype(np.float32)
        head = layers.Dense(1, activation="sigmoid")
        smoothed = losses.BinaryCrossentropy(label_smoothing=0.2)
        plain = losses.BinaryCrossentropy()
        metric_list = [metrics.Precision(), metrics.AUC(), "mse", "accuracy"]
    else:
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 60)]
        head = layers.Dense(3, activation="softmax")
        smoothed = losses.CategoricalCrossentropy(label_smoothing=0.2)
        plain = losses.CategoricalCrossentropy()
        metric_list = [metrics.Precision(), "mse", "accuracy"]
    model = Sequential([layers.Dense(3, input_shape=(4,)), head])
    model.compile("sgd", smoothed, metrics=metric_list)
    with_smoothing = model.evaluate(x, y, verbose=0)
    model.compile("sgd", plain, metrics=metric_list)
    without = model.evaluate(x, y, verbose=0)
    # the loss differs, every metric is the same
    assert with_smoothing[0] != pytest.approx(without[0])
    np.testing.assert_allclose(with_smoothing[1:], without[1:], rtol=1e-6)


def test_label_smoothing_still_smooths_the_loss():
    y = np.array([[1.0], [0.0]], np.float32)
    p = np.array([[0.9], [0.2]], np.float32)
    value = float(losses.BinaryCrossentropy(label_smoothing=0.2)(y, p))
    t = y * 0.8 + 0.1
    q = np.clip(p, 1e-7, 1 - 1e-7)
    expected = np.mean(-(t * np.log(q + 1e-7) + (1 - t) * np.log(1 - q + 1e-7)))
    assert value == pytest.approx(expected, rel=1e-5)


# ---- 3. unique metric names ---------------------------------------------------
def test_two_metrics_with_one_default_name_stay_apart():
    x, y = _binary_data()
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(
        "sgd",
        "binary_crossentropy",
        metrics=[metrics.Precision(0.3), metrics.Precision(0.7), "accuracy"],
    )
    assert model.metrics_names == ["loss", "precision", "precision_1", "accuracy"]
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert set(history.history) == {
        "loss",
        "precision",
        "precision_1",
        "accuracy",
        "val_loss",
        "val_precision",
        "val_precision_1",
        "val_accuracy",
    }
    values = model.evaluate(x, y, verbose=0)
    assert len(values) == len(model.metrics_names)
    low = metrics.Precision(0.3)
    high = metrics.Precision(0.7)
    p = model.predict(x, verbose=0)
    assert values[1] == pytest.approx(float(low(y[:, None], p)), rel=1e-6)
    assert values[2] == pytest.approx(float(high(y[:, None], p)), rel=1e-6)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == model.metrics_names


def test_misspelled_metric_fails_in_compile():
    model = Sequential([layers.Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match="accurcy"):
        model.compile("sgd", "mse", metrics=["accurcy"])
    with pytest.raises(ValueError, match="weighted_metrics|accurcy"):
        model.compile("sgd", "mse", weighted_metrics=["accurcy"])


# ---- 4. one optimizer, one model --------------------------------------------------
def test_one_optimizer_refuses_a_second_model():
    optimizer = optimizers.SGD(momentum=0.9)
    first = Sequential([layers.Dense(1, input_shape=(3,))])
    second = Sequential([layers.Dense(1, input_shape=(3,))])
    first.compile(optimizer, "mse")
    with pytest.raises(ValueError, match="already .*model"):
        second.compile(optimizer, "mse")
    first.compile(optimizer, "mse")  # the same model again is fine
    # once the first model uses another optimizer, this one is free
    first.compile(optimizers.SGD(), "mse")
    second.compile(optimizer, "mse")


# ---- 7. class_weight and validation_split ------------------------------------------
def _val_loss(model, x, y, weights):
    p = model.predict(x, verbose=0).astype(np.float64)[:, 0]
    q = np.clip(p, 1e-7, 1 - 1e-7)
    per = -(y * np.log(q + 1e-7) + (1 - y) * np.log(1 - q + 1e-7))
    return float(np.mean(per * weights))


def test_class_weight_is_not_applied_to_validation_split():
    x, y = _binary_data(50)
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizers.SGD(0.0), "binary_crossentropy")
    history = model.fit(
        x, y, epochs=1, verbose=0, validation_split=0.2, class_weight={0: 1.0, 1: 9.0}
    )
    xv, yv = x[40:], y[40:]
    assert history.history["val_loss"][0] == pytest.approx(
        _val_loss(model, xv, yv, np.ones(10)), rel=1e-5
    )


def test_sample_weight_is_split_with_the_samples():
    x, y = _binary_data(50)
    w = np.linspace(0.5, 3.0, 50)
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizers.SGD(0.0), "binary_crossentropy")
    history = model.fit(
        x,
        y,
        epochs=1,
        verbose=0,
        validation_split=0.2,
        sample_weight=w,
        class_weight={0: 1.0, 1: 9.0},
    )
    assert history.history["val_loss"][0] == pytest.approx(
        _val_loss(model, x[40:], y[40:], w[40:]), rel=1e-5
    )


# ---- 8. AUC and confusion metrics outside [0, 1] ----------------------------------------
@pytest.mark.parametrize(
    "metric", [metrics.AUC, metrics.Precision, metrics.Recall, metrics.TruePositives]
)
def test_confusion_metrics_reject_scores_outside_unit_interval(metric):
    y = np.array([0.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="predictions must be <= 1"):
        metric()(y, np.array([0.0, 0.5, 1.0, 3.0]))
    with pytest.raises(ValueError, match="predictions must be >= 0"):
        metric()(y, np.array([-0.5, 0.1, 0.2, 0.3]))


def test_auc_in_fit_on_a_linear_output_raises():
    x, y = _binary_data()
    model = Sequential([layers.Dense(1, input_shape=(3,))])
    model.layers[0].set_weights([np.array([[5.0], [0.0], [0.0]]), np.zeros(1)])
    model.compile("sgd", "mse", metrics=[metrics.AUC()])
    with pytest.raises(ValueError, match="predictions must be"):
        model.evaluate(x, y, verbose=0)


def test_auc_from_logits_accepts_logits():
    y = np.array([0.0, 0.0, 1.0, 1.0])
    value = metrics.AUC(from_logits=True)(y, np.array([-3.0, -1.0, 1.0, 3.0]))
    assert float(value) == pytest.approx(1.0)


# ---- 6. every metric and loss object round-trips its config through every format ----
FORMATS = ["model.keras", "model.h5", "model.tinynn"]


def _all_metrics():
    """One object of each metric class, with arguments off their defaults."""
    return [
        metrics.AUC(curve="PR", num_thresholds=50, name="pr_auc"),
        metrics.AUC(summation_method="minoring", from_logits=False),
        metrics.Precision(0.3, name="prec"),
        metrics.Precision(thresholds=[0.2, 0.7]),
        metrics.Recall(0.6),
        metrics.TruePositives(0.4),
        metrics.FalsePositives(),
        metrics.TrueNegatives(),
        metrics.FalseNegatives(0.8),
        metrics.BinaryAccuracy(threshold=0.3, name="acc3"),
        metrics.BinaryCrossentropy(label_smoothing=0.1),
        metrics.MeanSquaredError(name="m_s_e"),
        metrics.MeanAbsoluteError(),
        metrics.MeanAbsolutePercentageError(),
        metrics.MeanSquaredLogarithmicError(),
        metrics.Hinge(),
        metrics.SquaredHinge(),
        metrics.Poisson(),
        metrics.LogCoshError(),
        metrics.CosineSimilarity(),
        metrics.KLDivergence(),
    ]


@pytest.mark.parametrize("filename", FORMATS)
def test_every_metric_round_trips_its_config(tmp_path, filename):
    x, y = _binary_data()
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    compiled = _all_metrics()
    model.compile(
        "adam", losses.BinaryCrossentropy(label_smoothing=0.15), metrics=compiled
    )
    expected = model.evaluate(x, y, verbose=0)
    model.save(tmp_path / filename)
    loaded = tf.keras.models.load_model(tmp_path / filename)
    assert loaded.metrics_names == model.metrics_names
    for before, after in zip(compiled, loaded.compiled_metrics):
        assert type(after) is type(before)
        assert after.get_config() == before.get_config()
    assert loaded.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), expected, rtol=1e-6)


@pytest.mark.parametrize("filename", FORMATS)
def test_pr_auc_stays_pr_after_reload(tmp_path, filename):
    x, y = _binary_data()
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile("sgd", "binary_crossentropy", metrics=[metrics.AUC(curve="PR")])
    pr = model.evaluate(x, y, verbose=0)[1]
    model.save(tmp_path / filename)
    loaded = tf.keras.models.load_model(tmp_path / filename)
    assert loaded.evaluate(x, y, verbose=0)[1] == pytest.approx(pr, rel=1e-6)


@pytest.mark.parametrize(
    "loss",
    [
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2, name="b"),
        losses.MeanSquaredError(name="sq"),
        losses.MeanAbsoluteError(),
        losses.Huber(delta=0.4),
    ],
)
@pytest.mark.parametrize("filename", FORMATS)
def test_every_loss_round_trips_its_config(tmp_path, filename, loss):
    model = Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile("sgd", loss)
    model.save(tmp_path / filename)
    loaded = tf.keras.models.load_model(tmp_path / filename)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()


@pytest.mark.parametrize(
    "loss",
    [
        losses.CategoricalCrossentropy(label_smoothing=0.3, name="cce"),
        losses.SparseCategoricalCrossentropy(from_logits=True),
    ],
)
@pytest.mark.parametrize("filename", FORMATS)
def test_categorical_losses_round_trip(tmp_path, filename, loss):
    model = Sequential([layers.Dense(3, input_shape=(3,))])
    model.compile("sgd", loss, metrics=[metrics.TopKCategoricalAccuracy(k=2)])
    model.save(tmp_path / filename)
    loaded = tf.keras.models.load_model(tmp_path / filename)
    assert loaded.loss.get_config() == loss.get_config()
    assert loaded.compiled_metrics[0].get_config()["k"] == 2


# ---- helpful AttributeErrors for what old articles call -------------------------------
@pytest.mark.parametrize(
    "reach, hint",
    [
        (lambda: tf.config, "set_num_threads"),
        (lambda: tf.keras.callbacks.TensorBoard, "CSVLogger"),
        (lambda: tf.keras.optimizers.legacy, "Adam"),
        (lambda: tf.keras.utils.plot_model, "summary()"),
        (lambda: Sequential().predict_classes, "np.argmax(model.predict(x)"),
        (lambda: Sequential().predict_proba, "model.predict(x)"),
        (lambda: Sequential().fit_generator, "model.fit"),
    ],
)
def test_removed_and_missing_names_explain_themselves(reach, hint):
    with pytest.raises(AttributeError) as info:
        reach()
    assert hint in str(info.value)
    assert "not available in tinynn" in str(info.value) or "removed" in str(info.value)


def test_other_missing_attributes_stay_plain():
    with pytest.raises(AttributeError, match="has no attribute 'nothing'$"):
        _ = Sequential().nothing
    assert not hasattr(Sequential(), "predict_classes")


# ---- optimizer moments parked for a frozen layer are saved --------------------------
def _freeze_run(tmp_path, filename):
    """train both layers, freeze the first, train, [save + load], unfreeze,
    train: the final weights."""
    tf.keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    model = Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizers.Adam(0.01), "mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    model.layers[0].trainable = False
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    if filename is not None:
        model.save(tmp_path / filename)
        model = tf.keras.models.load_model(tmp_path / filename)
    model.layers[0].trainable = True
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    return model.get_weights()


@pytest.mark.parametrize("filename", ["m.tinynn", "m.keras", "m.h5"])
def test_parked_moments_of_a_frozen_layer_survive_saving(tmp_path, filename):
    expected = _freeze_run(tmp_path, None)
    for a, b in zip(expected, _freeze_run(tmp_path, filename)):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


# ---- the low-level backward says what is missing --------------------------------------
def test_backward_before_forward_says_so():
    layer = layers.Dense(2, input_shape=(3,))
    layer.build((None, 3))
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.ones((1, 2)))


def test_backward_names_what_forward_did_not_record():
    class Forgetful(layers.Layer):
        def _forward(self, x, training, out, ctx):
            return x * 2.0  # records nothing on ctx

        def _backward(self, dy, dx, ctx, accumulate=False):
            return dy * 2.0

    layer = Forgetful()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(RuntimeError) as info:
        layer.backward(np.ones((2, 3)))
    message = str(info.value)
    assert "forward ran" in message and "ctx.input and ctx.output" in message
    assert "call forward before backward" not in message
