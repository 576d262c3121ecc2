"""After `make dev`, Python started in the clone's parent folder imports the
installed tinynn, not the clone folder as a namespace package (issue #20)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    not (ROOT / "Makefile").exists(),
    reason="no Makefile beside tests/ (tests run from an sdist or wheel check)",
)
def test_make_dev_uses_a_path_entry_not_a_finder():
    dev = re.search(r"^dev:.*?(?=^\S)", (ROOT / "Makefile").read_text(), re.M | re.S)
    assert dev and "editable_mode=compat" in dev.group(0)


def imported_from(folder: Path) -> str:
    """Where `import tinynn` comes from for Python started in `folder`."""
    return subprocess.run(
        [sys.executable, "-c", "import tinynn; print(tinynn.__file__)"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_parent_folder_with_a_tinynn_folder_still_imports_the_package(tmp_path):
    """A folder named tinynn in the current folder (the clone, seen from its
    parent) must not shadow the installed package as a namespace package:
    Python started there imports the same tinynn as anywhere else."""
    plain, parent = tmp_path / "plain", tmp_path / "parent"
    plain.mkdir()
    (parent / "tinynn").mkdir(parents=True)
    elsewhere = imported_from(plain)
    beside_a_folder = imported_from(parent)
    assert beside_a_folder != "None" and beside_a_folder == elsewhere, (
        f"tinynn imported as {beside_a_folder} (elsewhere {elsewhere}): an editable "
        "install made by plain `pip install -e .` (a meta-path finder) loses to the "
        "folder; use make dev"
    )
