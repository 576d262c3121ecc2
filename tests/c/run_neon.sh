#!/usr/bin/env bash
# run_neon.sh - check the C core's kernels without Python on every SIMD path
# this machine can reach: the driver tests/c/kernel_check.c built natively
# with gcc (the x86-64 paths on an x86-64 machine), then cross-compiled with
# aarch64-linux-gnu-gcc -static and run under qemu-aarch64 (portable and
# neon). The kernel files and each path file's flags come from setup.py
# (SOURCES without module.c and checks.c, which need Python; PATH_FLAGS).
#
#   bash tests/c/run_neon.sh
#
# When the cross compiler or qemu is missing, the script installs them with
# apt-get if it can (root; NEON_NO_INSTALL=1 turns this off) and otherwise
# skips the aarch64 half with a message. Ends with "N passed, M failed" over
# both halves; exits non-zero on any failure or build error.
set -uo pipefail
cd "$(dirname "$0")/../.."
CC_NATIVE=${CC:-gcc}
CROSS=aarch64-linux-gnu-gcc
CFLAGS=(-O2 -std=gnu11 -pthread -fno-math-errno -Wall -Wextra -Icsrc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "file flag..." per line: kernel files (no flags), then path files.
python3 - >"$work/files" <<'PY' || { echo "run_neon.sh: cannot read setup.py" >&2; exit 2; }
import ast
values = {}
for node in ast.parse(open("setup.py").read()).body:
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
        if node.targets[0].id in ("SOURCES", "PATH_FLAGS"):
            values[node.targets[0].id] = ast.literal_eval(node.value)
for name in values["SOURCES"]:
    if name not in ("module.c", "checks.c"):
        print(name)
for name, flags in values["PATH_FLAGS"].items():
    print(name, *flags)
PY

total_passed=0
total_failed=0

# build CC OUT EXTRA_LINK_FLAGS...: compile every kernel file (a path file
# without its flags when CC rejects them, as setup.py does) and link the
# driver into OUT.
build() {
    local cc=$1 out=$2
    shift 2
    mkdir -p "$out"
    local objects=() name flags
    while read -r name flags; do
        # shellcheck disable=SC2086
        if [ -n "$flags" ] && ! echo 'int probe;' |
            "$cc" $flags -x c -c - -o "$out/probe.o" 2>/dev/null; then
            flags=""
        fi
        # shellcheck disable=SC2086
        "$cc" "${CFLAGS[@]}" $flags -c "csrc/$name" \
            -o "$out/${name%.c}.o" || return 1
        objects+=("$out/${name%.c}.o")
    done <"$work/files"
    "$cc" "${CFLAGS[@]}" -Werror -Itests/c tests/c/kernel_check.c \
        "${objects[@]}" -lm "$@" -o "$out/kernel_check" || return 1
}

# run LABEL COMMAND...: run the driver, add its summary to the totals.
run() {
    local label=$1
    shift
    echo "== $label: $*"
    "$@" | tee "$work/log"
    local status=${PIPESTATUS[0]}
    local summary
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/log" | tail -1)
    if [ -z "$summary" ]; then
        echo "run_neon.sh: $label printed no summary (exit status $status)"
        total_failed=$((total_failed + 1))
        return
    fi
    set -- $summary
    total_passed=$((total_passed + $1))
    total_failed=$((total_failed + $3))
    if [ "$status" -ne 0 ] && [ "$3" -eq 0 ]; then
        total_failed=$((total_failed + 1))
    fi
}

echo "== native build ($CC_NATIVE, $(uname -m))"
if build "$CC_NATIVE" "$work/native"; then
    run "native $(uname -m)" "$work/native/kernel_check" portable
else
    echo "run_neon.sh: the native build failed"
    total_failed=$((total_failed + 1))
fi

qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
if ! command -v "$CROSS" >/dev/null || [ -z "$qemu" ]; then
    if [ "${NEON_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] &&
        command -v apt-get >/dev/null; then
        echo "== installing the aarch64 cross compiler and qemu (apt-get)"
        { apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu \
            qemu-user libc6-dev-arm64-cross; } >"$work/apt.log" 2>&1 ||
            tail -5 "$work/apt.log"
        qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
    fi
fi
if ! command -v "$CROSS" >/dev/null || [ -z "$qemu" ]; then
    echo "run_neon.sh: SKIPPED the aarch64 half: $CROSS or qemu-aarch64 is" \
        "not installed and could not be installed (Debian: apt-get install" \
        "gcc-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross)"
else
    echo "== aarch64 cross build ($CROSS -static), run under $qemu"
    if build "$CROSS" "$work/aarch64" -static; then
        run "aarch64 under qemu" "$qemu" "$work/aarch64/kernel_check" \
            portable neon
    else
        echo "run_neon.sh: the aarch64 cross build failed"
        total_failed=$((total_failed + 1))
    fi
fi

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
