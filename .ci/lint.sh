#!/usr/bin/env bash
# Lint and format checks; any finding fails. ruff and clang-format are pinned
# so that a new release cannot fail CI on unchanged code.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet "ruff==0.17.6" "clang-format==19.1.7"
ruff check .
ruff format --check .
# The C files follow .clang-format exactly. The .inc kernel bodies are
# templates whose calls read FN(name)(...), which clang-format cannot parse
# as calls (it splits them, or, told the macro, misaligns the arguments);
# they follow the same style by hand.
clang-format --dry-run --Werror csrc/*.c csrc/*.h tests/c/*.c
