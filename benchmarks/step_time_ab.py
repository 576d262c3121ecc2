"""Milliseconds per training step of the Keras article's MLP for two tinynn trees.

    python benchmarks/step_time_ab.py OLD_TREE NEW_TREE [--batch 32] [--rounds 3]

Each tree is a source checkout built in place (``python setup.py build_ext
--inplace``). Fresh processes of the two builds alternate, `rounds` times;
each trains 5 x 200 steps (2 threads, Adam, no shuffle) and reports its
fastest 200-step pass per step. A plain A/B of tinynn against itself, for
"no regression" checks when a reference framework in the same process is
too noisy to ratio against.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, tinynn as tn
tn.set_num_threads(2)
batch = int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.random((200 * batch, 784), dtype=np.float32)
y = rng.integers(0, 10, 200 * batch)
tn.set_seed(0)
layers = tn.keras.layers
model = tn.keras.Sequential([
    layers.Dense(512, activation="relu", input_shape=(784,)),
    layers.Dense(256, activation="relu"),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[: batch * 20], y[: batch * 20], batch_size=batch, epochs=1, verbose=0)
times = []
for _ in range(5):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    times.append(time.perf_counter() - start)
print(min(times) / 200 * 1e3)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = {"old": [], "new": []}
    for _ in range(args.rounds):
        for key in ("old", "new"):
            tree = getattr(args, key)
            out = subprocess.run(
                [sys.executable, "-c", CHILD, tree, str(args.batch)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[key].append(float(out.strip().splitlines()[-1]))
    for key, values in results.items():
        listed = ", ".join(f"{v:.3f}" for v in values)
        print(
            f"{key}: {min(values):.3f} ms/step at batch {args.batch}, median "
            f"{statistics.median(values):.3f} ({listed})"
        )
    ratios = [new / old for old, new in zip(results["old"], results["new"])]
    print(
        f"new / old per round: median {statistics.median(ratios):.3f}, "
        f"{min(ratios):.3f}-{max(ratios):.3f}"
    )


if __name__ == "__main__":
    main()
