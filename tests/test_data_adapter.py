"""fit/evaluate/predict on a Dataset, a generator or a keras.utils.Sequence:
the same numbers as arrays batched the same way, Keras's step counting
(unknown until the first epoch ends, 'N/Unknown' bars), Keras's errors,
and memory that stays input + O(batch)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn.data import Dataset


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")
    yield


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 6)).astype(np.uint8)
    y = rng.integers(0, 3, size=n)
    return x, y


def model(seed=4, metrics=("accuracy",)):
    tinynn.set_seed(seed)
    m = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(5, activation="relu", input_shape=(6,)),
            tf.keras.layers.Dense(3, activation="softmax"),
        ]
    )
    m.compile("adam", "sparse_categorical_crossentropy", metrics=list(metrics))
    return m


def same_weights(a, b):
    assert len(a.get_weights()) == len(b.get_weights())
    for wa, wb in zip(a.get_weights(), b.get_weights()):  # no strict= on 3.9
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("kind", ["dataset", "generator", "sequence"])
def test_fit_on_a_source_equals_fit_on_arrays_in_the_same_batches(kind):
    x, y = data()
    reference = model()
    expected = reference.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    if kind == "dataset":
        source = Dataset.from_tensor_slices((x, y)).batch(8)
    elif kind == "generator":
        source = ((x[i : i + 8], y[i : i + 8]) for i in range(0, 50, 8))
    else:
        source = Batches(x, y, 8)
    m = model()
    # shuffle=False: fit visits a Sequence's batches in random order otherwise
    history = m.fit(source, epochs=1, verbose=0, shuffle=False)
    same_weights(reference, m)
    assert history.history == expected.history
    assert m.evaluate(source if kind != "generator" else _gen(x, y), verbose=0) == (
        reference.evaluate(x, y, batch_size=8, verbose=0)
    )


def _gen(x, y, size=8):
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]


class Batches(tf.keras.utils.Sequence):
    def __init__(self, x, y, size, w=None):
        super().__init__()
        self.x, self.y, self.size, self.w = x, y, size, w
        self.epochs_ended = 0
        self.visited = []

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        self.visited.append(i)
        part = slice(i * self.size, (i + 1) * self.size)
        if self.w is None:
            return self.x[part], self.y[part]
        return self.x[part], self.y[part], self.w[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_sample_weights_and_class_weights_from_a_dataset():
    x, y = data()
    w = np.linspace(0.5, 2.0, 50)
    reference = model()
    reference.fit(x, y, sample_weight=w, batch_size=10, shuffle=False, verbose=0)
    m = model()
    m.fit(Dataset.from_tensor_slices((x, y, w)).batch(10), verbose=0)
    same_weights(reference, m)
    classes = {0: 1.0, 1: 2.0, 2: 0.5}
    reference = model()
    reference.fit(x, y, class_weight=classes, batch_size=10, shuffle=False, verbose=0)
    m = model()
    m.fit(Dataset.from_tensor_slices((x, y)).batch(10), class_weight=classes, verbose=0)
    same_weights(reference, m)


def test_predict_takes_x_or_x_y_batches_in_order():
    x, y = data()
    m = model()
    expected = m.predict(x, verbose=0)
    for source in (
        Dataset.from_tensor_slices(x).batch(7),
        Dataset.from_tensor_slices((x, y)).batch(7),
        (x[i : i + 7] for i in range(0, 50, 7)),
        Batches(x, y, 7),
    ):
        np.testing.assert_array_equal(m.predict(source, verbose=0), expected)


def test_unknown_length_is_learnt_after_the_first_epoch(capsys):
    x, y = data()
    ds = Dataset.from_tensor_slices((x, y)).filter(lambda a, b: b >= 0).batch(10)
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    history = model().fit(ds, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "      5/Unknown - " in out
    assert "5/5 [==============================]" in out
    assert len(history.history["loss"]) == 2


def test_a_generator_runs_out_after_its_first_epoch_with_keras_warning(capsys):
    x, y = data()
    m = model()
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        history = m.fit(_gen(x, y), epochs=3, verbose=1)
    assert len(history.history["loss"]) == 1
    assert "7/Unknown" in capsys.readouterr().out


def test_steps_per_epoch_continues_through_a_repeated_dataset():
    x, y = data(n=20)
    seen = []

    def record(a, b):
        seen.append(int(b[0]))
        return a, b

    ds = Dataset.from_tensor_slices((x, np.arange(20) % 3)).batch(5).map(record)
    m = model()
    m.fit(ds.repeat(), steps_per_epoch=3, epochs=2, verbose=0)
    assert len(seen) == 6
    # one iterator through both epochs: batches 0 1 2 3 0 1 of the data
    assert seen == [0, 2, 1, 0, 0, 2]


def test_sequence_epochs_shuffle_and_on_epoch_end():
    x, y = data(n=40)
    seq = Batches(x, y, 10)
    model().fit(seq, epochs=3, verbose=0, shuffle=True)
    assert seq.epochs_ended == 3
    orders = [seq.visited[4 * e : 4 * e + 4] for e in range(3)]
    assert len(seq.visited) == 12  # the first batch, read to build, is reused
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    assert len({tuple(o) for o in orders}) > 1


@pytest.mark.parametrize("kind", ["dataset", "generator", "sequence", "arrays"])
def test_validation_data_of_any_kind_and_validation_freq(kind):
    x, y = data()
    if kind == "dataset":
        val = Dataset.from_tensor_slices((x, y)).batch(16)
    elif kind == "generator":
        val = (b for _ in range(100) for b in _gen(x, y, 16))
    elif kind == "sequence":
        val = Batches(x, y, 16)
    else:
        val = (x, y)
    kwargs = {"validation_steps": 4} if kind == "generator" else {}
    m = model()
    history = m.fit(
        Dataset.from_tensor_slices((x, y)).batch(16),
        validation_data=val,
        validation_freq=2,
        epochs=4,
        verbose=0,
        **kwargs,
    )
    assert len(history.history["val_loss"]) == 2
    reference = m.evaluate(x, y, batch_size=16, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(reference[0], rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y": np.zeros(4)}, "`y` argument is not supported when using dataset"),
        ({"sample_weight": np.ones(4)}, "`sample_weight` argument is not supported"),
        ({"validation_split": 0.2}, "`validation_split` is only supported for Tensors"),
    ],
)
def test_keras_errors_for_arguments_a_dataset_cannot_take(kwargs, message):
    x, y = data()
    with pytest.raises(ValueError, match=message):
        model().fit(Dataset.from_tensor_slices((x, y)).batch(4), verbose=0, **kwargs)


def test_infinite_dataset_needs_steps():
    x, y = data()
    ds = Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    with pytest.raises(ValueError, match="infinite dataset, you must specify"):
        model().fit(ds, verbose=0)
    with pytest.raises(ValueError, match="infinite dataset, you must specify"):
        model().evaluate(ds, verbose=0)
    assert len(model().evaluate(ds, steps=3, verbose=0)) == 2


def test_batch_size_is_ignored_with_a_dataset_as_keras_does():
    x, y = data()
    ds = Dataset.from_tensor_slices((x, y)).batch(10)
    history = model().fit(ds, batch_size=3, verbose=0)
    assert len(history.history["loss"]) == 1


def test_steps_with_arrays_says_what_it_is_for():
    x, y = data()
    with pytest.raises(ValueError, match="steps_per_epoch is supported with a Dataset"):
        model().fit(x, y, steps_per_epoch=2, verbose=0)


def test_a_dataset_without_targets_cannot_be_fit():
    x, _ = data()
    with pytest.raises(ValueError, match="yields x only"):
        model().fit(Dataset.from_tensor_slices(x).batch(4), verbose=0)


def test_batches_are_checked_like_arrays():
    x, y = data()
    bad = np.full((4, 6), np.nan)
    with pytest.raises(ValueError, match="fit: .*NaN"):
        model().fit(Dataset.from_tensor_slices((bad, y[:4])).batch(2), verbose=0)
    with pytest.raises(ValueError, match="shape"):
        model().fit(Dataset.from_tensor_slices((x[:, :4], y)).batch(2), verbose=0)


def test_an_unbuilt_model_is_built_from_the_first_batch():
    x, y = data()
    m = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.fit(Dataset.from_tensor_slices((x, y)).batch(8), verbose=0)
    assert m.input_shape == (None, 6)


@pytest.mark.slow
def test_fit_on_a_2gb_uint8_dataset_stays_within_input_plus_256mb():
    script = textwrap.dedent(
        """
        import resource, numpy as np, tinynn as tf
        n, d = 2_000_000, 1024                       # 2.05 GB of uint8
        x = np.empty((n, d), np.uint8)
        x[:] = 7                                     # touch every page
        y = np.zeros(n, np.int32)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        m = tf.keras.Sequential([tf.keras.layers.Dense(2, activation="softmax",
                                                       input_shape=(d,))])
        m.compile("sgd", "sparse_categorical_crossentropy")
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10_000).batch(256)
        m.fit(ds, steps_per_epoch=400, epochs=1, verbose=0)
        m.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4096), verbose=0)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(x.nbytes // 2**20, base // 1024, peak // 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    data_mb, base_mb, peak_mb = map(int, out)
    print(f"input {data_mb} MB, RSS before fit {base_mb} MB, peak {peak_mb} MB")
    assert peak_mb - data_mb < 256 + 100  # + the interpreter, NumPy and tinynn
    assert peak_mb - base_mb < 256
