"""Pooling, padding, upsampling, SpatialDropout2D's shape and Embedding
against real Keras 3 in float64: each layer's forward and input gradient at
1e-9 on several geometries (ties included), one SGD step through each layer,
two epochs of an Embedding text model (every History series, the final
weights), and Embedding under Adam with ids repeated in a batch, where
TensorFlow's sparse update differs from the dense-gradient rule tinynn
follows (docs/embedding.md). Files tinynn writes open in real Keras.

Optional oracle, skipped without TensorFlow (CI runs it in its Keras venv;
TINYNN_REQUIRE_KERAS makes a missing TensorFlow fail)."""

from __future__ import annotations


import numpy as np
import pytest
from keras_oracle import float64, tensorflow_or_skip

import tinynn

tf = tensorflow_or_skip("pooling")
keras = tf.keras

TOL = 1e-9
# Keras turns Python hyperparameters into float32 tensors first (0.9 enters as
# 0.89999998, see tests/test_keras_oracle_optim.py): values float32 holds
# exactly keep the comparison at 1e-9.
ADAM = (
    "Adam",
    {"learning_rate": 0.0625, "beta_1": 0.875, "beta_2": 1 - 2**-10, "epsilon": 2**-20},
)


@pytest.fixture(autouse=True)
def float64_everywhere():
    with float64(keras):
        yield


CASES = [
    ("MaxPooling2D", {}, (2, 7, 5, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 6, 3)),
    (
        "MaxPooling2D",
        {"pool_size": (2, 3), "strides": (3, 1), "padding": "SAME"},
        (1, 8, 7, 2),
    ),
    ("MaxPooling2D", {"pool_size": 5, "padding": "same"}, (2, 3, 3, 1)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 8, 3)),
    ("MaxPooling1D", {"pool_size": 4, "strides": 3}, (3, 13, 2)),
    ("AveragePooling2D", {"pool_size": 2}, (2, 7, 5, 3)),
    (
        "AveragePooling2D",
        {"pool_size": (3, 2), "strides": (2, 3), "padding": "same"},
        (2, 7, 8, 3),
    ),
    (
        "AveragePooling2D",
        {"pool_size": 4, "strides": 3, "padding": "same"},
        (1, 9, 9, 2),
    ),
    ("AveragePooling1D", {"pool_size": 4, "strides": 3, "padding": "same"}, (2, 11, 3)),
    ("AveragePooling1D", {"pool_size": 2}, (2, 9, 3)),
    ("GlobalMaxPooling2D", {}, (2, 4, 5, 3)),
    ("GlobalMaxPooling2D", {"keepdims": True}, (2, 4, 5, 3)),
    ("GlobalMaxPooling1D", {}, (3, 6, 2)),
    ("GlobalAveragePooling2D", {}, (2, 4, 5, 3)),
    ("GlobalAveragePooling1D", {"keepdims": True}, (2, 9, 3)),
    ("ZeroPadding2D", {"padding": ((1, 2), (3, 0))}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2)),
    ("Cropping2D", {"cropping": ((1, 0), (0, 2))}, (2, 4, 5, 2)),
    ("Cropping2D", {"cropping": 1}, (2, 4, 5, 2)),
    ("UpSampling2D", {"size": (2, 3)}, (2, 3, 4, 2)),
    ("UpSampling2D", {}, (1, 2, 5, 3)),
]


def keras_args(kwargs):
    """Keras 3's compute_output_shape rejects padding="SAME" (its call and
    tinynn lower-case it): give Keras the lower-case form."""
    if isinstance(kwargs.get("padding"), str):
        return {**kwargs, "padding": kwargs["padding"].lower()}
    return kwargs


def case_id(case):
    return f"{case[0]}-{case[1]}-{'x'.join(map(str, case[2]))}"


def inputs(shape, seed):
    """Plain normals, ReLU'd ones (whole windows of zero ties) and rounded
    ones (ties between equal values)."""
    x = np.random.default_rng(seed).normal(size=shape)
    return [x, np.maximum(x - 0.5, 0), np.round(x)]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_forward_and_input_gradient_match_keras(case):
    name, kwargs, shape = case
    for k, x in enumerate(inputs(shape, len(case_id(case)))):
        theirs = getattr(keras.layers, name)(dtype="float64", **keras_args(kwargs))
        ours = getattr(tinynn.keras.layers, name)(dtype="float64", **kwargs)
        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            y = theirs(variable)
            r = tf.constant(np.random.default_rng(k).normal(size=y.shape))
            loss = tf.reduce_sum(y * r)
        want_dx = tape.gradient(loss, variable).numpy()
        got = ours.forward(x, training=True)
        np.testing.assert_allclose(got, y.numpy(), rtol=TOL, atol=TOL)
        np.testing.assert_allclose(
            ours.backward(r.numpy()), want_dx, rtol=TOL, atol=TOL
        )
        assert theirs.compute_output_shape(shape) == (shape[0], *ours.output_shape[1:])


def chain(lib, name, kwargs, shape):
    """Dense on the input's channels (so the layer's backward is needed), the
    layer, Flatten, softmax."""
    layers = lib.layers
    body = [
        layers.Dense(3, activation="tanh"),
        getattr(layers, name)(**keras_args(kwargs)),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ]
    return lib.Sequential([layers.Input(shape[1:]), *body])


@pytest.mark.parametrize(
    "case",
    CASES[::2] + [("SpatialDropout2D", {"rate": 0.5}, (2, 3, 4, 2))],
    ids=case_id,
)
def test_one_sgd_step_through_the_layer_matches_keras(case):
    name, kwargs, shape = case
    ours = chain(tinynn.keras, name, kwargs, shape)
    theirs = chain(keras, name, kwargs, shape)
    r = np.random.default_rng(3)
    weights = [r.normal(scale=0.7, size=w.shape) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x, y = np.maximum(r.normal(size=shape), 0), r.integers(0, 2, shape[0])
    ours.compile(tinynn.keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    theirs.compile(keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    # SpatialDropout2D is the identity outside training: compare predictions.
    if name == "SpatialDropout2D":
        np.testing.assert_allclose(
            ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=TOL
        )
        return
    loss_ours = ours.train_on_batch(x, y)
    loss_theirs = theirs.train_on_batch(x, y)
    assert loss_ours == pytest.approx(float(loss_theirs), rel=TOL)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


# ---- Embedding -------------------------------------------------------------------------
def text_model(lib, length=7):
    layers = lib.layers
    body = [
        layers.Embedding(30, 4),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, activation="softmax"),
    ]
    if lib is keras:
        return keras.Sequential([layers.Input((length,), dtype="int32"), *body])
    model = lib.Sequential(body)
    model.build((None, length))
    return model


def text_pair(optimizer, length=7):
    ours, theirs = text_model(tinynn.keras, length), text_model(keras, length)
    r = np.random.default_rng(0)
    weights = [r.normal(scale=0.3, size=w.shape) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    name, kwargs = optimizer
    ours.compile(
        getattr(tinynn.keras.optimizers, name)(**kwargs),
        "sparse_categorical_crossentropy",
        ["accuracy"],
    )
    theirs.compile(
        getattr(keras.optimizers, name)(**kwargs),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return ours, theirs


def text_data(n, length=7, distinct=False, seed=1):
    r = np.random.default_rng(seed)
    if distinct:  # no id twice in one sample
        x = np.stack([r.permutation(30)[:length] for _ in range(n)])
    else:
        x = r.integers(0, 30, size=(n, length))
    return x.astype(np.int32), r.integers(0, 3, n)


@pytest.mark.parametrize(
    "optimizer",
    [
        ("SGD", {"learning_rate": 0.25}),
        ("SGD", {"learning_rate": 0.125, "momentum": 0.875}),
    ],
    ids=["sgd", "momentum"],
)
def test_two_epochs_of_an_embedding_text_model_match_keras(optimizer):
    ours, theirs = text_pair(optimizer)
    x, y = text_data(40)
    xv, yv = text_data(12, seed=2)
    fit = dict(
        epochs=2, batch_size=8, shuffle=False, validation_data=(xv, yv), verbose=0
    )
    history_ours = ours.fit(x, y, **fit).history
    history_theirs = theirs.fit(x, y, **fit).history
    assert sorted(history_ours) == sorted(history_theirs)
    for key, values in history_theirs.items():
        np.testing.assert_allclose(
            history_ours[key], values, rtol=TOL, atol=TOL, err_msg=key
        )
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def test_adam_matches_keras_when_no_id_repeats_in_a_batch():
    ours, theirs = text_pair(ADAM)
    x, y = text_data(10, distinct=True)
    fit = dict(epochs=2, batch_size=1, shuffle=False, verbose=0)
    history_ours = ours.fit(x, y, **fit).history
    history_theirs = theirs.fit(x, y, **fit).history
    np.testing.assert_allclose(history_ours["loss"], history_theirs["loss"], rtol=TOL)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def keras_steps(model, batches, densify):
    """Adam steps in Keras by hand: the gradient of the table is TensorFlow's
    IndexedSlices (one row per id occurrence), or that converted to a dense
    tensor (repeated ids summed) when `densify`. Returns the slices of the
    first step."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    first = None
    for x, y in batches:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        if first is None:
            first = grads[0]
        if densify:
            grads = [tf.convert_to_tensor(g) for g in grads]
        model.optimizer.apply(grads, model.trainable_variables)
    return first


def test_embedding_under_adam_with_repeated_ids():
    """TensorFlow's Adam squares each occurrence's gradient row separately
    (square of an IndexedSlices, then densified: v gets the SUM OF SQUARES
    over the occurrences of an id); tinynn squares the summed gradient (the
    dense rule, Adam on the true gradient). First moments, SGD and ids that
    occur once agree."""
    x, y = text_data(16, length=5)
    x[:, 1] = x[:, 0]  # every sample holds one id twice
    batches = [(x[:8], y[:8]), (x[8:], y[8:])]
    adam = ADAM
    ours, sparse = text_pair(adam, length=5)
    _, dense = text_pair(adam, length=5)
    for model in (sparse, dense):
        model.optimizer.build(model.trainable_variables)
    start = [w.copy() for w in ours.get_weights()]
    slices = keras_steps(sparse, batches, densify=False)
    keras_steps(dense, batches, densify=True)
    for xb, yb in batches:
        ours.train_on_batch(xb, yb)
    # tinynn = Keras fed dense gradients, to 1e-9, every weight.
    for a, b in zip(ours.get_weights(), dense.get_weights()):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)
    # Keras's own (sparse) update differs on the table only.
    table_gap = np.abs(ours.get_weights()[0] - sparse.get_weights()[0]).max()
    assert table_gap > 1e-4
    # ... by exactly the sum-of-squares rule: one step of it from the start
    # reproduces Keras's first sparse step.
    _, replay = text_pair(adam, length=5)
    replay.optimizer.build(replay.trainable_variables)
    keras_steps(replay, batches[:1], densify=False)
    values, ids = slices.values.numpy(), slices.indices.numpy()
    g = np.zeros_like(start[0])
    squares = np.zeros_like(start[0])
    np.add.at(g, ids, values)
    np.add.at(squares, ids, values**2)
    assert np.abs(squares - g**2).max() > 1e-8  # the repeats matter
    lr, beta_1, beta_2, eps = ADAM[1].values()
    m = (1 - beta_1) * g
    v = (1 - beta_2) * squares
    alpha = lr * np.sqrt(1 - beta_2) / (1 - beta_1)
    want = start[0] - alpha * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(replay.get_weights()[0], want, rtol=1e-12, atol=1e-14)


# ---- files ------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_files_tinynn_writes_open_in_keras(tmp_path, suffix):
    tinynn.set_floatx("float32")
    keras.config.set_floatx("float32")
    layers = tinynn.keras.layers
    tinynn.set_seed(0)
    image = tinynn.keras.Sequential(
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
    text = tinynn.keras.Sequential(
        [
            layers.Embedding(30, 4, input_length=7),
            layers.MaxPooling1D(2, padding="same"),
            layers.AveragePooling1D(2),
            layers.GlobalAveragePooling1D(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    r = np.random.default_rng(0)
    for model, x in (
        (image, r.normal(size=(5, 9, 8, 3)).astype(np.float32)),
        (text, r.integers(0, 30, size=(5, 7))),
    ):
        path = tmp_path / f"{model.name}{suffix}"
        model.save(path)
        loaded = keras.models.load_model(path, compile=False)
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0),
            model.predict(x, verbose=0),
            rtol=1e-6,
            atol=1e-7,
        )
