#!/usr/bin/env bash
# The C kernels without Python on every SIMD path: tests/c/run_neon.sh builds
# its C driver natively (the x86-64 paths), then cross-compiled for aarch64
# and run under qemu (the portable and neon paths). Installs the cross
# compiler and qemu first when they are missing. About a minute and a half
# on two busy cores. With --install-only, only the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-gcc >/dev/null ||
    ! { command -v qemu-aarch64 || command -v qemu-aarch64-static; } >/dev/null; then
    echo "neon.sh: installing the aarch64 cross compiler and qemu"
    if ! { apt-get update -qq &&
        apt-get install -y -qq gcc-aarch64-linux-gnu qemu-user \
            libc6-dev-arm64-cross >/dev/null; }; then
        echo "neon.sh: the cross compiler or qemu could not be installed" >&2
        exit 1
    fi
fi
# --install-only: CI installs the tools here and lets the test suite run them.
if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
NEON_NO_INSTALL=1 bash tests/c/run_neon.sh
