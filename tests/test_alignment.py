"""Every array a training step's kernels stream starts on a 64-byte line.

A vector load that straddles two cache lines costs two: with malloc's
16-byte alignment, where an array starts was luck (Adam's second moments
16 bytes off a line made a batch-32 step of the Keras listing 1.04 times as
long). The buffers tinynn allocates for the hot path are therefore taken
from _backend.aligned_empty; these tests look at each kind after a fit.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tn
from tinynn import _backend, training

LINE = 64


def offset(array: np.ndarray) -> int:
    return array.ctypes.data % LINE


@pytest.mark.parametrize("shape", [1, 7, (3, 5), (2, 3, 4), (1, 13, 17), (4, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
def test_aligned_empty_and_zeros(shape, dtype):
    # many allocations, so some would land off a line by chance
    for _ in range(8):
        empty = _backend.aligned_empty(shape, dtype)
        zeros = _backend.aligned_zeros(shape, dtype)
        expected = (shape,) if isinstance(shape, int) else shape
        for array in (empty, zeros):
            assert array.shape == expected
            assert offset(array) == 0 or array.size == 0  # nothing to align
            assert array.dtype == np.dtype(dtype)
            assert array.flags.c_contiguous and array.flags.writeable
        assert not zeros.any()


def test_object_arrays_are_allocated_plainly():
    # strings for a text model's first layer: NumPy cannot view bytes as
    # references, and no kernel reads them
    empty = _backend.aligned_empty((3, 2), object)
    assert empty.shape == (3, 2) and empty.dtype == object
    words = np.array([["a", None], ["bc", "d"]], dtype=object)
    copy = _backend.aligned_copy(words)
    assert copy.dtype == object and copy.tolist() == words.tolist()


def test_aligned_copy_keeps_values_dtype_and_shape():
    values = np.arange(35, dtype=np.float64).reshape(5, 7)[:, 1:]  # not contiguous
    copy = _backend.aligned_copy(values)
    assert offset(copy) == 0 and copy.flags.c_contiguous
    assert copy.dtype == values.dtype and copy.shape == values.shape
    np.testing.assert_array_equal(copy, values)
    copy[0, 0] = -1
    assert values[0, 0] == 1  # a copy, not a view


def hot_arrays(model) -> dict[str, np.ndarray]:
    """The arrays a training step of `model` hands its kernels, by name."""
    arrays = {}
    store = model._store
    arrays["params"], arrays["grads"] = store.params, store.grads
    for name, value in model.optimizer.flat_state().items():
        arrays[f"optimizer {name}"] = value
    plan = model._trainer._plan
    for k, grad in enumerate(plan.grads):
        if grad is not None:
            arrays[f"gradient of slot {k}"] = grad
    for step in plan.steps:
        name = step.layer.name
        if step.out is not None:
            arrays[f"{name} output"] = step.out
        for k, scratch in enumerate(step.scratch):
            if scratch is not None:
                arrays[f"{name} scratch {k}"] = scratch
        for key, buffer in step.ctx._buffers.items():
            arrays[f"{name} buffer {key}"] = buffer
    return arrays


def mlp():
    layers = tn.keras.layers
    return tn.keras.Sequential(
        [
            layers.Dense(13, activation="relu", input_shape=(7,)),
            layers.Dense(5, activation="tanh"),
            layers.Dense(3, activation="softmax"),
        ]
    )


def fan_out_graph():
    layers = tn.keras.layers
    inputs = tn.keras.Input((6,))
    hidden = layers.Dense(11, activation="relu")(inputs)
    left = layers.Dense(4)(hidden)
    right = layers.Dense(4)(hidden)  # `hidden` feeds two layers: a scratch sum
    outputs = layers.Dense(3, activation="softmax")(layers.Add()([left, right]))
    return tn.keras.Model(inputs, outputs)


def convnet():
    layers = tn.keras.layers
    return tn.keras.Sequential(
        [
            layers.Conv2D(3, 3, activation="relu", input_shape=(9, 9, 2)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("build", [mlp, fan_out_graph, convnet])
@pytest.mark.parametrize("floatx", ["float32", "float64"])
def test_training_buffers_start_on_a_line(build, floatx):
    tn.set_seed(1)
    tn.keras.backend.set_floatx(floatx)
    try:
        model = build()
    finally:
        tn.keras.backend.set_floatx("float32")
    assert model.dtype == np.dtype(floatx)
    rng = np.random.default_rng(0)
    x = rng.random((37, *model.input_shape[1:]))
    y = rng.integers(0, 3, 37)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    arrays = hot_arrays(model)
    assert len(arrays) >= 6
    if build is fan_out_graph:
        assert any("scratch" in name for name in arrays)
    if build is convnet:
        assert any("buffer" in name for name in arrays)
    misplaced = {name: offset(a) for name, a in arrays.items() if offset(a)}
    assert misplaced == {}


def test_restored_optimizer_state_starts_on_a_line(tmp_path):
    tn.set_seed(2)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(3)
    x, y = rng.random((20, 7)), rng.integers(0, 3, 20)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = tmp_path / "m.tnn"
    model.save(path)
    loaded = tn.keras.models.load_model(path)
    state = loaded.optimizer.flat_state()
    assert set(state) == {"m", "v"}
    assert {name: offset(v) for name, v in state.items()} == {"m": 0, "v": 0}
    np.testing.assert_array_equal(state["v"], model.optimizer.flat_state()["v"])


def test_shuffled_batches_are_gathered_into_an_aligned_buffer():
    xs = np.random.default_rng(4).random((50, 9)).astype(np.float32)
    for rows in (1, 3, 16):
        batches = training._Batches(xs, np.dtype(np.float32), rows)
        assert offset(batches.out) == 0
        index = np.arange(rows)[::-1]
        np.testing.assert_array_equal(batches.rows(0, rows, index), xs[index])
