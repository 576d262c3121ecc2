"""One file of a dataset (an .npz, a .json, a .tar.gz): found, or downloaded,
checked against its published hash and cached atomically.

Search order for ``fetch(name, filename, ...)``: `path` itself when it is an
existing file; ``$TINYNN_DATASETS/<name>/<filename>``; the cache
``~/.tinynn/datasets/<name>/<filename>`` (verified each time, fetched again
when damaged); finally a download from the official URL (or
``$TINYNN_DATASETS_URL`` + filename), verified before it is cached.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ._loader import cache_root


def digest(path: Path, expected: str) -> bool:
    """Whether the file's sha256 (64 hex digits) or md5 (32) is `expected`,
    the rule Keras's get_file follows."""
    algorithm = hashlib.sha256 if len(expected) == 64 else hashlib.md5
    h = algorithm()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest() == expected


def fetch(name: str, filename: str, url: str, file_hash: str, path: Any = None) -> Path:
    """The local path of `filename` of dataset `name` (see the module doc)."""
    where = f"{name}.load_data"
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"{where}: path must be a file path; got {type(path).__name__}"
            )
        given = Path(path).expanduser()
        if given.is_file():
            return given
        filename = given.name
    env = os.environ.get("TINYNN_DATASETS")
    if env and (Path(env) / name / filename).is_file():
        return Path(env) / name / filename
    cached = cache_root() / name / filename
    if cached.is_file():
        if digest(cached, file_hash):
            return cached
        print(
            f"tinynn: cached {cached} fails its checksum; downloading it again",
            file=sys.stderr,
        )
        cached.unlink()
    base = os.environ.get("TINYNN_DATASETS_URL")
    source = (base.rstrip("/") + "/" + filename) if base else url
    print(f"Downloading data from {source}", flush=True)
    cached.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{filename}.", dir=cached.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            try:
                with urllib.request.urlopen(source, timeout=30) as response:
                    for block in iter(lambda: response.read(1 << 20), b""):
                        file.write(block)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise FileNotFoundError(
                    f"{where}: {filename} is not on disk and could not be downloaded "
                    f"from {source} ({exc}); put the file into {cached.parent} or into "
                    f"$TINYNN_DATASETS/{name}/"
                ) from None
        if not digest(Path(temp), file_hash):
            raise ValueError(
                f"{where}: the file downloaded from {source} fails its checksum "
                "(damaged or not the official file); nothing was cached"
            )
        os.replace(temp, cached)
    finally:
        Path(temp).unlink(missing_ok=True)
    return cached
