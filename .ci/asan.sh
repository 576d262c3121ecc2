#!/usr/bin/env bash
# Build tinynn._core with AddressSanitizer + UBSan in a scratch copy of the
# sources (so no sanitized module is left in the tree) and run the kernel,
# extension and model tests against it. Any sanitizer report fails the run:
# -fno-sanitize-recover=all turns each into a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r setup.py pyproject.toml README.md LICENSE MANIFEST.in csrc tinynn tests "$scratch"/
rm -f "$scratch"/tinynn/_core*.so
cd "$scratch"
TINYNN_SANITIZE=1 python setup.py -q build_ext --inplace >build.log 2>&1 || {
    cat build.log; exit 1; }
# The ASan runtime must be loaded first; the interpreter's own allocations at
# exit are not leaks of ours, hence detect_leaks=0. The main-command test
# starts a child Python that loads matplotlib's C++ code, which the preloaded
# ASan runtime cannot host; it runs in the normal suite instead.
LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1 \
python -m pytest -q -p no:cacheprovider -x \
    tests/test_core_kernels.py tests/test_core_errors.py \
    tests/test_core_gradcheck.py tests/test_models.py \
    --deselect tests/test_models.py::test_main_command_runs_on_the_bundled_sample
