"""The committed notebooks as files (no kernel, no MNIST): their stored outputs
are what a reader sees, and nothing in them changes on a re-run but the run's
own results, so re-running a notebook gives a readable diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FILES = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.skipif(not FILES, reason="no notebooks/ folder beside tests/")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_stored_outputs_are_as_displayed_and_stable(path):
    cells = json.loads(path.read_text())["cells"]
    for number, cell in enumerate(cells):
        # Random ids and execution timestamps would change on every re-run.
        assert cell["id"] == f"{path.stem[:3]}-{number:02d}"
        assert "execution" not in cell["metadata"]
        streams = [
            (o["name"], "".join(o["text"]))
            for o in cell.get("outputs", [])
            if o["output_type"] == "stream"
        ]
        names = [name for name, _ in streams]
        assert all(a != b for a, b in zip(names, names[1:])), (
            f"cell {number}: consecutive {names} outputs are not merged"
        )
        for name, text in streams:
            assert "\r" not in text, f"cell {number}: {name} keeps carriage returns"


@pytest.mark.skipif(not FILES, reason="no notebooks/ folder beside tests/")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_figures_repeat_on_a_rerun(path):
    """docs/notebooks.md quotes each notebook's figures as exact: every notebook
    that draws random numbers seeds them (004 draws none)."""
    if path.stem.startswith("004"):
        return
    sources = [
        "".join(cell["source"])
        for cell in json.loads(path.read_text())["cells"]
        if cell["cell_type"] == "code"
    ]
    assert any("set_seed(" in s for s in sources), f"{path.name} sets no seed"
