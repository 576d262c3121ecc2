"""Reading IDX files (the MNIST format), gzip-compressed or raw.

Header: two zero bytes, a type byte (0x08 = unsigned byte), the number of
dimensions, then one big-endian uint32 per dimension; the payload follows.
Labels are 1-D (magic 0x00000801), images 3-D (0x00000803).
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

LABELS_MAGIC = 0x00000801
IMAGES_MAGIC = 0x00000803


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed if it is gzip."""
    return read_bytes_from(Path(path).read_bytes(), str(path))


def read_bytes_from(data: bytes, source: str = "data") -> bytes:
    """`data` decompressed if it is gzip, else unchanged."""
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{source}: damaged gzip file ({exc}); delete it and fetch it again"
            ) from None
    return data


def parse(data: bytes, expected_magic: int, source: str) -> np.ndarray:
    """The uint8 array held by IDX bytes, checking magic, sizes and payload."""
    if len(data) < 8:
        raise ValueError(
            f"{source}: not an IDX file: {len(data)} bytes, too short for a header"
        )
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        kind = "labels" if expected_magic == LABELS_MAGIC else "images"
        raise ValueError(
            f"{source}: wrong magic number 0x{magic:08x}; expected 0x{expected_magic:08x} "
            f"(IDX {kind}). Is this an HTML error page or a different file?"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{source}: truncated header ({len(data)} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    # Python's exact product: numpy's int64 one wraps for (2**31, 2**31, 4),
    # which would match an empty payload and end in a bare reshape error.
    expected = math.prod(dims)
    payload = len(data) - header
    if payload != expected:
        raise ValueError(
            f"{source}: payload has {payload} bytes; the header "
            f"{tuple(dims)} says {expected} (truncated or damaged file)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def read(path: Path, expected_magic: int) -> np.ndarray:
    """Read and check one IDX file."""
    return parse(read_bytes(path), expected_magic, str(path))
