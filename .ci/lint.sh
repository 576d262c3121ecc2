#!/usr/bin/env bash
# Lint and format checks; any finding fails. ruff and clang-format are pinned
# so that a new release cannot fail CI on unchanged code.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet "ruff==0.17.6"
if ! command -v clang-format >/dev/null; then
    apt-get update -qq && apt-get install -y -qq clang-format >/dev/null
fi
ruff check .
ruff format --check .
# The C code follows .clang-format exactly.
clang-format --dry-run --Werror csrc/*.c csrc/*.h csrc/*.inc
