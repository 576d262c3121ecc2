"""CIFAR-10/100 from the official BINARY archives (never the pickled
"python version"): records of label byte(s) then 3,072 pixel bytes (1,024
red, 1,024 green, 1,024 blue, each 32x32 row-major), read straight out of
the .tar.gz without extracting it.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

PIXELS = 3 * 32 * 32


def read_records(
    archive: Path, member: str, label_bytes: int, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 32, 32, 3), labels uint8 (n, label_bytes)) of one
    binary file inside the archive."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            try:
                info = tar.getmember(member)
            except KeyError:
                raise ValueError(
                    f"{where}: {archive} has no {member} (is it the binary version, "
                    "cifar-*-binary.tar.gz?)"
                ) from None
            handle = tar.extractfile(info)
            if handle is None:
                raise ValueError(f"{where}: {member} in {archive} is not a file")
            raw = handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(
            f"{where}: {archive} is not a readable .tar.gz ({exc})"
        ) from None
    record = label_bytes + PIXELS
    if len(raw) % record:
        raise ValueError(
            f"{where}: {member} holds {len(raw)} bytes, not a whole number of "
            f"{record}-byte records"
        )
    rows = np.frombuffer(raw, np.uint8).reshape(-1, record)
    labels = rows[:, :label_bytes].copy()
    images = rows[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels
