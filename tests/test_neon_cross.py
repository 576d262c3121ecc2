"""The C kernel driver (tests/c/kernel_check.c) on every SIMD path, through
tests/c/run_neon.sh: built natively (the x86-64 paths here), then
cross-compiled for aarch64 and run under qemu (portable and neon)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "c" / "run_neon.sh"
QEMU = shutil.which("qemu-aarch64") or shutil.which("qemu-aarch64-static")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("aarch64-linux-gnu-gcc") is None or QEMU is None,
        reason="needs aarch64-linux-gnu-gcc and qemu-aarch64 (Debian: apt-get "
        "install gcc-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross)",
    ),
    pytest.mark.skipif(
        shutil.which("gcc") is None or shutil.which("bash") is None,
        reason="needs gcc and bash for the native half",
    ),
]


def test_kernels_pass_natively_and_on_aarch64_under_qemu():
    out = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        # the skip above already checked the tools: never apt-get from a test
        env={**os.environ, "NEON_NO_INSTALL": "1"},
    )
    report = out.stdout[-6000:] + out.stderr[-2000:]
    assert out.returncode == 0, report
    # the native driver's summary, the aarch64 driver's, then the total
    summaries = [(int(p), int(f)) for p, f in SUMMARY.findall(out.stdout)]
    assert len(summaries) == 3, report
    (native, _), (cross, _), total = summaries
    assert total == (native + cross, 0), report
    assert "SKIPPED" not in out.stdout, report
    for path in ("portable", "neon"):
        for dtype in ("f32", "f64"):
            line = (
                rf"^path {path}, {dtype} \(tile \d+ x \d+\): "
                r"[1-9]\d* checks passed, 0 failed$"
            )
            assert re.search(line, out.stdout, re.M), f"{path} {dtype}\n{report}"
