"""Convnet training speed: tinynn against tf.keras and PyTorch, in one run.

    python benchmarks/bench_conv.py              # 3 interleaved rounds, full epochs
    python benchmarks/bench_conv.py --steps 60   # a quicker estimate (scaled)
    python benchmarks/bench_conv.py --tiny       # seconds-long smoke run
    python benchmarks/bench_conv.py --rounds 5 --memory --write
                                                 # and record it in RESULTS.md

Run it with an interpreter that has TensorFlow and PyTorch (either may be
missing; its column is then skipped). The model is keras.io's "Simple MNIST
convnet": Conv2D(32, 3, relu), MaxPooling2D(2), Conv2D(64, 3, relu),
MaxPooling2D(2), Flatten, Dropout(0.5), Dense(10, softmax); Adam, batch 128,
on MNIST (TINYNN_DATASETS) or random images of its shape. Implementations are
timed interleaved (tinynn, tf.keras, torch, tinynn, ...) after one warm-up
each; the median per round is reported, scaled to 60,000 images.

Also reported: GFLOP/s of the conv2d kernels on the model's two layer shapes
(forward; backward = dw + dx, 2x the forward's FLOPs when dx is computed)
beside the GEMM's own on large square matrices and on the same products as
plain GEMMs on a ready-made columns matrix (what a convolution would cost if
its windows were free to gather).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import tinynn as tn
from tinynn import _core

EPOCH = 60000
BATCH = 128


def load_mnist(tiny: bool):
    if tiny:
        r = np.random.default_rng(0)
        return r.integers(0, 256, (1024, 28, 28), dtype=np.uint8), r.integers(
            0, 10, 1024
        )
    try:
        (x, y), _ = tn.keras.datasets.mnist.load_data()
    except Exception:  # no data set here: images of the right shape
        r = np.random.default_rng(0)
        x, y = (
            r.integers(0, 256, (EPOCH, 28, 28), dtype=np.uint8),
            r.integers(0, 10, EPOCH),
        )
    return x, y


def prepare(x):
    return (x.astype("float32") / 255.0)[..., None]


# ---- the three implementations: each returns run(x, y) training one pass ----------
def tinynn_trainer():
    L = tn.keras.layers
    model = tn.keras.Sequential(
        [
            L.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
            L.MaxPooling2D(2),
            L.Conv2D(64, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dropout(0.5),
            L.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return lambda x, y: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def keras_trainer():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    L = tf.keras.layers
    model = tf.keras.Sequential(
        [
            tf.keras.Input((28, 28, 1)),
            L.Conv2D(32, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(64, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dropout(0.5),
            L.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return lambda x, y: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def torch_trainer():
    import torch

    torch.set_num_threads(tn.get_num_threads())
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(1600, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def run(x, y):
        xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
        yt = torch.from_numpy(y.astype(np.int64))
        order = torch.randperm(len(xt))
        model.train()
        for start in range(0, len(xt), BATCH):
            idx = order[start : start + BATCH]
            xb, yb = xt.index_select(0, idx), yt.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            (logits.argmax(1) == yb).sum().item()  # accuracy, as fit reports it

    return run


def epoch_times(args, x, y):
    makers = {
        "tinynn": tinynn_trainer,
        "tf.keras": keras_trainer,
        "torch": torch_trainer,
    }
    runs = {}
    for name, make in makers.items():
        try:
            runs[name] = make()
        except ImportError as exc:
            print(f"  {name}: skipped ({exc})")
    n = min(len(x), args.steps * BATCH) if args.steps else len(x)
    xs, ys = x[:n], y[:n]
    scale = EPOCH / n
    for run in runs.values():  # warm-up: tracing, buffers, thread pools
        run(xs[: 4 * BATCH], ys[: 4 * BATCH])
    times = {name: [] for name in runs}
    floor_ratios = []
    for r in range(args.rounds):
        for name, run in runs.items():
            time.sleep(0.3)  # let the previous library's spinning threads stop
            if name == "tinynn":  # the floor of this round: the GEMM just before
                floor = FLOPS_PER_IMAGE * EPOCH / (gemm_rate(args.repeats) * 1e9)
            start = time.perf_counter()
            run(xs, ys)
            times[name].append((time.perf_counter() - start) * scale)
        floor_ratios.append(times["tinynn"][-1] / floor)
        print(
            f"  round {r + 1}: "
            + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
            + f" (tinynn {floor_ratios[-1]:.2f}x this round's floor)",
            flush=True,
        )
    medians = {name: statistics.median(v) for name, v in times.items()}
    return medians, statistics.median(floor_ratios)


# ---- kernels ------------------------------------------------------------------
def best_seconds(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def layer_rates(args, label, h, c, f, n=128):
    """(label, GFLOP/s of conv forward, of its GEMM alone, of conv backward, of
    its GEMMs alone, and the four times in ms) for a 3x3 valid conv layer."""
    r = np.random.default_rng(0)
    x = r.random((n, h, h, c), dtype=np.float32)
    w = r.random((3, 3, c, f), dtype=np.float32)
    b = np.zeros(f, np.float32)
    o = h - 2
    y = np.empty((n, o, o, f), np.float32)
    dx, dw, db = np.empty_like(x), np.empty_like(w), np.empty_like(b)
    geo = ((1, 1), (1, 1), (0, 0, 0, 0))
    flops = 2.0 * n * o * o * 9 * c * f
    want_dx = c > 1  # the first layer needs no input gradient in fit
    fwd = best_seconds(
        lambda: _core.conv2d_forward(x, w, b, y, *geo, activation="relu"), args.repeats
    )
    bwd = best_seconds(
        lambda: _core.conv2d_backward(x, w, y, dx if want_dx else None, dw, db, *geo),
        args.repeats,
    )
    # the same products on a ready-made columns matrix: the GEMM alone
    cols = r.random((n * o * o, 9 * c), dtype=np.float32)
    w2, y2, dw2 = w.reshape(9 * c, f), y.reshape(-1, f), dw.reshape(9 * c, f)
    dcols = np.empty_like(cols)

    def gemms_backward():
        _core.gemm(cols, y2, dw2, trans_a=True)
        if want_dx:
            _core.gemm(y2, w2, dcols, trans_b=True)

    gemm_f = best_seconds(lambda: _core.gemm(cols, w2, y2), args.repeats)
    gemm_b = best_seconds(gemms_backward, args.repeats)
    bwd_flops = flops * (2 if want_dx else 1)
    return (
        label,
        flops / fwd / 1e9,
        flops / gemm_f / 1e9,
        bwd_flops / bwd / 1e9,
        bwd_flops / gemm_b / 1e9,
        fwd * 1e3,
        gemm_f * 1e3,
        bwd * 1e3,
        gemm_b * 1e3,
    )


def fused_rates(args, base, n=128):
    """The first layer as fit runs it: conv1 and its max pooling fused (the
    FLOPs counted are the convolution's; `base` is its unfused row)."""
    r = np.random.default_rng(0)
    x = r.random((n, 28, 28, 1), dtype=np.float32)
    w = r.random((3, 3, 1, 32), dtype=np.float32) - 0.5
    b = np.zeros(32, np.float32)
    y = np.empty((n, 13, 13, 32), np.float32)
    argmax = np.empty(y.shape, np.int32)
    dw, db = np.empty_like(w), np.empty_like(b)
    geo = ((1, 1), (1, 1), (0, 0, 0, 0), (2, 2))
    flops = 2.0 * n * 26 * 26 * 9 * 32
    fwd = best_seconds(
        lambda: _core.conv2d_maxpool_forward(x, w, b, y, argmax, *geo, "relu"),
        args.repeats,
    )
    bwd = best_seconds(
        lambda: _core.conv2d_maxpool_backward(x, y, y, argmax, dw, db, *geo, "relu"),
        args.repeats,
    )
    label = "conv1 + max pooling, fused (as fit runs them)"
    return (
        label,
        flops / fwd / 1e9,
        *base[2:3],
        flops / bwd / 1e9,
        *base[4:5],
        fwd * 1e3,
        base[6],
        bwd * 1e3,
        base[8],
    )


def kernel_rates(args):
    rows = [
        layer_rates(args, "conv1 28x28x1->32", 28, 1, 32),
        layer_rates(args, "conv2 13x13x32->64", 13, 32, 64),
    ]
    rows.insert(1, fused_rates(args, rows[0]))
    return rows, gemm_rate(args.repeats)


def gemm_rate(repeats: int) -> float:
    """GFLOP/s of tinynn's GEMM on 2048^3 float32 (fastest of `repeats`)."""
    size = 2048
    a = np.random.default_rng(1).random((size, size), dtype=np.float32)
    c = np.empty_like(a)
    seconds = best_seconds(lambda: _core.gemm(a, a, c), repeats)
    return 2.0 * size**3 / seconds / 1e9


MEMORY_SCRIPT = """
import json, resource, sys
import numpy as np
import tinynn as tn
x = np.random.default_rng(0).integers(0, 256, (60000, 28, 28, 1), dtype=np.uint8)
y = np.arange(60000) % 10
L = tn.keras.layers
model = tn.keras.Sequential([
    L.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), L.MaxPooling2D(2),
    L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
    L.Dropout(0.5), L.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
model.fit(x, y, batch_size=128, epochs=1, verbose=0)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"input": x.nbytes, "before": before, "after": after}))
"""


def peak_memory() -> dict:
    """Peak resident memory of a 1-epoch fit on 60,000 uint8 images, in a fresh
    interpreter (the goal: the input plus 256 MB)."""
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# Training FLOPs of one image: each conv's forward, its kernel gradient and
# (but for the first layer) its input gradient, each 2 out_h out_w kh kw c f;
# the Dense layer's three products, 2 x 1600 x 10 each.
FLOPS_PER_IMAGE = (
    2 * 26 * 26 * 9 * 1 * 32 * 2 + 2 * 11 * 11 * 9 * 32 * 64 * 3 + 3 * 2 * 1600 * 10
)
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
SECTION = "## Convnet (keras.io MNIST convnet, batch 128)"


def results_section(args, rows, big, medians, memory, floor_ratio) -> str:
    """The RESULTS.md section of this run (markdown)."""
    floor = FLOPS_PER_IMAGE * EPOCH / (big * 1e9)
    lines = [
        SECTION,
        "",
        f"Command: `python benchmarks/bench_conv.py --rounds {args.rounds} "
        f"--memory --write` ({tn.get_num_threads()} threads, SIMD path "
        f"`{_core.simd()}`; the three implementations interleaved in one run, "
        f"median of {args.rounds} rounds of "
        f"{'full epochs' if not args.steps else f'{args.steps} steps scaled to an epoch'}).",
        "",
        "| implementation | s/epoch | tinynn / it |",
        "|---|---|---|",
    ]
    for name, seconds in medians.items():
        lines.append(f"| {name} | {seconds:.2f} | {medians['tinynn'] / seconds:.2f} |")
    lines += [
        "",
        f"Arithmetic floor: {FLOPS_PER_IMAGE / 1e6:.2f} MFLOP per image trained, at "
        f"the GEMM's own {big:.0f} GFLOP/s (2048^3, float32, same run): "
        f"{floor:.2f} s per epoch; tinynn takes {medians['tinynn'] / floor:.2f}x it. "
        "The machine's load moves both, so each round also measures the GEMM "
        "just before tinynn's epoch: against its own round's floor, tinynn "
        f"takes {floor_ratio:.2f}x (median of the rounds).",
        "",
        "| layer (float32) | forward GFLOP/s | backward GFLOP/s | the same products "
        "as plain GEMMs, fwd / bwd GFLOP/s | forward ms | backward ms |",
        "|---|---|---|---|---|---|",
    ]
    for label, fwd, gemm_f, bwd, gemm_b, fwd_ms, _, bwd_ms, _ in rows:
        lines.append(
            f"| {label} | {fwd:.0f} | {bwd:.0f} | {gemm_f:.0f} / {gemm_b:.0f} | "
            f"{fwd_ms:.2f} | {bwd_ms:.2f} |"
        )
    lines.append(
        "\nBackward: the kernel and bias gradients, and the input gradient for "
        "conv2 (conv1 is the first layer: fit computes none). The fused row "
        "includes the pooling's forward and backward (docs/convolutions.md); "
        "its GFLOP/s count the convolution's FLOPs."
    )
    if memory:
        grown = (memory["after"] - memory["before"]) / 2**20
        lines.append(
            f"\nPeak memory of a 1-epoch fit on 60,000 uint8 images (fresh process): "
            f"input {memory['input'] / 2**20:.0f} MiB, peak "
            f"{memory['after'] / 2**20:.0f} MiB, {grown:.0f} MiB grown during fit "
            f"(goal: input + 256 MB)."
        )
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md, keeping
    the rest (bench_train.py writes the other sections), atomically."""
    old = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        rest = "" if end < 0 else old[end:]
        new = old[:start] + text + rest
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, RESULTS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--steps", type=int, default=0, help="batches per timed pass (0: a full epoch)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--kernels-only", action="store_true")
    parser.add_argument(
        "--memory", action="store_true", help="also peak memory of a fit"
    )
    parser.add_argument(
        "--write", action="store_true", help="record the run in benchmarks/RESULTS.md"
    )
    args = parser.parse_args()
    if args.tiny:
        args.rounds, args.steps, args.repeats = 1, 4, 1
    print(
        f"tinynn {tn.__version__}, SIMD {_core.simd()}, {tn.get_num_threads()} threads"
    )
    rows, big = kernel_rates(args)
    print(f"GEMM 2048^3 float32: {big:.1f} GFLOP/s")
    print(
        "layer (batch 128, float32) | fwd GFLOP/s | its GEMM alone | bwd GFLOP/s | "
        "its GEMMs alone | fwd ms | GEMM ms | bwd ms | GEMMs ms"
    )
    for row in rows:
        print(f"{row[0]} | " + " | ".join(f"{v:.1f}" for v in row[1:]))
    m = None
    if args.memory:
        m = peak_memory()
        grown = (m["after"] - m["before"]) / 2**20
        print(
            f"peak memory of a 1-epoch uint8 fit: input {m['input'] / 2**20:.0f} MiB, "
            f"{m['after'] / 2**20:.0f} MiB peak, {grown:.0f} MiB grown during fit"
        )
    if args.kernels_only:
        return 0
    x, y = load_mnist(args.tiny)
    x = prepare(x)
    steps = args.steps or "all"
    print(
        f"epoch of {EPOCH} images, batch {BATCH} ({steps} steps, {args.rounds} rounds):"
    )
    medians, floor_ratio = epoch_times(args, x, y)
    for name, seconds in medians.items():
        ratio = seconds / medians["tinynn"]
        print(f"  {name}: {seconds:.2f} s per epoch ({ratio:.2f}x tinynn's time)")
    floor = FLOPS_PER_IMAGE * EPOCH / (big * 1e9)
    print(
        f"  arithmetic floor {floor:.2f} s at the first GEMM rate: tinynn "
        f"{medians['tinynn'] / floor:.2f}x; against each round's own GEMM rate, "
        f"median {floor_ratio:.2f}x"
    )
    if args.write and not args.tiny:
        write_section(results_section(args, rows, big, medians, m, floor_ratio))
        print(f"recorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
