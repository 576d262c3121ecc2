"""Reading Keras's .npz files that hold object arrays (imdb.npz and
reuters.npz store each review as a Python list of ints inside an object
array, which NumPy saves as a pickle) without unpickling arbitrary objects.

Plain arrays are read with ``allow_pickle=False``. An object array's pickle
is read by an Unpickler that may build only NumPy arrays and dtypes (and
numeric NumPy scalars); any other global (a function, a class) in the
stream is refused before it is looked up, so a crafted file cannot run
code. The result must then be a 1-d object array of lists of integers.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only NumPy arrays of lists of "
                "integers are read from dataset files"
            )
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core.") :]  # NumPy 2's name
        return super().find_class(module, name)


def _check_sequences(array: Any, where: str) -> np.ndarray:
    if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype != object:
        raise ValueError(f"{where}: expected a 1-d object array of sequences")
    out = np.empty(len(array), dtype=object)
    for i, seq in enumerate(array):
        if not isinstance(seq, list) or not all(
            isinstance(w, (int, np.integer)) and not isinstance(w, bool) for w in seq
        ):
            raise ValueError(f"{where}: element {i} is not a list of integers")
        out[i] = [int(w) for w in seq]
    return out


def _read_member(archive: zipfile.ZipFile, key: str, source: Path) -> np.ndarray:
    where = f"{source}: {key}"
    try:
        raw = archive.read(f"{key}.npy")
    except KeyError:
        raise ValueError(f"{source}: no array {key!r} in the file") from None
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    except ValueError as exc:
        raise ValueError(f"{where} is not a NumPy array ({exc})") from None
    if dtype.kind != "O":
        return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
    try:
        array = _ArraysOnly(stream).load()
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: unreadable object array ({exc})") from None
    return _check_sequences(array, where)


def load(path: Path, keys: tuple[str, ...]) -> list[np.ndarray]:
    """The arrays `keys` of the .npz at `path`."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [_read_member(archive, key, path) for key in keys]
    except zipfile.BadZipFile:
        raise ValueError(f"{path}: not an .npz file") from None
