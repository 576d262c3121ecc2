#!/usr/bin/env bash
# Build tinynn._core with a sanitizer in a scratch copy of the sources (so no
# instrumented module is left in the tree) and run the in-process C-core
# tests against it. Any report fails the run.
#   bash .ci/sanitize.sh address   AddressSanitizer + UBSan: kernels,
#                                  extension, models and the thread tests
#   bash .ci/sanitize.sh thread    ThreadSanitizer: the worker pool under the
#                                  kernel and thread tests
set -euo pipefail
mode=${1:?usage: sanitize.sh address|thread}
cd "$(dirname "$0")/.."
. .ci/scratch.sh

# Tests that start other interpreters (they would load the uninstrumented,
# installed tinynn under the preloaded runtime) run in the normal suite.
in_process_only=(
    --deselect tests/test_models.py::test_main_command_runs_on_the_bundled_sample
    -k "not fork and not affinity and not environment_variable and not default_thread_count and not objdump and not binary_contains"
)
case "$mode" in
address)
    build=1
    runtime=$(gcc -print-file-name=libasan.so)
    # The interpreter's own allocations at exit are not leaks of ours.
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
    export UBSAN_OPTIONS=print_stacktrace=1
    tests=(tests/test_core_kernels.py tests/test_core_errors.py
           tests/test_core_gradcheck.py tests/test_models.py tests/test_threads.py
           tests/test_merge_kernels.py tests/test_conv_kernels.py
           tests/test_conv_layers.py tests/test_pool_embedding_kernels.py
           tests/test_pool_dropout_fast.py tests/test_conv_pool_fusion.py
           tests/test_relu_gated_pool.py tests/test_uniform_draws.py
           tests/test_shared_reshape_gradients.py tests/test_dense_epilogues.py
           tests/test_steps_in_backward.py tests/test_relu_gated_dense.py)
    ;;
thread)
    build=thread
    runtime=$(gcc -print-file-name=libtsan.so)
    # halt_on_error: the first race fails the run; Python itself is not
    # instrumented, so only the core's own accesses are checked.
    export TSAN_OPTIONS=halt_on_error=1:exitcode=66:report_signal_unsafe=0
    # NumPy's OpenBLAS (the tests' reference products) has a thread pool of
    # its own that TSan cannot follow; it is not under test here.
    export OPENBLAS_NUM_THREADS=1
    tests=(tests/test_core_kernels.py tests/test_threads.py
           tests/test_merge_kernels.py tests/test_conv_kernels.py
           tests/test_pool_embedding_kernels.py tests/test_pool_dropout_fast.py
           tests/test_conv_pool_fusion.py tests/test_relu_gated_pool.py
           tests/test_uniform_draws.py tests/test_dense_epilogues.py)
    ;;
*)
    echo "sanitize.sh: mode must be 'address' or 'thread'; got '$mode'" >&2
    exit 2
    ;;
esac
CC=gcc TINYNN_SANITIZE=$build python setup.py -q build_ext --inplace \
    >build.log 2>&1 || { cat build.log; exit 1; }
# The sanitizer runtime must be loaded before the interpreter's libraries;
# --capture=sys leaves file descriptor 2 alone so its reports are seen.
LD_PRELOAD="$runtime" python -m pytest -q -p no:cacheprovider -x --capture=sys \
    "${tests[@]}" "${in_process_only[@]}"
