"""Build the C extension tinynn._core (everything else is in pyproject.toml).

Flags: -O3, never -march=native or -ffast-math (the SIMD paths are chosen at
run time, and fast-math would break the NaN checks). Threads are the core's
own pthread pool, so every compiler builds the same multi-threaded module.
Each SIMD path file (csrc/path_*.c) is compiled alone with its instruction
set's flags, which gcc and clang both honour; a compiler that rejects them
still builds the file, and the path then reports itself as not built and is
never offered. Release builds carry no debug info and are stripped;
TINYNN_SANITIZE=1 builds for AddressSanitizer/UBSan, TINYNN_SANITIZE=thread for
ThreadSanitizer (both with -g).

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
    "threads_posix.c",
    "kernels_f32.c",
    "kernels_f64.c",
    "path_portable.c",
]
# Path files compiled with their own instruction-set flags (each compiles to
# nothing on other machines): avx2 and avx512 on x86-64; neon on aarch64 needs
# no flags (AdvSIMD is part of the ARMv8-A baseline).
PATH_FLAGS = {
    "path_avx2.c": ["-mavx2", "-mfma"],
    "path_avx512.c": ["-mavx512f", "-mfma"],
    "path_neon.c": [],
}
OPTIMISED = ["-O3", "-fno-math-errno", "-std=gnu11", "-pthread"]
DEBUG_OFF = ["-g0"]  # release builds carry no debug info
SANITIZERS = {
    "1": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"],
    "thread": ["-fsanitize=thread"],
}


def compiler_accepts(compiler: list[str], flags: list[str]) -> bool:
    """True when the C compiler builds a tiny object file with `flags`."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "probe.c")
        src.write_text("int probe(void) { return 0; }\n")
        cmd = [*compiler, *flags, "-c", str(src), "-o", str(Path(tmp, "probe.o"))]
        return subprocess.run(cmd, capture_output=True).returncode == 0


class BuildExt(build_ext):
    """Per-file SIMD flags and the sanitizer flags on request; copies the built
    module into the source folder."""

    def build_extension(self, ext: Extension) -> None:
        sanitize = SANITIZERS.get(os.environ.get("TINYNN_SANITIZE", ""))
        if sanitize:
            compile_args = [
                "-O1",
                "-g",
                "-std=gnu11",
                "-pthread",
                "-fno-omit-frame-pointer",
                *sanitize,
            ]
            link_args = [*sanitize, "-pthread"]
        else:
            compile_args, link_args = [*OPTIMISED, *DEBUG_OFF], ["-pthread", "-s"]
        compiler = list(self.compiler.compiler_so[:1])
        ext.extra_compile_args = compile_args
        ext.extra_link_args = link_args
        ext.extra_objects = [
            *ext.extra_objects,
            *self._compile_path_files(ext, compiler, compile_args),
        ]
        super().build_extension(ext)

    def _compile_path_files(
        self, ext: Extension, compiler: list[str], compile_args: list[str]
    ) -> list[str]:
        objects = []
        for name, flags in PATH_FLAGS.items():
            if not compiler_accepts(compiler, flags):
                print(
                    f"tinynn: the compiler rejects {' '.join(flags)}; "
                    f"{name} is built without them and its path disabled",
                    file=sys.stderr,
                )
                flags = []
            objects += self.compiler.compile(
                [str(CSRC / name)],
                output_dir=self.build_temp,
                macros=ext.define_macros,
                include_dirs=ext.include_dirs,
                extra_postargs=[*compile_args, *flags],
                depends=ext.depends,
            )
        return objects

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
    sources=[str(CSRC / name) for name in SOURCES],
    depends=[str(p) for p in CSRC.glob("*.[hi]*")],
    include_dirs=[numpy.get_include(), str(CSRC)],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(ext_modules=[core], cmdclass={"build_ext": BuildExt})
