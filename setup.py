"""Build the C extension tinynn._core (everything else is in pyproject.toml).

Flags: -O3, OpenMP when the compiler has it, never -march=native or
-ffast-math (the SIMD paths are chosen at run time, and fast-math would break
the NaN checks); no debug info and stripped symbols in release builds.
TINYNN_SANITIZE=1 builds for AddressSanitizer/UBSan instead (with -g).

Every build also copies the compiled module into the source folder
(tinynn/_core*.so, git-ignored). `pip install .` followed by `python -m
tinynn` or `python -m pytest` in the repository root imports the source folder,
not the installed package, because Python puts the current directory first on
sys.path; with the copy there, both work as the README says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = Path("csrc")
SOURCES = [
    "module.c",
    "checks.c",
    "dispatch.c",
    "kernels_f32.c",
    "kernels_f64.c",
    "gemm_x86.c",
]
# -g0 overrides the -g that Python's own CFLAGS add; -s drops the symbol table
# (the module's entry point is in the dynamic symbol table, which stays).
OPTIMISED = ["-O3", "-fno-math-errno", "-std=gnu11", "-g0"]
OPTIMISED_LINK = ["-s"]
SANITIZED = [
    "-O1",
    "-g",
    "-std=gnu11",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
]


def compiler_accepts(compiler: list[str], flag: str) -> bool:
    """True when the C compiler builds and links a tiny program with `flag`."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "probe.c")
        src.write_text("#include <omp.h>\nint main(void){return omp_get_max_threads()<0;}\n")
        cmd = [*compiler, flag, str(src), "-o", str(Path(tmp, "probe"))]
        return subprocess.run(cmd, capture_output=True).returncode == 0


class BuildExt(build_ext):
    """Adds OpenMP when available and the sanitizer flags on request; copies the
    built module into the source folder."""

    def build_extensions(self) -> None:
        compiler = list(getattr(self.compiler, "compiler_so", ["cc"]))[:1]
        sanitize = os.environ.get("TINYNN_SANITIZE") == "1"
        compile_args = SANITIZED if sanitize else OPTIMISED
        link_args = ["-fsanitize=address,undefined"] if sanitize else OPTIMISED_LINK
        if shutil.which(compiler[0]) and compiler_accepts(compiler, "-fopenmp"):
            compile_args = [*compile_args, "-fopenmp"]
            link_args = [*link_args, "-fopenmp"]
        else:
            print("tinynn: building without OpenMP (single-threaded)", file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = compile_args
            ext.extra_link_args = link_args
        super().build_extensions()

    def run(self) -> None:
        super().run()
        if self.inplace:
            return  # already built into the source folder
        source_root = Path(__file__).resolve().parent
        for ext in self.extensions:
            built = Path(self.get_ext_fullpath(ext.name))
            target = source_root / self.get_ext_filename(ext.name)
            if built.is_file() and target.parent.is_dir():
                shutil.copyfile(built, target)


core = Extension(
    "tinynn._core",
    sources=[str(CSRC / name) for name in SOURCES if (CSRC / name).exists()],
    depends=[str(p) for p in CSRC.glob("*.[hi]*")],
    include_dirs=[numpy.get_include(), str(CSRC)],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(ext_modules=[core], cmdclass={"build_ext": BuildExt})
