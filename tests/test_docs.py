"""The documentation's examples run: every ```python block of README.md and of
each docs/*.md page, the blocks of one page in order, in one fresh Python
process (a later block may use what an earlier one defined), in an empty
temporary folder, on the bundled MNIST sample with no network.

A block right after a line `<!-- no-run: reason -->` is not run; the reason
says why (full MNIST, minutes of training) and what runs it instead. A block
whose language is a Python alias other than `python` fails the test, so that no
example escapes it by its spelling. Also: the MkDocs site lists every page (no
`nav:` in mkdocs.yml, or one naming every docs/*.md), and, where mkdocs is
installed (`pip install ".[docs]"`), `mkdocs build --strict` passes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# README.md is copied beside the tests of an installed wheel; docs/ may not be.
PAGES = [p for p in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))] if p.is_file()]

FENCE = re.compile(r"^(`{3,})([^\n`]*)\n(.*?)^\1[ \t]*$", re.M | re.S)
NO_RUN = re.compile(r"<!--\s*no-run:\s*(\S.*?)\s*-->\s*\Z", re.S)
PYTHON_ALIASES = {"py", "python3", "py3", "pycon", "ipython", "Python"}


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, source) of each block to run, in page order."""
    blocks = []
    for match in FENCE.finditer(text):
        language = match.group(2).strip().split(" ")[0] if match.group(2) else ""
        line = text.count("\n", 0, match.start()) + 1
        if language in PYTHON_ALIASES:
            raise AssertionError(
                f"line {line}: a ```{language} block would not be run; "
                "write ```python (or ```text for output)"
            )
        if language != "python":
            continue
        if NO_RUN.search(text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]):
            continue
        blocks.append((line + 1, match.group(3)))
    return blocks


# Runs in the child: each block compiled under the page's name and its real
# line numbers, so a traceback points into the markdown file.
DRIVER = """
import json, sys
page, blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for line, source in blocks:
    code = compile("\\n" * (line - 1) + source, page, "exec")
    exec(code, namespace)
"""


def run_page(page: Path, blocks: list[tuple[int, str]], folder: Path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TINYNN"))
    }
    # The repository first, as `python -m pytest` has it; an empty home, no
    # datasets folder and a download address that refuses: an example has the
    # bundled sample only, and cannot reach the network.
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        MPLBACKEND="Agg",
        HOME=str(folder),
        TINYNN_DATASETS=str(folder / "no-datasets-here"),
        TINYNN_DATASETS_URL="http://127.0.0.1:9/",  # refused at once
    )
    return subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps([str(page.relative_to(ROOT)), blocks]),
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_run(page, tmp_path):
    blocks = python_blocks(page.read_text())
    if not blocks:
        pytest.skip(f"{page.name} has no python example to run")
    result = run_page(page, blocks, tmp_path)
    assert result.returncode == 0, (
        f"an example in {page.relative_to(ROOT)} failed:\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )


def test_a_failing_example_fails_and_names_its_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\ntext\n\n```python\nassert x == 2\n```\n"
    )
    blocks = python_blocks(page.read_text())
    assert [line for line, _ in blocks] == [4, 10]
    result = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps([str(page), blocks]),
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f'File "{page}", line 10' in result.stderr, result.stderr


def test_the_conventions():
    text = (
        "```python\na = 1\n```\n"
        "<!-- no-run: needs full MNIST -->\n```python\nb = 2\n```\n"
        "```bash\necho hi\n```\n"
        "````markdown\n```python\nc = 3\n```\n````\n"
    )
    assert [src for _, src in python_blocks(text)] == ["a = 1\n"]
    with pytest.raises(AssertionError, match="would not be run"):
        python_blocks("```py\nprint(1)\n```\n")
    # A no-run comment without a reason does not count.
    assert len(python_blocks("<!-- no-run -->\n```python\nd = 4\n```\n")) == 1


def test_no_run_exceptions_are_rare():
    """Each no-run block says why; there are few of them."""
    reasons = [
        match.group(1)
        for page in PAGES
        for match in re.finditer(r"<!--\s*no-run:\s*(.*?)\s*-->", page.read_text())
    ]
    assert all(len(reason) >= 20 for reason in reasons), reasons
    assert len(reasons) <= max(3, len(PAGES) // 3), reasons


@pytest.mark.skipif(not (ROOT / "mkdocs.yml").is_file(), reason="no mkdocs.yml")
def test_site_lists_every_page():
    config = (ROOT / "mkdocs.yml").read_text()
    nav = re.search(r"^nav:\s*\n((?:[ \t-].*\n?)*)", config, re.M)
    if nav is None:
        return  # MkDocs then lists every page under docs/ by itself
    missing = [p.name for p in DOCS.glob("*.md") if p.name not in nav.group(1)]
    assert not missing, f"pages missing from mkdocs.yml's nav: {missing}"


@pytest.mark.skipif(not (ROOT / "mkdocs.yml").is_file(), reason="no mkdocs.yml")
def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("mkdocs", reason='pip install ".[docs]"')
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"]
        + ["--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pages = {p.stem for p in DOCS.glob("*.md")} - {"index"}
    built = {p.parent.name for p in (tmp_path / "site").glob("*/index.html")}
    assert pages <= built, f"not in the site: {pages - built}"


def test_readme_links_resolve_on_an_index():
    """README.md is also the package's description on an index, where a link
    into the repository (docs/api.md) resolves nowhere: name such files as code.
    (.ci/check_dist.py checks the built wheel's copy the same way.)"""
    readme = (ROOT / "README.md").read_text()
    relative = [
        target
        for target in re.findall(r"\]\(([^)]+)\)", readme)
        if not target.startswith(("https://", "http://"))
    ]
    assert not relative, (
        f"README.md links that only resolve in the repository: {relative}"
    )
