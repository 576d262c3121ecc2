"""The README's two commands, as a newcomer types them: taken from README.md's
"The two commands" section (not retyped here), run with bash in a fresh clone
of the current commit and a fresh virtual environment, from the clone's root,
with ../shared/datasets beside the clone as in the project's layout; and the
quick start's listing, copied, on the plain install the first command made.

Slow (two builds of the C core, two one-epoch MNIST runs): CI runs
it as a step of its own (TINYNN_CI=1 there turns a skip into a failure).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def skip_or_fail(reason: str) -> None:
    if os.environ.get("TINYNN_CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def fenced_blocks(readme: str, heading: str, language: str) -> list[str]:
    """The fenced `language` blocks of the section '## heading'."""
    section = re.search(rf"^## {heading}\n(.*?)(?=^## )", readme, re.M | re.S)
    assert section, f"README.md has no '## {heading}' section"
    blocks = re.findall(rf"^```{language}\n(.*?)^```", section.group(1), re.M | re.S)
    return [block.strip() for block in blocks]


def readme_commands(readme: str) -> list[str]:
    return fenced_blocks(readme, "The two commands", "bash")


def quick_start(readme: str) -> str:
    """The quick start's first listing, with one epoch instead of five."""
    code = fenced_blocks(readme, "Quick start", "python")[0]
    assert "epochs=5" in code and 'model.save("digits.h5")' in code
    return code.replace("epochs=5", "epochs=1")


def test_readme_has_exactly_two_one_line_commands_and_a_quick_start():
    readme = (ROOT / "README.md").read_text()
    commands = readme_commands(readme)
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    assert "python -m tinynn" in commands[0] and "pytest" in commands[1]
    compile(quick_start(readme), "quick start", "exec")


def datasets_folder() -> Path | None:
    """The folder holding mnist/ that CI and the tests use, if any."""
    for folder in (
        os.environ.get("TINYNN_DATASETS"),
        ROOT.parent / "shared" / "datasets",
    ):
        if folder and (Path(folder) / "mnist").is_dir():
            return Path(folder).resolve()
    return None


@pytest.mark.slow
def test_readme_commands_work_verbatim_in_a_fresh_clone_and_venv(tmp_path):
    if shutil.which("git") is None:
        skip_or_fail("needs git")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        skip_or_fail(f"{ROOT} is not a git checkout (an sdist?)")
    commands = readme_commands((ROOT / "README.md").read_text())
    assert len(commands) == 2, commands

    clone = tmp_path / "tinynn"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(
        ["git", "-C", str(clone), "checkout", "-q", "--detach", head.stdout.strip()],
        check=True,
    )
    datasets = datasets_folder()
    if datasets is not None:  # ../shared/datasets, as beside the project's clones
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "datasets").symlink_to(datasets)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)

    # What a user's shell has after `source venv/bin/activate`; none of the
    # test run's own settings (datasets, plot backend, pytest options).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TINYNN_", "PYTEST", "MPLBACKEND", "PYTHON"))
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        VIRTUAL_ENV=str(venv),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        TINYNN_EPOCHS="1",  # the command's default of 10 adds minutes, not checks
    )

    def run(command: str, **extra: str) -> str:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=clone,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=3600,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{command!r} failed:\n{output[-6000:]}"
        return result.stdout

    main_output = run(commands[0])
    plot = clone / "history.png"
    assert plot.is_file(), main_output[-3000:]
    assert plot.read_bytes()[:8] == PNG_SIGNATURE
    assert "test accuracy:" in main_output and "history plot written" in main_output
    if datasets is not None:
        assert "tinynn: MNIST from" in main_output and "shared" in main_output
        # The quick start, copied, runs on this plain install (h5py, matplotlib).
        script = tmp_path / "quick_start.py"
        script.write_text(quick_start((clone / "README.md").read_text()))
        run(f"cd {tmp_path} && python {script}", TINYNN_DATASETS=str(datasets))
        assert (tmp_path / "digits.h5").read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
        assert (tmp_path / "history.png").read_bytes()[:8] == PNG_SIGNATURE
    # The second command, verbatim; PYTEST_ADDOPTS narrows it to two fast files
    # (CI runs the whole suite elsewhere, and this test must not run itself).
    test_output = run(
        commands[1],
        PYTEST_ADDOPTS="-q -p no:cacheprovider -m 'not slow' "
        "tests/test_core_errors.py tests/test_saving.py",
    )
    assert " passed" in test_output and " failed" not in test_output
    # `python -m pytest` imports the source folder first; it must work too.
    run("python -m pytest --collect-only -q -p no:cacheprovider")
