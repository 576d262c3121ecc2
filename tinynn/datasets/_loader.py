"""Finding, downloading and caching the four-file IDX datasets (MNIST and
Fashion-MNIST): search order, checksums, atomic cache writes, clear errors.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._files import new_file_mode
from . import _idx

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
Data = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Dataset:
    """Where a dataset lives and how its files are checked."""

    name: str  # folder name, e.g. "mnist"
    url: str  # default base URL (overridable)
    md5: dict[str, str]  # file stem -> md5 hex
    md5_of_decompressed: bool  # whether md5 is over the decompressed bytes
    system_folders: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


def cache_root() -> Path:
    """~/.tinynn/datasets (where downloads are cached)."""
    return Path.home() / ".tinynn" / "datasets"


def base_url(dataset: Dataset) -> str:
    """The download base URL; TINYNN_DATASETS_URL overrides it (for mirrors and tests)."""
    url = os.environ.get("TINYNN_DATASETS_URL") or dataset.url
    return url if url.endswith("/") else url + "/"


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


#: Dataset roots beside a clone, relative to the current folder: the project
#: keeps its clone next to shared/, whose datasets/ folder holds MNIST; the
#: second is the same folder seen from a subfolder of the clone (notebooks/).
NEARBY = ("../shared/datasets", "../../shared/datasets")


def default_roots() -> list[Path]:
    """`NEARBY` as absolute paths (from the current folder), so that the
    main job run in <clone> and a notebook run in <clone>/notebooks look in
    the same <parent>/shared/datasets."""
    return list(dict.fromkeys(Path(os.path.abspath(root)) for root in NEARBY))


def _candidate_folders(
    dataset: Dataset, roots: Sequence[Any] | None = None
) -> list[Path]:
    """Local folders in search order, the one order of load_data, the main
    job and the notebooks: $TINYNN_DATASETS/<name>, each of `roots` (by
    default `default_roots()`)/<name>, the cache, system folders."""
    if roots is None:
        roots = default_roots()
    names = (dataset.name, *dataset.aliases)
    folders = []
    env = os.environ.get("TINYNN_DATASETS")
    if env:
        folders += [Path(env) / n for n in names]
    folders += [Path(root) / n for root in roots for n in names]
    folders += [cache_root() / dataset.name]
    folders += [Path(f) for f in dataset.system_folders]
    return list(dict.fromkeys(folders))


def _absent(folder: Path) -> str:
    """Why `folder` holds no complete dataset."""
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "is not a folder"
    missing = [s for s in FILES if _find_file(folder, s) is None]
    return f"lacks {', '.join(missing)} (.gz or raw)"


def search(
    dataset: Dataset, roots: Sequence[Any] | None = None, download: bool = False
) -> tuple[Data, Path, list[tuple[Path, str]]]:
    """(the data, the folder it came from, [(folder, why it was passed over)]).

    Each folder of `_candidate_folders` is tried in order; one that is
    missing files or fails to read (damaged, wrong checksum) is recorded and
    the search goes on, so a damaged first folder never hides a good later
    one. The cache's files are checked against their checksums. With
    `download`, files not found anywhere are fetched into the cache.

    Raises FileNotFoundError (nothing found) or ValueError (something found
    but damaged), either listing every folder read and why it was rejected.
    """
    where = f"{dataset.name}.load_data"
    rejected: list[tuple[Path, str]] = []
    cache = cache_root() / dataset.name
    for folder in _candidate_folders(dataset, roots):
        files = _complete(folder)
        if files is None:
            rejected.append((folder, _absent(folder)))
            continue
        try:
            if folder == cache:
                files = _verified_cache(dataset, download)
            return _load_files(files), folder, rejected
        except (ValueError, OSError) as exc:
            rejected.append((folder, f"is damaged: {exc}"))
    error: Exception | None = None
    if download:
        try:
            return _load_files(_cached_or_download(dataset)), cache, rejected
        except ConnectionError as exc:
            error = exc
    damaged = any(reason.startswith("is damaged") for _, reason in rejected)
    message = _not_found(dataset, where, error, rejected)
    raise (ValueError if damaged and error is None else FileNotFoundError)(message)


def _verified_cache(dataset: Dataset, download: bool) -> dict[str, Path]:
    """The cached files, each checked against its checksum; with `download`
    a damaged one is fetched again, else it is an error."""
    if download:
        return _cached_or_download(dataset)
    folder = cache_root() / dataset.name
    files = _complete(folder)
    assert files is not None
    for stem, path in files.items():
        if not _verified(dataset, stem, path.read_bytes()):
            raise ValueError(f"{path} fails its checksum")
    return files


def find_local(
    dataset: Dataset, roots: Sequence[Any] | None = None
) -> tuple[Path | None, list[Path]]:
    """(first folder holding all four files or None, the folders looked in)."""
    folders = _candidate_folders(dataset, roots)
    for folder in folders:
        if _complete(folder) is not None:
            return folder, folders
    return None, folders


def _complete(folder: Path) -> dict[str, Path] | None:
    found = {stem: _find_file(folder, stem) for stem in FILES}
    return found if all(found.values()) else None  # type: ignore[return-value]


def _check_pairs(arrays: list[np.ndarray], source: Any) -> None:
    """Images and labels of each split must have the same number of samples."""
    for images, labels, part in (
        (arrays[0], arrays[1], "train"),
        (arrays[2], arrays[3], "test"),
    ):
        if images.ndim < 1 or labels.ndim < 1 or len(images) != len(labels):
            raise ValueError(
                f"{source}: the {part} images hold {_samples(images)} but "
                f"the labels {_samples(labels)}; expected one label per image"
            )


def _samples(array: np.ndarray) -> str:
    return f"{len(array)} samples" if array.ndim else "a scalar"


def _load_files(files: dict[str, Path]) -> Data:
    x_train = _idx.read(files[FILES[0]], _idx.IMAGES_MAGIC)
    y_train = _idx.read(files[FILES[1]], _idx.LABELS_MAGIC)
    x_test = _idx.read(files[FILES[2]], _idx.IMAGES_MAGIC)
    y_test = _idx.read(files[FILES[3]], _idx.LABELS_MAGIC)
    _check_pairs([x_train, y_train, x_test, y_test], files[FILES[0]].parent)
    return (x_train, y_train), (x_test, y_test)


def _load_npz(path: Path) -> Data:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except KeyError as exc:
        raise ValueError(
            f"{path}: expected keys x_train, y_train, x_test, y_test; missing {exc}"
        ) from None
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz dataset ({exc})") from None
    _check_pairs(arrays, path)
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def _digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _verified(dataset: Dataset, stem: str, raw: bytes) -> bool:
    content = _idx.read_bytes_from(raw) if dataset.md5_of_decompressed else raw
    return _digest(content) == dataset.md5[stem]


def _download(dataset: Dataset, stem: str, folder: Path) -> Path:
    url = base_url(dataset) + f"{stem}.gz"
    print(f"Downloading data from {url}", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            raw = response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ConnectionError(f"could not download {url} ({exc})") from None
    if not _verified(dataset, stem, raw):
        raise ValueError(
            f"{url}: the downloaded file fails its checksum (damaged or "
            "not the official file); nothing was cached"
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.gz"
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
    try:
        os.chmod(temp, new_file_mode(target))
        with os.fdopen(handle, "wb") as file:
            file.write(raw)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def _cached_or_download(dataset: Dataset) -> dict[str, Path]:
    """Files in the cache, each verified; missing or damaged ones fetched."""
    folder = cache_root() / dataset.name
    files = {}
    for stem in FILES:
        path = _find_file(folder, stem)
        if path is not None and not _verified(dataset, stem, path.read_bytes()):
            print(
                f"tinynn: cached {path} fails its checksum; downloading it again",
                file=sys.stderr,
            )
            path.unlink()
            path = None
        files[stem] = path or _download(dataset, stem, folder)
    return files


def load(dataset: Dataset, path: Any = None, download: bool = True) -> Data:
    """Find (or download) and read the dataset; see mnist.load_data."""
    where = f"{dataset.name}.load_data"
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"{where}: path must be a folder or .npz file path; got "
                f"{type(path).__name__}"
            )
        given = Path(path)
        if given.suffix == ".npz" and given.is_file():
            return _load_npz(given)
        if given.suffix == ".npz" and given.name == str(path):
            # Keras's `path` is a cache file name under ~/.keras/datasets
            # ("mnist.npz" by default): read it there if Keras left one,
            # else find the data as load_data() does.
            keras_cache = Path.home() / ".keras" / "datasets" / given.name
            if keras_cache.is_file():
                return _load_npz(keras_cache)
            return search(dataset, download=download)[0]
        if not given.exists():
            raise FileNotFoundError(f"{where}: path {given} does not exist")
        files = _complete(given)
        if files is None:
            missing = [s for s in FILES if _find_file(given, s) is None]
            raise FileNotFoundError(
                f"{where}: {given} lacks {', '.join(missing)} (.gz or raw)"
            )
        return _load_files(files)
    return search(dataset, download=download)[0]


def _not_found(
    dataset: Dataset,
    where: str,
    error: Exception | None,
    rejected: Sequence[tuple[Path, str]] = (),
) -> str:
    looked = "; ".join(f"{folder} {why}" for folder, why in rejected) or ", ".join(
        str(f) for f in _candidate_folders(dataset)
    )
    reason = f" The download failed: {error}." if error else ""
    return (
        f"{where}: no readable {dataset.name} files (looked in: {looked}).{reason}"
        f" Put the four files ({', '.join(f + '.gz' for f in FILES)}) from "
        f"{base_url(dataset)} into {cache_root() / dataset.name}, or set "
        "TINYNN_DATASETS to a folder holding a "
        f"'{dataset.name}' subfolder with them."
    )
