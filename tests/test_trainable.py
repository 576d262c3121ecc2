"""Per-weight trainable flags: ``layer.trainable = False`` freezes a layer in
fit (weights bit-identical, no optimizer state for them, gradients still flow
through it to the layers below) and in summary's counts, also when set after
compile (Keras 2: it takes effect at the next fit)."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf

SEED = 3


def data(n=64, features=6, classes=3, seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, features)), r.integers(0, classes, n)


def three_dense(optimizer="adam", dtype="float64"):
    tf.set_seed(SEED)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(5, activation="tanh", input_shape=(6,), dtype=dtype),
            tf.keras.layers.Dense(4, activation="relu", dtype=dtype),
            tf.keras.layers.Dense(3, activation="softmax", dtype=dtype),
        ]
    )
    model.compile(optimizer, "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("when", ["before compile", "after compile"])
def test_a_frozen_layer_keeps_its_weights_and_the_others_train(when):
    model = three_dense()
    if when == "before compile":
        model.layers[1].trainable = False
        model.compile("adam", "sparse_categorical_crossentropy")
    else:
        model.layers[1].trainable = False  # takes effect at the next fit
    before = model.get_weights()
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    after = model.get_weights()
    # The middle layer (weights 2 and 3) is bit-identical ...
    np.testing.assert_array_equal(after[2], before[2])
    np.testing.assert_array_equal(after[3], before[3])
    # ... the layer above it trains, and so does the one below: gradients
    # flow through a frozen layer.
    for index in (0, 1, 4, 5):
        assert not np.array_equal(after[index], before[index]), index
    # The optimizer keeps moments for the trainable weights only.
    trainable = sum(w.size for w in model.trainable_weights)
    for name, state in model.optimizer.flat_state().items():
        assert trainable <= state.size < trainable + 16 * 4, name


def test_freezing_then_unfreezing_carries_the_optimizer_state():
    """Adagrad's rule makes the state visible: w -= lr g / (sqrt(acc) + eps)
    with acc = 0.1 + the sum of g^2 over the steps the weight was trained."""
    lr, eps = 0.1, 1e-7
    model = three_dense(tf.keras.optimizers.Adagrad(learning_rate=lr))
    x, y = data(n=16)
    first, last = model.layers[0], model.layers[2]
    sums = {
        id(layer): [np.zeros_like(w) for w in layer.weights] for layer in (first, last)
    }

    def step(trained):
        before = {id(layer): layer.get_weights() for layer in (first, last)}
        model.train_on_batch(x, y)
        for layer in (first, last):
            if layer not in trained:
                for old, new in zip(before[id(layer)], layer.weights):
                    np.testing.assert_array_equal(new, old)
                continue
            for k, (old, new, g) in enumerate(
                zip(before[id(layer)], layer.weights, layer.gradients)
            ):
                sums[id(layer)][k] += g * g
                acc = 0.1 + sums[id(layer)][k]
                np.testing.assert_allclose(
                    new, old - lr * g / (np.sqrt(acc) + eps), rtol=1e-12, atol=1e-15
                )

    step({first, last})
    first.trainable = False
    step({last})
    step({last})
    first.trainable = True  # its accumulator continues from the first step
    step({first, last})
    assert model.optimizer.iterations == 4


def test_the_data_gradient_stops_below_the_lowest_trainable_layer(
    dense_backward_calls,
):
    model = three_dense()
    model.layers[0].trainable = False
    x, y = data(n=8)
    model.train_on_batch(x, y)
    # Top to bottom: the top layer passes dx down, the middle one has only a
    # frozen layer below it (no dx), and nothing runs below it.
    assert dense_backward_calls == [((4, 3), True), ((5, 4), False)]


def test_summary_and_weight_lists_count_trainable_and_frozen_weights():
    model = three_dense()
    model.layers[0].trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    # Keras's formulas: Dense = in*units + units. Frozen: 6*5+5 = 35;
    # trainable: 5*4+4 + 4*3+3 = 24 + 15 = 39.
    assert "Total params: 74" in lines
    assert "Trainable params: 39" in lines
    assert "Non-trainable params: 35" in lines
    assert [w.shape for w in model.trainable_weights] == [(5, 4), (4,), (4, 3), (3,)]
    assert [w.shape for w in model.non_trainable_weights] == [(6, 5), (5,)]
    assert model.layers[0].trainable_weights == []
    assert len(model.layers[0].non_trainable_weights) == 2


def test_a_frozen_model_does_not_step_and_trainable_round_trips_through_config(
    tmp_path,
):
    model = three_dense()
    for layer in model.layers:
        layer.trainable = False
    before = model.get_weights()
    x, y = data(n=8)
    model.fit(x, y, epochs=1, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(new, old)
    assert model.optimizer.flat_state() == {}
    model.layers[1].trainable = True
    path = tmp_path / "frozen.tnn"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [layer.trainable for layer in loaded.layers] == [False, True, False]


@pytest.mark.parametrize("suffix", [".tnn", ".h5"])
def test_freezing_after_training_then_saving_loads_and_trains_on(tmp_path, suffix):
    model = three_dense()
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.layers[0].trainable = False  # transfer learning: freeze, then save
    path = tmp_path / f"frozen{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert loaded.layers[0].trainable is False
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for mine, theirs in zip(
        model.optimizer.flat_state().values(), loaded.optimizer.flat_state().values()
    ):
        np.testing.assert_array_equal(mine, theirs)
    before = loaded.layers[0].get_weights()
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    for old, new in zip(before, loaded.layers[0].get_weights()):
        np.testing.assert_array_equal(new, old)
