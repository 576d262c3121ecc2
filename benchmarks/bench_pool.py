"""Speed of max pooling and Dropout on the keras.io MNIST convnet's shapes.

    python benchmarks/bench_pool.py                        # this tree's build
    python benchmarks/bench_pool.py --other /work/wt-main  # against another build
    python benchmarks/bench_pool.py --threads 1 --repeats 200

Times, batch 128 float32, each kernel and each layer call of the issue #18
model outside the convolutions: MaxPooling2D on 26x26x32 and 11x11x64
(forward while training, i.e. with argmax; forward at inference; backward)
and Dropout(0.5) on 128x1600 (forward while training, backward). The `_core`
rows call the kernel alone; the `layer` rows call the layer's _forward /
_backward with a CallContext, as the training step does (Python overhead,
mask drawing and buffers included).

Each figure is the best of --repeats back-to-back calls, the minimum over
--rounds fresh processes. With --other TREE (a folder holding a built tinynn,
e.g. a worktree of main after `setup.py build_ext --inplace`), processes of
the two builds alternate, so a busier moment of a shared machine hits both
alike. GB/s counts the bytes that must move: every input read once and every
output written once (int32 argmax, the float32 Dropout mask); the `copy` row
(np.copyto of the 11 MB pooling input) is the machine's own figure for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
BATCH = 128

CHILD = r"""
import json, sys, time
import numpy as np
import tinynn
from tinynn import _core, layers
from tinynn._call_context import CallContext

repeats, threads = int(sys.argv[1]), int(sys.argv[2])
tinynn.set_num_threads(threads)
f32, rows = np.float32, {}
rng = np.random.default_rng(0)


def best(run):
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def pooling(name, h, c):
    o = h // 2
    x = rng.standard_normal((BATCH, h, h, c), dtype=f32)
    y = np.empty((BATCH, o, o, c), f32)
    at = np.empty(y.shape, np.int32)
    dy = rng.standard_normal(y.shape, dtype=f32)
    dx = np.empty_like(x)
    window = (2, 2, 2, 2, 0, 0)
    big, small = x.nbytes, y.nbytes
    rows[f"{name} _core fwd train"] = (
        best(lambda: _core.max_pool2d_forward(x, y, at, *window)),
        big + small + at.nbytes,
    )
    rows[f"{name} _core fwd infer"] = (
        best(lambda: _core.max_pool2d_forward(x, y, None, *window)),
        big + small,
    )
    try:  # a build that takes the window: the layer passes it
        _core.max_pool2d_backward(dy, at, dx, *window)
        args = (dy, at, dx, *window)
    except TypeError:
        args = (dy, at, dx)
    rows[f"{name} _core bwd"] = (
        best(lambda: _core.max_pool2d_backward(*args)),
        small + at.nbytes + big,
    )
    layer = layers.MaxPooling2D(2)
    layer.build((None, h, h, c))
    ctx = CallContext()
    out = np.empty_like(y)
    rows[f"{name} layer fwd train"] = (
        best(lambda: layer._forward(x, True, out, ctx)),
        big + small + at.nbytes,
    )
    rows[f"{name} layer bwd"] = (
        best(lambda: layer._backward(dy, dx, ctx)),
        small + at.nbytes + big,
    )
    if name == "pool26":
        rows["copy 11 MB (np.copyto)"] = (best(lambda: np.copyto(dx, x)), 2 * big)


BATCH = %d
pooling("pool26", 26, 32)
pooling("pool11", 11, 64)
x = rng.standard_normal((BATCH, 1600), dtype=f32)
dy = rng.standard_normal(x.shape, dtype=f32)
out, dx = np.empty_like(x), np.empty_like(x)
layer = layers.Dropout(0.5)
layer.build((None, 1600))
ctx = CallContext()
rows["dropout layer fwd train"] = (
    best(lambda: layer._forward(x, True, out, ctx)),
    3 * x.nbytes,
)
rows["dropout layer bwd"] = (best(lambda: layer._backward(dy, dx, ctx)), 3 * x.nbytes)
print(json.dumps(rows))
"""


def child(tree: str | None, repeats: int, threads: int) -> dict:
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = str(Path(tree).resolve())
    out = subprocess.run(
        [sys.executable, "-c", CHILD % BATCH, str(repeats), str(threads)],
        env=env,
        cwd=tree or str(HERE.parent.parent),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--other", help="a tree holding another built tinynn")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    this = str(HERE.parent.parent)
    trees = {"other": args.other, "this": this} if args.other else {"this": this}
    results: dict[str, dict] = {key: {} for key in trees}
    for _ in range(args.rounds):
        for key, tree in trees.items():
            for name, (seconds, nbytes) in child(
                tree, args.repeats, args.threads
            ).items():
                old = results[key].get(name, (float("inf"), nbytes))
                results[key][name] = (min(old[0], seconds), nbytes)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    print(
        f"# {started}, batch {BATCH}, float32, {args.threads} thread(s), best of "
        f"{args.repeats} calls, min over {args.rounds} processes per build"
    )
    names = list(results["this"])
    if args.other:
        print(f"# other: {args.other}   this: {this}")
        print(
            f"{'':28} {'other ms':>9} {'GB/s':>6} {'this ms':>9} {'GB/s':>6} {'x':>6}"
        )
        for name in names:
            (a, nbytes), (b, _) = results["other"][name], results["this"][name]
            print(
                f"{name:28} {a * 1e3:9.3f} {nbytes / a / 1e9:6.1f} "
                f"{b * 1e3:9.3f} {nbytes / b / 1e9:6.1f} {a / b:6.2f}"
            )
    else:
        print(f"{'':28} {'ms':>9} {'GB/s':>6}")
        for name in names:
            seconds, nbytes = results["this"][name]
            print(f"{name:28} {seconds * 1e3:9.3f} {nbytes / seconds / 1e9:6.1f}")


if __name__ == "__main__":
    main()
