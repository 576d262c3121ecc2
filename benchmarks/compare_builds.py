"""Training speed of two tinynn builds, each as a ratio to PyTorch in the same process.

    python benchmarks/compare_builds.py OLD_TREE [NEW_TREE] [--batch 128] [--runs 2]

A tree is a folder holding a built `tinynn` package (a source checkout after
`python setup.py build_ext --inplace`); NEW_TREE defaults to the installed
tinynn. For each model of bench_train.MODELS, fresh processes of the two builds
alternate; each process times tinynn (2 threads) and PyTorch (2 threads)
interleaved and reports their ratio, so a slower or busier host moves both
sides alike. This is how "no regression on a quiet machine" is checked
against an older build (issue #9).
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import statistics, sys, time
import numpy as np
sys.path.insert(0, sys.argv[5])
import bench_train as bench
import tinynn as tn, torch
batch, steps, repeats, model = (int(v) for v in sys.argv[1:5])
tn.set_num_threads(2)
torch.set_num_threads(2)
rng = np.random.default_rng(0)
x = rng.random((steps * batch, 784), dtype=np.float32)
y = rng.integers(0, 10, steps * batch)
_, hidden, optimizer, lr = bench.MODELS[model]
runs = {"tinynn": bench.tinynn_trainer(hidden, optimizer, lr, x, y, batch),
        "torch": bench.torch_trainer(hidden, optimizer, lr, x, y, batch)}
for run in runs.values():
    run()
times = {key: [] for key in runs}
for _ in range(repeats):
    for key, run in runs.items():
        started = time.perf_counter()
        run()
        times[key].append(time.perf_counter() - started)
print({key: statistics.median(v) for key, v in times.items()})
"""


def ratio(tree, batch, steps, repeats, model):
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = str(Path(tree).resolve())
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(batch),
            str(steps),
            str(repeats),
            str(model),
            str(HERE),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd="/",
        check=True,
    ).stdout
    seconds = ast.literal_eval(out.strip().splitlines()[-1])
    return seconds["tinynn"] / seconds["torch"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_tree")
    parser.add_argument("new_tree", nargs="?", default=None)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=2, help="processes per build")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import bench_train

    builds = {"old": args.old_tree, "new": args.new_tree}
    print(
        f"batch {args.batch}; tinynn / PyTorch, 2 threads each "
        f"(median of {args.runs} processes, range)"
    )
    print("| model | old build | new build |")
    print("|---|---|---|")
    for model, (name, *_) in enumerate(bench_train.MODELS):
        ratios = {key: [] for key in builds}
        for _ in range(args.runs):
            for key, tree in builds.items():
                ratios[key].append(
                    ratio(tree, args.batch, args.steps, args.repeats, model)
                )
        cells = [
            f"{statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f})"
            for r in ratios.values()
        ]
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
