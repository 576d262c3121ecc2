"""tinynn.data.Dataset (tf.data): TensorFlow's element order, batching,
cardinalities and specs, shuffle's buffer semantics, and batches of
from_tensor_slices that slice the user's arrays instead of copying them."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

import tinynn as tf
from tinynn.data import Dataset


def values(ds):
    return [_py(e) for e in ds.as_numpy_iterator()]


def _py(e):
    if isinstance(e, tuple):
        return tuple(_py(v) for v in e)
    if isinstance(e, dict):
        return {k: _py(v) for k, v in e.items()}
    return np.asarray(e).tolist()


def test_tf_data_is_tinynn_data():
    assert tf.data.Dataset is Dataset
    assert tf.data.AUTOTUNE == tf.data.experimental.AUTOTUNE == -1
    assert tf.data.INFINITE_CARDINALITY == -1 and tf.data.UNKNOWN_CARDINALITY == -2


def test_slices_batch_and_iteration():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    ds = Dataset.from_tensor_slices((x, y))
    assert len(ds) == 10
    batches = values(ds.batch(4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[2] == (x[8:].tolist(), [8, 9])
    assert len(values(ds.batch(4, drop_remainder=True))) == 2
    first_x, first_y = next(iter(ds))
    assert first_x.numpy().tolist() == [0, 1] and isinstance(first_x, tf.Tensor)


def test_python_values_take_tensorflow_dtypes():
    spec = Dataset.from_tensor_slices(([1.0, 2.0], [1, 2])).element_spec
    assert spec[0].dtype == np.float32 and spec[1].dtype == np.int32
    spec = Dataset.from_tensor_slices(np.zeros((3, 2))).element_spec
    assert spec.dtype == np.float64 and spec.shape == (2,)
    assert Dataset.range(3).element_spec.dtype == np.int64


def test_element_spec_of_batches():
    ds = Dataset.from_tensor_slices({"a": np.zeros((5, 3), np.uint8)})
    assert ds.batch(2).element_spec["a"].shape == (None, 3)
    assert ds.batch(2, drop_remainder=True).element_spec["a"].shape == (2, 3)
    assert repr(ds.element_spec["a"]) == (
        "TensorSpec(shape=(3,), dtype=tf.uint8, name=None)"
    )


def test_batches_of_slices_are_views_of_the_users_array():
    x = np.arange(40, dtype=np.uint8).reshape(10, 4)
    batch = next(Dataset.from_tensor_slices(x).batch(4).as_numpy_iterator())
    assert np.shares_memory(batch, x)
    shuffled = next(
        Dataset.from_tensor_slices(x).shuffle(10).batch(4).as_numpy_iterator()
    )
    assert shuffled.shape == (4, 4) and not np.shares_memory(shuffled, x)


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: Dataset.range(10).batch(3), 4),
        (lambda: Dataset.range(10).batch(3, drop_remainder=True), 3),
        (lambda: Dataset.range(10).repeat(), -1),
        (lambda: Dataset.range(10).repeat(3), 30),
        (lambda: Dataset.range(10).repeat().take(7), 7),
        (lambda: Dataset.range(10).skip(4), 6),
        (lambda: Dataset.range(10).skip(40), 0),
        (lambda: Dataset.range(10).filter(lambda x: x > 3), -2),
        (lambda: Dataset.range(10).map(lambda x: x + 1), 10),
        (lambda: Dataset.range(10).batch(2).unbatch(), -2),
        (lambda: Dataset.zip((Dataset.range(3), Dataset.range(5))), 3),
        (lambda: Dataset.zip((Dataset.range(3).repeat(), Dataset.range(5))), 5),
        (lambda: Dataset.range(10).shuffle(4).take(-1), 10),
        (lambda: Dataset.from_tensors(np.zeros(3)), 1),
        (lambda: Dataset.range(2, 11, 3), 3),
    ],
)
def test_cardinality_as_tensorflow(build, expected):
    assert int(build().cardinality()) == expected


def test_len_of_infinite_or_unknown_raises_as_tensorflow():
    with pytest.raises(TypeError, match="infinite"):
        len(Dataset.range(3).repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(Dataset.range(3).filter(lambda x: x > 0))


def test_transformations():
    assert values(Dataset.range(5).map(lambda x: x * 2)) == [0, 2, 4, 6, 8]
    assert values(Dataset.range(6).filter(lambda x: x % 2 == 0)) == [0, 2, 4]
    assert values(Dataset.range(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert values(Dataset.range(6).skip(2).take(2)) == [2, 3]
    assert values(Dataset.range(5).batch(2).unbatch()) == [0, 1, 2, 3, 4]
    pairs = Dataset.from_tensor_slices(([1, 2], [3, 4])).map(lambda a, b: a + b)
    assert values(pairs) == [4, 6]
    zipped = Dataset.zip({"a": Dataset.range(2), "b": Dataset.range(2, 4)})
    assert values(zipped) == [{"a": 0, "b": 2}, {"a": 1, "b": 3}]
    assert values(Dataset.range(2).concatenate(Dataset.range(5, 6))) == [0, 1, 5]
    assert values(Dataset.range(2).prefetch(tf.data.AUTOTUNE)) == [0, 1]


def test_cache_replays_the_first_complete_pass():
    calls = collections.Counter()

    def count(x):
        calls["n"] += 1
        return x

    ds = Dataset.range(4).map(count).cache()
    assert values(ds) == values(ds) == [0, 1, 2, 3]
    assert calls["n"] == 4


def test_batch_of_unequal_elements_says_to_pad():
    ds = Dataset.from_generator(lambda: iter([[1, 2], [3]]))
    with pytest.raises(ValueError, match="different shapes"):
        values(ds.batch(2))


def test_shuffle_keeps_every_element_and_buffer_one_keeps_order():
    ds = Dataset.range(50)
    assert sorted(values(ds.shuffle(7))) == list(range(50))
    assert values(ds.shuffle(1)) == list(range(50))


def test_shuffle_buffer_semantics():
    # With a buffer of 2, element i can come out no earlier than position
    # i - 1, and the first output is 0 or 1 (TensorFlow's buffer).
    for seed in range(20):
        order = values(Dataset.range(30).shuffle(2, seed=seed))
        assert order[0] in (0, 1)
        assert all(pos >= value - 1 for pos, value in enumerate(order))


def test_shuffle_seed_and_reshuffle_each_iteration():
    ds = Dataset.range(20).shuffle(20, seed=3)
    first, second = values(ds), values(ds)
    assert first != second
    assert values(Dataset.range(20).shuffle(20, seed=3)) == first
    fixed = Dataset.range(20).shuffle(20, seed=3, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    tf.set_seed(1)
    a = values(Dataset.range(20).shuffle(20))
    tf.set_seed(1)
    assert values(Dataset.range(20).shuffle(20)) == a


def test_shuffle_of_slices_is_uniform():
    # The first element of a full-buffer shuffle is uniform over the data.
    counts = np.zeros(5)
    ds = Dataset.from_tensor_slices(np.arange(5)).shuffle(5).batch(5)
    for _ in range(2000):
        counts[next(ds.as_numpy_iterator())[0]] += 1
    assert counts.min() > 300  # expected 400 each


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="same size in their first dimension"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Dataset.range(3).batch(0)
    with pytest.raises(TypeError, match="map_func must be callable"):
        Dataset.range(3).map(3)
    with pytest.raises(TypeError, match="scalar boolean"):
        values(Dataset.range(3).filter(lambda x: x))


# ---- TensorFlow as an oracle (skipped without it) ---------------------------------
def _tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


@pytest.mark.parametrize(
    "pipeline",
    [
        lambda D: D.range(10).batch(3),
        lambda D: D.range(10).batch(3, drop_remainder=True).unbatch(),
        lambda D: (
            D.from_tensor_slices(([1.0, 2.0, 3.0], [[1, 2], [3, 4], [5, 6]]))
            .repeat(2)
            .skip(1)
            .take(4)
            .batch(2)
        ),
        lambda D: D.range(12).filter(lambda x: x % 3 == 0).map(lambda x: x * 2),
        lambda D: D.zip((D.range(4), D.range(10, 20))).batch(3),
        lambda D: D.from_tensor_slices({"a": [1, 2, 3]}).batch(2),
    ],
)
def test_pipelines_match_tensorflow(pipeline):
    real = _tensorflow()
    ours = pipeline(Dataset)
    theirs = pipeline(real.data.Dataset)
    assert values(ours) == [_py(e) for e in theirs.as_numpy_iterator()]
    assert int(ours.cardinality()) == int(theirs.cardinality())
    ours_spec, their_spec = ours.element_spec, theirs.element_spec
    for a, b in zip(
        tf.data._leaves(ours_spec), real.nest.flatten(their_spec), strict=True
    ):
        assert a.shape == tuple(b.shape.as_list()) and a.dtype == b.dtype.as_numpy_dtype


def test_element_spec_after_map_keeps_an_unknown_batch_axis():
    ds = Dataset.from_tensor_slices(np.zeros((10, 3), np.uint8)).batch(4)
    spec = ds.map(lambda a: tf.cast(a, tf.float32)).element_spec
    assert spec.shape == (None, 3) and spec.dtype == np.float32
    spec = Dataset.range(4).map(lambda a: a * 2.0).element_spec
    assert spec.shape == ()
