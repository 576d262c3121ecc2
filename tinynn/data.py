"""``tf.data`` for NumPy: :class:`Dataset` pipelines as tutorials build them.

    ds = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    ds = ds.shuffle(10_000).batch(32).prefetch(tf.data.AUTOTUNE)
    model.fit(ds, epochs=5)

A dataset is a lazy description of a sequence of elements; an element is a
NumPy array or a nested tuple/dict of them. Nothing is computed until the
dataset is iterated, and every iteration starts again from the beginning
(re-drawing shuffles unless ``reshuffle_each_iteration=False``).

Memory: a dataset made by ``from_tensor_slices`` keeps a reference to the
user's arrays and never copies them. While the pipeline above it only
reorders rows (shuffle, take, skip, repeat, cache, prefetch), it is run on
row *indices* and each batch is one slice (in order) or one ``np.take``
(shuffled) of the arrays: batching 2 GB of uint8 images costs O(batch).

Iterating yields :class:`tinynn.Tensor` values (NumPy arrays with
``.numpy()``); ``as_numpy_iterator`` yields plain arrays. Strings stay
Python ``str`` (TensorFlow gives ``bytes``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Iterator

import numpy as np

from . import _random
from ._checks import describe
from .tensor import Tensor

__all__ = [
    "AUTOTUNE",
    "INFINITE_CARDINALITY",
    "UNKNOWN_CARDINALITY",
    "Dataset",
    "TensorSpec",
    "experimental",
]

#: ``tf.data.AUTOTUNE``: accepted wherever TensorFlow takes a parallelism or
#: buffer size; tinynn runs the pipeline in the calling thread.
AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


class _Experimental:
    """``tf.data.experimental``: the constants tutorials use."""

    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY

    @staticmethod
    def cardinality(dataset: Dataset) -> Tensor:
        return dataset.cardinality()


experimental = _Experimental()


class TensorSpec:
    """Shape and dtype of one component of an element (``None`` dimensions
    are unknown, such as the batch axis of ``batch`` without
    ``drop_remainder``)."""

    def __init__(self, shape: Any, dtype: Any = np.float32, name: str | None = None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.name = name

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and self.shape == other.shape
            and self.dtype == other.dtype
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        dtype = "string" if self.dtype.kind in "US" else self.dtype.name
        shape = "(" + ", ".join(map(str, self.shape))
        shape += ",)" if len(self.shape) == 1 else ")"
        return f"TensorSpec(shape={shape}, dtype=tf.{dtype}, name={self.name!r})"


# ---- structures ---------------------------------------------------------------
# An element is an array, or a tuple / dict of elements (TensorFlow's nests;
# a list is a value, converted to one array, as in tf.data).


def _map(fn: Callable[..., Any], *trees: Any) -> Any:
    first = trees[0]
    if isinstance(first, tuple):
        return tuple(_map(fn, *parts) for parts in zip(*trees))
    if isinstance(first, dict):
        return {k: _map(fn, *(t[k] for t in trees)) for k in first}
    return fn(*trees)


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, tuple):
        return [leaf for part in tree for leaf in _leaves(part)]
    if isinstance(tree, dict):
        return [leaf for k in tree for leaf in _leaves(tree[k])]
    return [tree]


def _same_structure(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return (
            isinstance(b, tuple)
            and len(a) == len(b)
            and all(_same_structure(x, y) for x, y in zip(a, b))
        )
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same_structure(a[k], b[k]) for k in a)
        )
    return not isinstance(b, (tuple, dict))


def _to_array(value: Any, where: str) -> np.ndarray:
    """A component as an array with TensorFlow's defaults for Python values
    (floats float32, ints int32, strings str)."""
    if isinstance(value, np.ndarray):
        return value.view(np.ndarray) if isinstance(value, Tensor) else value
    try:
        array = np.asarray(value)
    except ValueError:
        raise ValueError(
            f"{where}: could not convert {describe(value)} to an array (a ragged "
            "list?); pad it first, e.g. with tinynn.utils.pad_sequences"
        ) from None
    if array.dtype == np.float64 and not isinstance(value, np.generic):
        array = array.astype(np.float32)
    elif array.dtype == np.int64 and not isinstance(value, np.generic):
        array = array.astype(np.int32)
    elif array.dtype == object:
        raise TypeError(
            f"{where}: components must be arrays of numbers, booleans or strings; got "
            f"{describe(value)} holding objects"
        )
    return array


def _as_element(value: Any, where: str) -> Any:
    """A user value (from a map function, generator...) as an element."""
    if isinstance(value, tuple):
        return tuple(_as_element(v, where) for v in value)
    if isinstance(value, dict):
        return {k: _as_element(v, where) for k, v in value.items()}
    return _to_array(value, where)


def _spec_of(element: Any, batched: bool = False) -> Any:
    def spec(a: np.ndarray) -> TensorSpec:
        shape = a.shape
        return TensorSpec((None, *shape[1:]) if batched else shape, a.dtype)

    return _map(spec, element)


def _tensor(a: np.ndarray) -> Tensor:
    return np.asarray(a).view(Tensor)


def _plain(a: np.ndarray) -> Any:
    return a[()] if a.ndim == 0 else a


def _call(fn: Callable[..., Any], element: Any) -> Any:
    """TensorFlow's calling convention: a tuple element is unpacked into
    arguments, anything else is passed as one argument."""
    values = _map(_tensor, element)
    if isinstance(values, tuple):
        return fn(*values)
    return fn(values)


def _count(value: Any, where: str, name: str, minimum: int = -1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value[()]
            if isinstance(value, np.integer):
                return _count(int(value), where, name, minimum)
        raise TypeError(f"{where}: {name} must be an integer; got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}; got {value}")
    return int(value)


def _cardinality_tensor(n: int) -> Tensor:
    return np.asarray(n, dtype=np.int64).view(Tensor)


# ---- the Dataset -----------------------------------------------------------------


class Dataset:
    """A lazy sequence of elements (``tf.data.Dataset``).

    Build one with :meth:`from_tensor_slices`, :meth:`from_tensors`,
    :meth:`range`, :meth:`zip` or :meth:`from_generator`, then chain
    transformations; each returns a new dataset and leaves this one as it
    is. Iterate with ``for`` (Tensors) or :meth:`as_numpy_iterator`.
    """

    # (arrays, index dataset) when every element is one row of `arrays`
    # (a structure of arrays with a common first axis) picked by the index
    # dataset's elements; None otherwise. Transformations that only reorder
    # rows act on the index dataset, and batch gathers rows in one go.
    _rows: tuple[Any, Dataset] | None = None

    # ---- to be provided by subclasses ----------------------------------------
    def _elements(self) -> Iterator[Any]:
        """A fresh iterator over the elements (NumPy structures)."""
        raise NotImplementedError

    def _count(self) -> int:
        return UNKNOWN_CARDINALITY

    def _spec(self) -> Any:
        return _spec_of(self._first("element_spec"))

    # ---- iteration -----------------------------------------------------------
    def _iterate(self) -> Iterator[Any]:
        if self._rows is None:
            return self._elements()
        arrays, index = self._rows
        return (_map(lambda a, i=i: a[i], arrays) for i in index._elements())

    def _first(self, where: str) -> Any:
        for element in self._iterate():
            return element
        raise ValueError(f"Dataset.{where}: the dataset is empty")

    def __iter__(self) -> Iterator[Any]:
        return (_map(_tensor, e) for e in self._iterate())

    def as_numpy_iterator(self) -> Iterator[Any]:
        """An iterator over the elements as NumPy values (0-d as scalars)."""
        return (_map(_plain, e) for e in self._iterate())

    def __len__(self) -> int:
        n = self._count()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self) -> bool:
        return True

    def cardinality(self) -> Tensor:
        """Number of elements as a 0-d int64 tensor, or INFINITE_CARDINALITY
        (-1) / UNKNOWN_CARDINALITY (-2) as TensorFlow computes them."""
        return _cardinality_tensor(self._count())

    @property
    def element_spec(self) -> Any:
        """The TensorSpec (structure) of one element. After map or
        from_generator without signature, it is read off the first element."""
        return self._spec()

    def __repr__(self) -> str:
        return f"<{type(self).__name__.lstrip('_')}Dataset element_spec={self._spec()}>"

    # ---- sources -------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any, name: str | None = None) -> Dataset:
        """One element per row: ``tensors`` (an array, or a tuple/dict of
        arrays with the same first dimension) sliced along its first axis.
        Arrays are referenced, not copied."""
        return _Slices(tensors)

    @staticmethod
    def from_tensors(tensors: Any, name: str | None = None) -> Dataset:
        """A dataset of one element: ``tensors`` itself."""
        return _Tensors(tensors)

    @staticmethod
    def range(*args: Any, dtype: Any = np.int64, name: str | None = None) -> Dataset:
        """``range(stop)``, ``range(start, stop[, step])`` as a dataset of
        int64 scalars (or `dtype`)."""
        return _Range(args, dtype)

    @staticmethod
    def zip(*datasets: Any, name: str | None = None) -> Dataset:
        """Elements of several datasets side by side: ``zip((a, b))`` or
        ``zip(a, b)`` gives tuples, ``zip({'x': a, 'y': b})`` dicts. Stops at
        the shortest."""
        if len(datasets) == 1 and not isinstance(datasets[0], Dataset):
            datasets = datasets[0]
        return _Zip(datasets)

    @staticmethod
    def from_generator(
        generator: Callable[..., Any],
        output_types: Any = None,
        output_shapes: Any = None,
        args: Any = None,
        output_signature: Any = None,
        name: str | None = None,
    ) -> Dataset:
        """Elements from calling ``generator(*args)`` anew for each
        iteration; ``output_signature`` (TensorSpecs) sets the dtypes."""
        return _Generator(generator, tuple(args or ()), output_signature, output_types)

    # ---- transformations -------------------------------------------------------
    def batch(
        self,
        batch_size: int,
        drop_remainder: bool = False,
        num_parallel_calls: Any = None,
        deterministic: Any = None,
        name: str | None = None,
    ) -> Dataset:
        """Stack `batch_size` consecutive elements into one; the last batch
        is shorter unless ``drop_remainder=True`` drops it."""
        return _Batch(
            self, _count(batch_size, "batch", "batch_size", 1), drop_remainder
        )

    def unbatch(self, name: str | None = None) -> Dataset:
        """Split each element along its first axis (the inverse of batch)."""
        return _Unbatch(self)

    def shuffle(
        self,
        buffer_size: int,
        seed: int | None = None,
        reshuffle_each_iteration: bool = True,
        name: str | None = None,
    ) -> Dataset:
        """Random order through a buffer of `buffer_size` elements, as in
        TensorFlow: each output is drawn uniformly from the buffer and its
        place taken by the next input element. A buffer at least as large
        as the dataset gives a uniform permutation. Each iteration draws a
        new order unless ``reshuffle_each_iteration=False``; without `seed`
        the orders come from tinynn's generator (``tinynn.set_seed``)."""
        return _Shuffle(self, buffer_size, seed, reshuffle_each_iteration)

    def repeat(self, count: int | None = None, name: str | None = None) -> Dataset:
        """The dataset `count` times over (forever when None or -1)."""
        count = -1 if count is None else _count(count, "repeat", "count")
        return _Repeat(self, count)

    def take(self, count: int, name: str | None = None) -> Dataset:
        """The first `count` elements (all of them for -1)."""
        return _Take(self, _count(count, "take", "count"))

    def skip(self, count: int, name: str | None = None) -> Dataset:
        """All but the first `count` elements (none for -1)."""
        return _Skip(self, _count(count, "skip", "count"))

    def map(
        self,
        map_func: Callable[..., Any],
        num_parallel_calls: Any = None,
        deterministic: Any = None,
        name: str | None = None,
    ) -> Dataset:
        """``map_func`` applied to each element (a tuple element is passed as
        separate arguments). It receives Tensors (NumPy arrays) and runs in
        Python, once per element: batch first, then map, for speed."""
        if not callable(map_func):
            raise TypeError(f"map: map_func must be callable; got {describe(map_func)}")
        return _Map(self, map_func)

    def filter(self, predicate: Callable[..., Any], name: str | None = None) -> Dataset:
        """The elements for which ``predicate`` returns True."""
        if not callable(predicate):
            raise TypeError(
                f"filter: predicate must be callable; got {describe(predicate)}"
            )
        return _Filter(self, predicate)

    def cache(self, filename: str = "", name: str | None = None) -> Dataset:
        """Keep the elements of the first complete iteration in memory and
        replay them afterwards (a `filename` is accepted; tinynn caches in
        memory)."""
        return _Cache(self)

    def prefetch(self, buffer_size: Any, name: str | None = None) -> Dataset:
        """Accepted for compatibility; tinynn produces elements on demand."""
        return _Prefetch(self)

    def enumerate(self, start: int = 0, name: str | None = None) -> Dataset:
        """Elements as (index, element) pairs."""
        return _Zip((Dataset.range(start, np.iinfo(np.int64).max), self))

    def concatenate(self, dataset: Dataset, name: str | None = None) -> Dataset:
        """This dataset's elements followed by `dataset`'s."""
        return _Concatenate(self, dataset)

    def reduce(self, initial_state: Any, reduce_func: Callable[..., Any]) -> Any:
        """Fold the elements: ``state = reduce_func(state, element)``."""
        state = _map(_tensor, _as_element(initial_state, "reduce"))
        for element in self:
            state = reduce_func(state, element)
        return state


# ---- sources ---------------------------------------------------------------------


class _Slices(Dataset):
    def __init__(self, tensors: Any):
        if tensors is None:
            raise TypeError("from_tensor_slices: tensors must be arrays; got None")
        arrays = _as_element(tensors, "from_tensor_slices")
        leaves = _leaves(arrays)
        if not leaves:
            raise ValueError("from_tensor_slices: tensors is an empty structure")
        for leaf in leaves:
            if leaf.ndim == 0:
                raise ValueError(
                    "from_tensor_slices: every component needs a first axis to slice; "
                    "got a scalar (use from_tensors for a single element)"
                )
        lengths = {len(leaf) for leaf in leaves}
        if len(lengths) > 1:
            shapes = ", ".join(str(leaf.shape) for leaf in leaves)
            raise ValueError(
                "from_tensor_slices: all components must have the same size in their "
                f"first dimension; got shapes {shapes}"
            )
        self.arrays = arrays
        self.n = lengths.pop()
        self._rows = (arrays, _Range((self.n,), np.int64))

    def _count(self) -> int:
        return self.n

    def _spec(self) -> Any:
        return _map(lambda a: TensorSpec(a.shape[1:], a.dtype), self.arrays)


class _Tensors(Dataset):
    def __init__(self, tensors: Any):
        self.element = _as_element(tensors, "from_tensors")

    def _elements(self) -> Iterator[Any]:
        yield self.element

    def _count(self) -> int:
        return 1

    def _spec(self) -> Any:
        return _spec_of(self.element)


class _Range(Dataset):
    def __init__(self, args: tuple, dtype: Any):
        if not 1 <= len(args) <= 3:
            raise TypeError(
                f"range: expected 1 to 3 arguments (stop | start, stop[, step]); got "
                f"{len(args)}"
            )
        values = [_count(a, "range", "argument", -(2**63)) for a in args]
        self.range = range(*values)
        self.dtype = np.dtype(dtype)

    def _elements(self) -> Iterator[Any]:
        scalar = self.dtype.type
        return (np.asarray(scalar(i)) for i in self.range)

    def _chunks(self, size: int, drop: bool) -> Iterator[np.ndarray]:
        r = self.range
        n = len(r)
        stop = n - n % size if drop else n
        for lo in range(0, stop, size):
            sub = r[lo : lo + size]
            yield np.arange(sub.start, sub.stop, sub.step, dtype=self.dtype)

    def _count(self) -> int:
        return len(self.range)

    def _spec(self) -> Any:
        return TensorSpec((), self.dtype)


class _Generator(Dataset):
    def __init__(self, generator, args, signature, types):
        if not callable(generator):
            raise TypeError(
                "from_generator: generator must be a callable that returns an iterator; "
                f"got {describe(generator)}"
            )
        self.generator, self.args = generator, args
        self.signature = signature
        self.types = types

    def _elements(self) -> Iterator[Any]:
        for value in self.generator(*self.args):
            element = _as_element(value, "from_generator")
            wanted = self.signature if self.signature is not None else None
            if wanted is not None:
                element = _map(
                    lambda a, s: a.astype(s.dtype, copy=False), element, wanted
                )
            elif self.types is not None:
                element = _map(
                    lambda a, t: a.astype(np.dtype(getattr(t, "name", t)), copy=False),
                    element,
                    self.types,
                )
            yield element

    def _spec(self) -> Any:
        if self.signature is not None:
            return self.signature
        return super()._spec()


# ---- transformations -------------------------------------------------------------


class _Batch(Dataset):
    def __init__(self, source: Dataset, size: int, drop: bool):
        self.source, self.size, self.drop = source, size, bool(drop)

    def _elements(self) -> Iterator[Any]:
        rows = self.source._rows
        if rows is not None:
            arrays, index = rows
            for idx in _index_batches(index, self.size, self.drop):
                yield _map(lambda a, idx=idx: _gather(a, idx), arrays)
            return
        if isinstance(self.source, _Range):
            yield from self.source._chunks(self.size, self.drop)
            return
        iterator = self.source._iterate()
        while True:
            group = list(itertools.islice(iterator, self.size))
            if not group or (self.drop and len(group) < self.size):
                return
            yield _stack(group)

    def _count(self) -> int:
        n = self.source._count()
        if n < 0:
            return n
        return n // self.size if self.drop else math.ceil(n / self.size)

    def _spec(self) -> Any:
        batch = self.size if self.drop else None
        return _map(
            lambda s: TensorSpec((batch, *s.shape), s.dtype), self.source._spec()
        )


def _index_batches(index: Dataset, size: int, drop: bool) -> Iterator[np.ndarray]:
    if isinstance(index, _Range):
        yield from index._chunks(size, drop)
        return
    iterator = index._iterate()
    while True:
        chunk = np.array([int(i) for i in itertools.islice(iterator, size)], np.int64)
        if not len(chunk) or (drop and len(chunk) < size):
            return
        yield chunk


def _gather(array: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows `idx` of `array`: a view when they are consecutive, else one take."""
    if (
        len(idx)
        and idx[-1] - idx[0] == len(idx) - 1
        and (len(idx) == 1 or bool((np.diff(idx) == 1).all()))
    ):
        return array[int(idx[0]) : int(idx[-1]) + 1]
    return np.take(array, idx, axis=0)


def _stack(group: list[Any]) -> Any:
    first = group[0]
    for position, element in enumerate(group[1:], 1):
        if not _same_structure(first, element):
            raise ValueError(
                f"batch: element {position} has a different structure than element 0"
            )

    def stack(*parts: np.ndarray) -> np.ndarray:
        shape = parts[0].shape
        for position, part in enumerate(parts[1:], 1):
            if part.shape != shape:
                raise ValueError(
                    "Cannot batch tensors with different shapes: the first element "
                    f"had shape {list(shape)} and element {position} had shape "
                    f"{list(part.shape)} (pad them first, e.g. with pad_sequences)"
                )
        return np.stack(parts)

    return _map(stack, *group)


class _Unbatch(Dataset):
    def __init__(self, source: Dataset):
        self.source = source

    def _elements(self) -> Iterator[Any]:
        for element in self.source._iterate():
            leaves = _leaves(element)
            if any(leaf.ndim == 0 for leaf in leaves):
                raise ValueError("unbatch: elements must have a first (batch) axis")
            n = len(leaves[0])
            for i in range(n):
                yield _map(lambda a, i=i: a[i], element)

    def _count(self) -> int:
        # Known when every component has a static batch axis (TensorFlow).
        n = self.source._count()
        if n < 0 or not isinstance(self.source, _Batch) or not self.source.drop:
            return UNKNOWN_CARDINALITY if n != 0 else 0
        return n * self.source.size

    def _spec(self) -> Any:
        return _map(lambda s: TensorSpec(s.shape[1:], s.dtype), self.source._spec())


class _Shuffle(Dataset):
    def __init__(self, source, buffer_size, seed, reshuffle):
        self.source = source
        self.buffer_size = _count(buffer_size, "shuffle", "buffer_size", -1)
        if self.buffer_size == 0:
            raise ValueError("shuffle: buffer_size must be positive; got 0")
        if seed is not None:
            seed = _count(seed, "shuffle", "seed", 0)
        else:
            seed = int(_random.generator().integers(2**63))
        self.seed, self.reshuffle = seed, bool(reshuffle)
        self.epoch = 0
        if source._rows is not None:
            arrays, index = source._rows
            self._rows = (arrays, _Shuffle(index, buffer_size, seed, reshuffle))

    def _elements(self) -> Iterator[Any]:
        rng = np.random.default_rng([self.seed, self.epoch if self.reshuffle else 0])
        self.epoch += 1
        iterator = self.source._iterate()
        size = self.buffer_size
        if size == AUTOTUNE:
            size = 1000
        buffer = list(itertools.islice(iterator, size))
        uniforms = rng.random(1024)
        used = 0
        while buffer:
            if used == len(uniforms):
                uniforms, used = rng.random(1024), 0
            pick = int(uniforms[used] * len(buffer))
            used += 1
            out = buffer[pick]
            nxt = next(iterator, _END)
            if nxt is _END:
                buffer[pick] = buffer[-1]
                buffer.pop()
            else:
                buffer[pick] = nxt
            yield out

    def _count(self) -> int:
        return self.source._count()

    def _spec(self) -> Any:
        return self.source._spec()


_END = object()


class _Repeat(Dataset):
    def __init__(self, source: Dataset, count: int):
        self.source, self.count = source, count
        if source._rows is not None:
            arrays, index = source._rows
            self._rows = (arrays, _Repeat(index, count))

    def _elements(self) -> Iterator[Any]:
        rounds = itertools.count() if self.count < 0 else range(self.count)
        for _ in rounds:
            empty = True
            for element in self.source._iterate():
                empty = False
                yield element
            if empty:
                return

    def _count(self) -> int:
        n = self.source._count()
        if self.count == 0 or n == 0:
            return 0
        if self.count < 0:
            return INFINITE_CARDINALITY if n != UNKNOWN_CARDINALITY else n
        return n * self.count if n >= 0 else n

    def _spec(self) -> Any:
        return self.source._spec()


class _Take(Dataset):
    def __init__(self, source: Dataset, count: int):
        self.source, self.count = source, count
        if source._rows is not None:
            arrays, index = source._rows
            self._rows = (arrays, _Take(index, count))

    def _elements(self) -> Iterator[Any]:
        iterator = self.source._iterate()
        return iterator if self.count < 0 else itertools.islice(iterator, self.count)

    def _count(self) -> int:
        n = self.source._count()
        if self.count < 0:
            return n
        if n == INFINITE_CARDINALITY:
            return self.count
        if n == UNKNOWN_CARDINALITY:
            return n if self.count else 0
        return min(n, self.count)

    def _spec(self) -> Any:
        return self.source._spec()


class _Skip(Dataset):
    def __init__(self, source: Dataset, count: int):
        self.source, self.count = source, count
        if source._rows is not None:
            arrays, index = source._rows
            self._rows = (arrays, _Skip(index, count))

    def _elements(self) -> Iterator[Any]:
        if self.count < 0:
            return iter(())
        return itertools.islice(self.source._iterate(), self.count, None)

    def _count(self) -> int:
        n = self.source._count()
        if self.count < 0:
            return 0 if n != INFINITE_CARDINALITY else n
        return max(n - self.count, 0) if n >= 0 else n

    def _spec(self) -> Any:
        return self.source._spec()


class _Map(Dataset):
    def __init__(self, source: Dataset, fn: Callable[..., Any]):
        self.source, self.fn = source, fn

    def _elements(self) -> Iterator[Any]:
        for element in self.source._iterate():
            yield _as_element(_call(self.fn, element), "map (the function's result)")

    def _count(self) -> int:
        return self.source._count()

    def _spec(self) -> Any:
        # Read off the first result; a batch axis the input leaves unknown
        # (batch without drop_remainder) stays unknown.
        source = _leaves(self.source._spec())
        batched = all(len(s.shape) and s.shape[0] is None for s in source)
        return _spec_of(self._first("element_spec"), batched)


class _Filter(Dataset):
    def __init__(self, source: Dataset, fn: Callable[..., Any]):
        self.source, self.fn = source, fn

    def _elements(self) -> Iterator[Any]:
        for element in self.source._iterate():
            keep = np.asarray(_call(self.fn, element))
            if keep.shape != () or keep.dtype != np.bool_:
                raise TypeError(
                    "filter: predicate must return a scalar boolean; got "
                    f"{describe(keep)}"
                )
            if keep:
                yield element

    def _spec(self) -> Any:
        return self.source._spec()


class _Cache(Dataset):
    def __init__(self, source: Dataset):
        self.source = source
        self.cached: list[Any] | None = None
        if source._rows is not None:
            arrays, index = source._rows
            self._rows = (arrays, _Cache(index))

    def _elements(self) -> Iterator[Any]:
        if self.cached is not None:
            yield from self.cached
            return
        filling = []
        for element in self.source._iterate():
            filling.append(element)
            yield element
        self.cached = filling  # only a complete pass is kept (TensorFlow too)

    def _count(self) -> int:
        return self.source._count()

    def _spec(self) -> Any:
        return self.source._spec()


class _Prefetch(Dataset):
    def __init__(self, source: Dataset):
        self.source = source
        self._rows = source._rows

    def _elements(self) -> Iterator[Any]:
        return self.source._iterate()

    def _count(self) -> int:
        return self.source._count()

    def _spec(self) -> Any:
        return self.source._spec()


class _Zip(Dataset):
    def __init__(self, datasets: Any):
        if isinstance(datasets, list):
            datasets = tuple(datasets)
        for d in _leaves(datasets):
            if not isinstance(d, Dataset):
                raise TypeError(
                    f"zip: expected datasets (a tuple or dict of them); got {describe(d)}"
                )
        if not isinstance(datasets, (tuple, dict)):
            datasets = (datasets,)
        self.datasets = datasets

    def _elements(self) -> Iterator[Any]:
        members = _leaves(self.datasets)
        iterators = [d._iterate() for d in members]
        for values in zip(*iterators):
            it = iter(values)
            yield _map(lambda _d, it=it: next(it), self.datasets)

    def _count(self) -> int:
        counts = [d._count() for d in _leaves(self.datasets)]
        known = [c for c in counts if c >= 0]
        if known:
            return min(known)
        if UNKNOWN_CARDINALITY in counts:
            return UNKNOWN_CARDINALITY
        return INFINITE_CARDINALITY

    def _spec(self) -> Any:
        return _map(lambda d: d._spec(), self.datasets)


class _Concatenate(Dataset):
    def __init__(self, first: Dataset, second: Dataset):
        if not isinstance(second, Dataset):
            raise TypeError(f"concatenate: expected a Dataset; got {describe(second)}")
        self.first, self.second = first, second

    def _elements(self) -> Iterator[Any]:
        yield from self.first._iterate()
        yield from self.second._iterate()

    def _count(self) -> int:
        a, b = self.first._count(), self.second._count()
        if INFINITE_CARDINALITY in (a, b):
            return INFINITE_CARDINALITY
        if UNKNOWN_CARDINALITY in (a, b):
            return UNKNOWN_CARDINALITY
        return a + b

    def _spec(self) -> Any:
        return self.first._spec()
