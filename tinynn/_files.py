"""File permissions shared by every writer (model files, dataset cache).

Writers create a temporary file with ``tempfile.mkstemp`` (mode 0600) and
rename it over the target; `new_file_mode` is the mode to give it first, so
that the result has the permissions ``open()`` would give a new file, or
keeps those of the file it replaces.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["current_umask", "new_file_mode"]


def current_umask() -> int:
    """The process's umask, read without changing it where the system tells
    it (Linux's /proc), else by setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: Path) -> int:
    """The permission bits a file written to `path` gets: those of the
    regular file it replaces (an overwrite keeps its mode), else what
    ``open(path, "w")`` would give, 0666 & ~umask."""
    try:
        existing = os.stat(path)
    except OSError:
        existing = None
    if existing is not None and stat.S_ISREG(existing.st_mode):
        return stat.S_IMODE(existing.st_mode)
    return 0o666 & ~current_umask()
