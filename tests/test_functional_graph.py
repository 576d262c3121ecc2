"""Functional models: graphs built from keras.Input, run by the executor.

Gradients of whole graphs are checked against float64 central differences
of the total loss (fan-out into Add, a Dense shared at two depths, a
three-input Concatenate, two outputs with loss weights, every merge layer),
driving the executor's Plan directly; a functional MLP trains bit for bit
like the same Sequential; shapes, names and errors follow Keras.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from tinynn.keras import layers

keras = tf.keras


@pytest.fixture
def float64():
    tf.backend.set_floatx("float64")
    yield
    tf.backend.set_floatx("float32")


def total_loss(model, xs, targets, loss_weights, backward=False):
    """sum_k w_k * 0.5 * sum((out_k - t_k)^2) through the model's Plan; with
    `backward`, the weight gradients are left in the layers' ``_grads``."""
    n = len(xs[0])
    plan = model._make_plan(n)
    outs = plan.forward(xs, training=False)
    loss = 0.0
    for k, (out, t, w) in enumerate(zip(outs, targets, loss_weights)):
        loss += w * 0.5 * float(np.sum((out - t) ** 2))
        if backward:
            np.multiply(out - t, w, out=plan.output_gradients(n)[k])
    if backward:
        plan.backward(n)
    return loss


def check_gradients(model, xs, loss_weights=None, seed=0):
    r = np.random.default_rng(seed)
    targets = [r.normal(size=(len(xs[0]), *t.shape[1:])) for t in model.outputs]
    loss_weights = loss_weights or [1.0] * len(targets)
    total_loss(model, xs, targets, loss_weights, backward=True)
    layers_with_weights = [layer for layer in model._weight_layers if layer.weights]
    analytic = [g.copy() for layer in layers_with_weights for g in layer._grads]
    weights = [w for layer in layers_with_weights for w in layer.weights]
    assert analytic, "the model has no weights to check"
    for w, g in zip(weights, analytic):
        numeric = np.zeros_like(w)
        for index in np.ndindex(w.shape):
            keep = w[index]
            step = 1e-6 * max(1.0, abs(keep))
            w[index] = keep + step
            up = total_loss(model, xs, targets, loss_weights)
            w[index] = keep - step
            down = total_loss(model, xs, targets, loss_weights)
            w[index] = keep
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)


def data(*shapes, n=5, seed=1):
    r = np.random.default_rng(seed)
    return [r.normal(size=(n, *s)) for s in shapes]


def test_gradients_fan_out_into_add(float64):
    inputs = keras.Input(shape=(4,))
    h = layers.Dense(5, activation="tanh")(inputs)
    a = layers.Dense(3, activation="sigmoid")(h)
    b = layers.Dense(3)(h)  # h feeds two layers: its gradient is a sum
    outputs = layers.Dense(2)(layers.Add()([a, b, a]))  # a twice: a sum too
    model = keras.Model(inputs, outputs)
    check_gradients(model, data((4,)))


def test_gradients_dense_shared_at_two_depths(float64):
    inputs = keras.Input(shape=(3,))
    shared = layers.Dense(3, activation="tanh")
    x = shared(inputs)
    x = layers.Dense(3, activation="relu")(x)
    x = shared(x)  # the same weights again, deeper
    model = keras.Model(inputs, layers.Dense(2)(x))
    assert len(shared._inbound_nodes) == 2
    check_gradients(model, data((3,)))


def test_gradients_three_input_concatenate(float64):
    a, b, c = (keras.Input(shape=(s,)) for s in (2, 3, 4))
    x = layers.concatenate(
        [layers.Dense(3)(a), b, layers.Dense(2, activation="elu")(c)]
    )
    model = keras.Model([a, b, c], layers.Dense(2, activation="tanh")(x))
    check_gradients(model, data((2,), (3,), (4,)))


def test_gradients_two_outputs_with_loss_weights(float64):
    inputs = keras.Input(shape=(4,))
    h = layers.Dense(6, activation="relu")(inputs)
    main = layers.Dense(2, name="main")(h)
    aux = layers.Dense(1, activation="sigmoid", name="aux")(inputs)
    model = keras.Model(inputs, [main, aux])
    check_gradients(model, data((4,)), loss_weights=[1.0, 0.3])


@pytest.mark.parametrize(
    "merge", ["add", "subtract", "multiply", "average", "maximum", "minimum"]
)
def test_gradients_of_every_merge_layer(float64, merge):
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    x = getattr(layers, merge)(
        [layers.Dense(3)(a), layers.Dense(3, activation="tanh")(b)]
    )
    model = keras.Model([a, b], layers.Dense(2)(x))
    check_gradients(model, data((3,), (3,), seed=4))


def test_gradients_when_one_tensor_is_every_input_of_a_merge(float64):
    inputs = keras.Input(shape=(3,))
    h = layers.Dense(3, activation="tanh")(inputs)
    model = keras.Model(inputs, layers.Dense(2)(layers.Multiply()([h, h, h])))
    check_gradients(model, data((3,)))


def test_maximum_routes_ties_to_the_first_input():
    layer = layers.Maximum()
    x = np.array([[1.0, 2.0, 3.0]])
    y = np.array([[1.0, 5.0, 3.0]])
    layer.forward([x, y])
    dx, dy = layer.backward(np.ones((1, 3)))
    np.testing.assert_array_equal(dx, [[1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(dy, [[0.0, 1.0, 0.0]])


def sequential_and_functional(seed=0):
    tf.set_seed(seed)
    seq = keras.Sequential(
        [
            layers.Flatten(input_shape=(4, 3)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(5, activation="softmax"),
        ]
    )
    inputs = keras.Input(shape=(4, 3))
    x = layers.Flatten()(inputs)
    x = layers.Dense(16, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    func = keras.Model(inputs, layers.Dense(5, activation="softmax")(x))
    func.set_weights(seq.get_weights())
    return seq, func


def test_functional_mlp_trains_bit_for_bit_like_the_sequential():
    r = np.random.default_rng(0)
    x, y = r.random((70, 4, 3)).astype(np.float32), r.integers(0, 5, 70)
    seq, func = sequential_and_functional()
    results = []
    for model in (seq, func):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        tf.set_seed(7)
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        results.append(
            (model.get_weights(), history.history, model.predict(x, verbose=0))
        )
    (w1, h1, p1), (w2, h2, p2) = results
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert h1 == h2
    np.testing.assert_array_equal(p1, p2)


def test_functional_model_attributes():
    inputs = keras.Input(shape=(784,), name="pixels")
    assert inputs.shape == (None, 784) and inputs.dtype == "float32"
    x = layers.Dense(64, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(10, activation="softmax", name="digits")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert model.name == "mnist_model"
    assert [layer.name for layer in model.layers] == ["pixels", "hidden", "digits"]
    assert model.inputs == [inputs] and model.outputs == [outputs]
    assert model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert model.get_layer("hidden").output is x
    assert model.get_layer("hidden").input is inputs
    assert model.output_names == ["digits"]
    assert model.count_params() == 784 * 64 + 64 + 64 * 10 + 10
    assert isinstance(model, keras.Model)


def test_layer_order_is_kerass_depth_order():
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(2,), name="b")
    da = layers.Dense(2, name="da")(a)
    db = layers.Dense(2, name="db")(layers.Dense(2, name="pre_b")(b))
    out = layers.Dense(1, name="out")(layers.concatenate([da, db], name="cat"))
    model = keras.Model([a, b], out)
    # Keras: deepest first (b, pre_b at depth 3; a, da at 2 ...), ties in
    # the order the walk from the outputs met them.
    assert [layer.name for layer in model.layers] == [
        "b",
        "a",
        "pre_b",
        "da",
        "db",
        "cat",
        "out",
    ]


def test_model_of_activations_of_a_built_sequential():
    model = keras.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(4,)),
            layers.Dense(6, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers])
    x = np.random.default_rng(0).random((5, 4)).astype(np.float32)
    plan = probe._make_plan(5)
    outs = plan.forward([x], training=False)
    assert [o.shape for o in outs] == [(5, 8), (5, 6), (5, 3)]
    np.testing.assert_array_equal(outs[-1], model.predict(x, verbose=0))


def test_errors_name_what_is_wrong():
    inputs = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match="tensor from keras.Input"):
        keras.Model(inputs, np.zeros(3))
    other = keras.Input(shape=(3,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(inputs, layers.Dense(2)(other))
    with pytest.raises(ValueError, match="incompatible"):
        dense = layers.Dense(2)
        dense(inputs)
        dense(keras.Input(shape=(5,)))
    with pytest.raises(TypeError, match="no values"):
        if layers.Dense(2)(inputs) > 0:
            pass
    with pytest.raises(ValueError, match="expects 1 input"):
        layers.Dense(2)([inputs, other])
    with pytest.raises(ValueError, match="same shape"):
        layers.Add()([inputs, keras.Input(shape=(4,))])


def test_arithmetic_on_symbolic_tensors_makes_merge_layers():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    model = keras.Model([a, b], [a + b, a - b, a * b])
    kinds = [type(layer).__name__ for layer in model.layers[2:]]
    assert kinds == ["Add", "Subtract", "Multiply"]


def ticket_like_model():
    """Two inputs, a shared layer, fan-out, two outputs (Chollet's shape)."""
    title = keras.Input(shape=(4,), name="title")
    body = keras.Input(shape=(3,), name="body")
    shared = layers.Dense(5, activation="tanh", name="shared")
    x = layers.concatenate(
        [shared(layers.Dense(4, name="pre")(title)), layers.Dense(5, name="db")(body)],
        name="cat",
    )
    y = shared(layers.Dense(4, name="q")(x))
    priority = layers.Dense(1, activation="sigmoid", name="priority")(y)
    department = layers.Dense(3, activation="softmax", name="department")(x)
    return keras.Model([title, body], [priority, department], name="ticket")


@pytest.mark.parametrize("suffix", [".tnn", ".h5", ".keras", ".json"])
def test_graph_models_round_trip_in_every_format(tmp_path, suffix):
    model = ticket_like_model()
    r = np.random.default_rng(0)
    xs = [r.random((3, 4)).astype(np.float32), r.random((3, 3)).astype(np.float32)]
    want = [a.copy() for a in model._make_plan(3).forward(xs, False)]
    if suffix == ".json":
        loaded = keras.models.model_from_json(model.to_json())
        loaded.set_weights(model.get_weights())
    else:
        model.save(tmp_path / f"m{suffix}")
        loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    assert type(loaded).__name__ == "Functional"
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers
    ]
    assert loaded.output_names == ["priority", "department"]
    shared = loaded.get_layer("shared")
    assert len(shared._inbound_nodes) == 2  # still one layer called twice
    got = loaded._make_plan(3).forward(xs, False)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_functional_config_is_kerass_layout():
    config = ticket_like_model().get_config()
    entries = {entry["name"]: entry for entry in config["layers"]}
    assert entries["title"]["inbound_nodes"] == []
    assert entries["shared"]["inbound_nodes"] == [
        [["pre", 0, 0, {}]],
        [["q", 0, 0, {}]],
    ]
    assert entries["priority"]["inbound_nodes"] == [[["shared", 1, 0, {}]]]
    assert entries["cat"]["inbound_nodes"] == [[["shared", 0, 0, {}], ["db", 0, 0, {}]]]
    assert config["input_layers"] == [["title", 0, 0], ["body", 0, 0]]
    assert config["output_layers"] == [["priority", 0, 0], ["department", 0, 0]]


def test_graph_summary_has_kerass_connected_to_column():
    lines = []
    ticket_like_model().summary(print_fn=lines.append)
    assert len(lines[1]) == 98
    header = lines[2]
    assert header.index("Output Shape") == 32 and header.index("Connected to") == 65
    shared_row = next(
        i for i, line in enumerate(lines) if line.startswith("shared (Dense)")
    )
    assert lines[shared_row][65:].strip() == "pre[0][0]"
    assert lines[shared_row + 1].strip() == "q[0][0]"
    assert (
        next(line for line in lines if line.startswith("title ")).split()[2]
        == "[(None,"
    )
    priority = next(line for line in lines if line.startswith("priority "))
    assert priority[65:].strip() == "shared[1][0]"
    # pre 4*4+4, shared 4*5+5 (once), db 3*5+5, q 10*4+4, priority 5+1, department 10*3+3
    assert "Total params: 148" in lines


def test_chain_summary_keeps_the_sequential_table():
    inputs = keras.Input(shape=(4,), name="x")
    model = keras.Model(inputs, layers.Dense(2, name="d")(inputs))
    lines = []
    model.summary(print_fn=lines.append)
    assert len(lines[1]) == 65 and "Connected to" not in lines[2]
    assert lines[4].startswith("x (InputLayer)") and "[(None, 4)]" in lines[4]


# ---- several inputs and outputs in fit/evaluate/predict -------------------------------
def ticket_data(n=40, seed=0):
    r = np.random.default_rng(seed)
    x = {"title": r.random((n, 4)), "body": r.random((n, 3))}
    y = {
        "priority": r.integers(0, 2, (n, 1)).astype(float),
        "department": r.integers(0, 3, n),
    }
    return x, y


def compiled_ticket(**kwargs):
    tf.set_seed(0)
    model = ticket_like_model()
    settings = dict(
        optimizer="adam",
        loss={
            "priority": "binary_crossentropy",
            "department": "sparse_categorical_crossentropy",
        },
        metrics={"department": ["accuracy"], "priority": ["mae"]},
    )
    settings.update(kwargs)
    model.compile(**settings)
    return model


def test_multi_output_names_are_kerass():
    model = compiled_ticket()
    x, y = ticket_data()
    history = model.fit(x, y, batch_size=8, epochs=1, validation_split=0.25, verbose=0)
    names = [
        "loss",
        "priority_loss",
        "department_loss",
        "priority_mae",
        "department_accuracy",
    ]
    assert model.metrics_names == names
    assert list(history.history) == names + ["val_" + n for n in names]
    values = model.evaluate(x, y, verbose=0)
    assert len(values) == 5
    # loss = priority_loss + department_loss (weights 1)
    assert values[0] == pytest.approx(values[1] + values[2], rel=1e-6)


def test_x_and_y_as_lists_or_dicts_give_the_same_fit():
    x, y = ticket_data()
    results = []
    for as_dict in (True, False):
        model = compiled_ticket()
        xs = x if as_dict else [x["title"], x["body"]]
        ys = y if as_dict else [y["priority"], y["department"]]
        model.fit(xs, ys, batch_size=8, epochs=2, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_predict_returns_one_array_per_output():
    model = compiled_ticket()
    x, _ = ticket_data(n=9)
    out = model.predict(x, batch_size=4, verbose=0)
    assert isinstance(out, list) and [o.shape for o in out] == [(9, 1), (9, 3)]
    called = model([x["title"], x["body"]])
    np.testing.assert_allclose(called[1].numpy(), out[1], rtol=1e-6)


def test_loss_weights_scale_each_output_gradient():
    x, y = ticket_data()
    plain = compiled_ticket(optimizer=tf.keras.optimizers.SGD(0.1))
    weighted = compiled_ticket(
        optimizer=tf.keras.optimizers.SGD(0.1),
        loss_weights={"priority": 2.0, "department": 0.5},
    )
    weighted.set_weights(plain.get_weights())
    a = plain.train_on_batch(x, y)
    b = weighted.train_on_batch(x, y)
    assert a[1:3] == pytest.approx(b[1:3], rel=1e-6)  # same outputs, same losses
    assert b[0] == pytest.approx(2.0 * b[1] + 0.5 * b[2], rel=1e-6)
    # Plain SGD: the priority head sees only its own loss, so its step is
    # exactly twice as large with weight 2.
    start = ticket_like_model()
    start.set_weights(plain.get_weights())


def test_an_output_without_a_loss_is_not_trained():
    x, y = ticket_data()
    with pytest.raises(ValueError, match="'priority' has metrics but no loss"):
        compiled_ticket(loss={"department": "sparse_categorical_crossentropy"})
    model = compiled_ticket(
        loss={"department": "sparse_categorical_crossentropy"},
        metrics={"department": ["accuracy"]},
    )
    head = model.get_layer("priority").get_weights()
    model.fit(x, {"department": y["department"]}, batch_size=8, epochs=1, verbose=0)
    for before, after in zip(head, model.get_layer("priority").get_weights()):
        np.testing.assert_array_equal(before, after)
    assert model.metrics_names[:2] == ["loss", "department_loss"]


def test_multi_io_errors_name_what_is_wrong():
    model = compiled_ticket()
    x, y = ticket_data()
    with pytest.raises(ValueError, match="no entry for input 'body'"):
        model.fit({"title": x["title"]}, y, verbose=0)
    with pytest.raises(ValueError, match="2 inputs"):
        model.fit(x["title"], y, verbose=0)
    with pytest.raises(ValueError, match="not an output of the model"):
        model.fit(x, {**y, "extra": y["priority"]}, verbose=0)
    with pytest.raises(ValueError, match="class_weight is not supported"):
        model.fit(x, y, class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="loss has an entry for 'nope'"):
        model.compile(optimizer="sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="loss_weights must have one entry per output"):
        model.compile(optimizer="sgd", loss="mse", loss_weights=[1.0])
    with pytest.raises(ValueError, match="data cardinality is ambiguous"):
        model.fit({"title": x["title"], "body": x["body"][:5]}, y, verbose=0)


def test_integer_input_reaches_an_embedding_as_ids():
    ids = keras.Input(shape=(4,), dtype="int32", name="ids")
    dense_in = keras.Input(shape=(3,), name="numbers")
    pooled = layers.GlobalAveragePooling1D()(layers.Embedding(10, 5)(ids))
    out = layers.Dense(1)(layers.concatenate([pooled, dense_in]))
    model = keras.Model([ids, dense_in], out)
    model.compile("sgd", "mse")
    r = np.random.default_rng(0)
    x = [r.integers(0, 10, (12, 4)), r.random((12, 3)).astype(np.float32)]
    history = model.fit(x, r.random((12, 1)), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match="10"):
        model.fit([x[0] + 10, x[1]], r.random((12, 1)), verbose=0)


@pytest.mark.parametrize("weights", [0.5, [0.5], {"out": 0.5}])
def test_one_output_model_takes_loss_weights_as_keras_2_does(weights):
    # tf_keras 2.21 accepts all three spellings on a one-output model and
    # reports 0.5 * mse: here 0.5 * mean(3 ** 2) = 4.5 for a ones kernel.
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(
                1, input_shape=(3,), kernel_initializer="ones", name="out"
            )
        ]
    )
    model.compile("sgd", "mse", loss_weights=weights)
    loss = model.evaluate(np.ones((4, 3)), np.zeros((4, 1)), verbose=0)
    assert loss == pytest.approx(4.5)


def test_a_number_weights_every_output():
    x, y = ticket_data()
    plain = compiled_ticket(optimizer=tf.keras.optimizers.SGD(0.1))
    halved = compiled_ticket(optimizer=tf.keras.optimizers.SGD(0.1), loss_weights=0.5)
    halved.set_weights(plain.get_weights())
    a = plain.test_on_batch(x, y)
    b = halved.test_on_batch(x, y)
    assert b[0] == pytest.approx(0.5 * a[0], rel=1e-6)
    with pytest.raises(TypeError, match="loss_weights must be a number, a list"):
        compiled_ticket(loss_weights="half")


def test_one_plan_backpropagates_whichever_outputs_have_a_loss(float64):
    # The Plan works a backward pass out once per batch size and set of
    # written outputs: the same plan, asked for out's gradient alone and then
    # for both outputs', must give each pass its own trunk gradient (NumPy:
    # the layers are linear, so dW_trunk = x^T (sum of g_k W_k^T)).
    tf.set_seed(3)
    inputs = keras.Input((4,))
    trunk = layers.Dense(3, use_bias=False)
    hidden = trunk(inputs)
    out = layers.Dense(2, use_bias=False, name="out")(hidden)
    aux = layers.Dense(2, use_bias=False, name="aux")(hidden)
    model = keras.Model(inputs, [out, aux])
    w_out, w_aux = (model.get_layer(k).get_weights()[0] for k in ("out", "aux"))
    x = np.random.default_rng(0).normal(size=(5, 4))
    g = [np.random.default_rng(k + 1).normal(size=(5, 2)) for k in range(2)]
    plan = model._make_plan(5)
    for written in ([True, False], [True, True], [False, True]):
        plan.forward([x], training=True)
        for k in range(2):
            plan.output_gradients(5)[k][...] = g[k]
        plan.backward(5, written)
        dh = sum(g[k] @ w.T for k, w in enumerate((w_out, w_aux)) if written[k])
        np.testing.assert_allclose(
            trunk._grads[0], x.T @ dh, rtol=1e-12, err_msg=str(written)
        )
