"""Check a built wheel and sdist the way a maintainer would before publishing.

    python .ci/check_dist.py WHEEL SDIST

Fails (exit 1, one line per problem) unless: both carry the licences; the
sdist ships what its tests import; the wheel's metadata has one version (the
one in tinynn/_version.py), the run-time dependencies, classifiers and a
README with no links that only resolve inside the repository; the compiled
module has no debug sections. Needs pyelftools (installed with auditwheel).
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from elftools.elf.elffile import ELFFile

ROOT = Path(__file__).resolve().parents[1]
SDIST_NEEDS = [
    "LICENSE",
    "tests/conftest.py",
    "tests/reference.py",
    "tests/model_reference.py",
    "tests/fixtures/keras/keras2_expected.json",
    "tests/fixtures/keras/keras3_flatten_adam.keras",
    "tinynn/datasets/data/README.md",
    "tinynn/datasets/data/mnist_sample.npz",
    "csrc/tinynn.h",
]


def source_version() -> str:
    """The one version, in tinynn/_version.py."""
    tree = ast.parse((ROOT / "tinynn" / "_version.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "__version__":
            return node.value.value
    raise SystemExit("tinynn/_version.py has no __version__")


def check_wheel(path: Path) -> list[str]:
    problems = []
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(wheel.read(metadata_name).decode())
        modules = [n for n in names if re.fullmatch(r"tinynn/_core\..*\.so", n)]
        elf_sections = {
            n: [s.name for s in ELFFile(io.BytesIO(wheel.read(n))).iter_sections()]
            for n in modules
        }
    for needed in ("licenses/LICENSE", "licenses/tinynn/datasets/data/README.md"):
        if not any(n.endswith(".dist-info/" + needed) for n in names):
            problems.append(f"wheel: no {needed} in .dist-info")
    if "tinynn/datasets/data/mnist_sample.npz" not in names:
        problems.append("wheel: the MNIST sample is missing")
    if metadata["Version"] != source_version():
        problems.append(f"wheel: version {metadata['Version']} != {source_version()}")
    if metadata["License-Expression"] != "MIT AND CC-BY-SA-3.0":
        problems.append(
            f"wheel: License-Expression is {metadata['License-Expression']}"
        )
    unconditional = [
        re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0]
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    ]
    for dependency in ("numpy", "matplotlib", "h5py"):
        if dependency not in unconditional:
            problems.append(f"wheel: {dependency} is not a run-time dependency")
    if not metadata.get_all("Classifier") or not metadata["Author"]:
        problems.append("wheel: no classifiers or no author")
    readme = metadata.get_payload()
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        if not target.startswith(("https://", "http://")):
            problems.append(
                f"wheel: README link {target!r} does not resolve on an index"
            )
    if len(modules) != 1:
        problems.append(f"wheel: expected one tinynn/_core*.so, found {modules}")
    for name, sections in elf_sections.items():
        debug = [s for s in sections if s.startswith((".debug", ".zdebug"))]
        if debug or ".symtab" in sections:
            problems.append(f"wheel: {name} is not stripped ({debug or '.symtab'})")
    return problems


def check_sdist(path: Path) -> list[str]:
    with tarfile.open(path) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    return [f"sdist: {n} is missing" for n in SDIST_NEEDS if n not in names]


def main(wheel: str, sdist: str) -> int:
    problems = check_wheel(Path(wheel)) + check_sdist(Path(sdist))
    for problem in problems:
        print("check_dist:", problem)
    if not problems:
        print(
            f"check_dist: {Path(wheel).name} and {Path(sdist).name} are fit to publish"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
