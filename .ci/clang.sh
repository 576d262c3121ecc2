#!/usr/bin/env bash
# Build tinynn._core with clang (no OpenMP runtime involved: the pool is the
# core's own) in a scratch copy and run the kernel and thread tests against
# it: the clang module must be multi-threaded, hold the AVX2 and AVX-512
# paths, and give the same bit-identical results for any thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null; then
    echo "clang.sh: installing clang"
    if ! { apt-get update -qq && apt-get install -y -qq clang >/dev/null; }; then
        echo "clang.sh: clang is not installed and could not be installed" >&2
        exit 1
    fi
fi
. .ci/scratch.sh
CC=clang python setup.py -q build_ext --inplace >build.log 2>&1 || {
    cat build.log; exit 1; }
if grep -qi "warning" build.log; then
    cat build.log; echo "clang.sh: the clang build warns" >&2; exit 1
fi
export PYTHONPATH="$scratch"
python - "$scratch" <<'PY'
import sys
from tinynn import _core
assert _core.__file__.startswith(sys.argv[1]), f"imported {_core.__file__}"
print("clang build:", _core.__file__, "simd", _core.simd(), "threads",
      _core.get_num_threads())
PY
python -m pytest -q -p no:cacheprovider -x \
    tests/test_core_kernels.py tests/test_threads.py tests/test_dense_epilogues.py
