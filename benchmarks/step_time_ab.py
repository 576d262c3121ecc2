"""Milliseconds per training step of one model for two tinynn trees.

    python benchmarks/step_time_ab.py OLD_TREE NEW_TREE [--batch 32] [--rounds 3]
    python benchmarks/step_time_ab.py OLD_TREE NEW_TREE --model convnet --batch 128

Each tree is a source checkout built in place (``python setup.py build_ext
--inplace``). Fresh processes of the two builds alternate, `rounds` times;
each trains 5 passes of `steps` batches (2 threads, Adam, no shuffle) and
reports its fastest pass per step. Models: the Keras article's MLP (`mlp`,
200 steps a pass) or keras.io's MNIST convnet (`convnet`, 40 steps a pass,
random images). A plain A/B of tinynn against itself, for "no regression"
checks when a reference framework in the same process is too noisy to
ratio against.
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
batch, kind = int(sys.argv[2]), sys.argv[3]
steps = 200 if kind == "mlp" else 40
rng = np.random.default_rng(0)
tn.set_seed(0)
layers = tn.keras.layers
if kind == "mlp":
    x = rng.random((steps * batch, 784), dtype=np.float32)
    model = tn.keras.Sequential([
        layers.Dense(512, activation="relu", input_shape=(784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
else:
    x = rng.random((steps * batch, 28, 28, 1), dtype=np.float32)
    model = tn.keras.Sequential([
        layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
y = rng.integers(0, 10, steps * batch)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x[: batch * 10], y[: batch * 10], batch_size=batch, epochs=1, verbose=0)
times = []
for _ in range(5):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    times.append(time.perf_counter() - start)
print(min(times) / steps * 1e3)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", choices=("mlp", "convnet"), default="mlp")
    args = parser.parse_args()
    results = {"old": [], "new": []}
    for _ in range(args.rounds):
        for key in ("old", "new"):
            tree = getattr(args, key)
            out = subprocess.run(
                [sys.executable, "-c", CHILD, tree, str(args.batch), args.model],
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
