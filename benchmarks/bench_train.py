"""Training speed of tinynn against PyTorch (CPU) and a pure-NumPy MLP.

    python benchmarks/bench_train.py            # full run, writes RESULTS.md + results.png
    python benchmarks/bench_train.py --tiny     # seconds-long smoke run (CI)

Everything is a ratio measured in this one run: implementations are timed
interleaved (tinynn, torch, numpy, tinynn, ...) and the median of --repeats
runs is reported. "Time per epoch" is measured on --steps batches of MNIST-
shaped data and scaled to an epoch of 60,000 samples (ceil(60000/batch)
steps), fit overhead included. Sections:
  1. time per epoch of the four MNIST articles' models, batch 32 and 128;
  2. GFLOP/s of every GEMM of a training step, tinynn vs numpy.matmul;
  3. the Adam update's bandwidth against a plain copy of the same bytes;
  4. peak resident memory of 1-epoch fits on uint8 data: full MNIST (when
     available) and a synthetic 2 GiB array (--memory-only runs just this).
  5. contention: training with one busy process per core (2 threads vs 1),
     and two tinynn processes training at once (each vs alone);
  6. the Keras model with a leading Flatten(input_shape=(28, 28)) against the
     same model fed flat rows (no input gradient is computed for the data).
  7. the Keras article's listing as written (Flatten, Dense 512-256-128-10,
     Adam, batch 32) on MNIST: full epochs of tinynn and tf.keras interleaved
     in this process (run with an interpreter that has TensorFlow), and its
     arithmetic floor: the training FLOPs at the GEMM's own GFLOP/s on large
     matrices plus Adam's bytes at the copy bandwidth, both measured here.
     ``--keras-only`` runs just this and rewrites its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import tinynn as tn
from tinynn import _core

HERE = Path(__file__).resolve().parent
PEAK_GFLOPS_PER_CORE = 224.0  # fp32, AVX-512, 2 FMA pipes, ~3.5 GHz (issue #5)
EPOCH = 60000

# (name, hidden sizes, optimizer, learning rate)
MODELS = [
    ("keras_001", [512, 256, 128], "adam", 0.001),
    ("tf1_000", [500, 600, 300], "adam", 0.001),
    ("numpy_002", [100, 200], "sgd", 0.1),
    ("tf1_003", [256, 128], "sgd", 0.5),
]


# ---- the three implementations ------------------------------------------------
def tinynn_trainer(hidden, optimizer, lr, x, y, batch):
    layers = [tn.layers.Dense(h, activation="relu") for h in hidden]
    model = tn.Sequential(
        [
            tn.layers.InputLayer(shape=(784,)),
            *layers,
            tn.layers.Dense(10, activation="softmax"),
        ]
    )
    opt = tn.optimizers.Adam(lr) if optimizer == "adam" else tn.optimizers.SGD(lr)
    model.compile(opt, "sparse_categorical_crossentropy", metrics=["accuracy"])

    def run():
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    return run


def torch_trainer(hidden, optimizer, lr, x, y, batch):
    import torch

    sizes = [784, *hidden]
    modules = []
    for a, b in zip(sizes, sizes[1:]):
        modules += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules, torch.nn.Linear(sizes[-1], 10))
    opt = (
        torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
        if optimizer == "adam"
        else torch.optim.SGD(model.parameters(), lr=lr)
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def run():
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), batch):
            idx = order[start : start + batch]
            xb, yb = xt.index_select(0, idx), yt.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            (logits.argmax(1) == yb).sum().item()  # accuracy, as fit reports it

    return run


def numpy_trainer(hidden, optimizer, lr, x, y, batch):
    """The pure-NumPy article's approach: Dense/ReLU forward and backward by hand."""
    rng = np.random.default_rng(0)
    sizes = [784, *hidden, 10]
    params = []
    for a, b in zip(sizes, sizes[1:]):
        params += [
            (rng.normal(size=(a, b)) * np.sqrt(2 / (a + b))).astype(np.float32),
            np.zeros(b, np.float32),
        ]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = [0]

    def run():
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], y[idx]
            acts = [xb]
            for i in range(0, len(params), 2):
                z = acts[-1] @ params[i] + params[i + 1]
                acts.append(np.maximum(z, 0) if i < len(params) - 2 else z)
            z = acts[-1]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            grad = p / len(yb)
            grads = [None] * len(params)
            for i in range(len(params) - 2, -1, -2):
                grads[i] = acts[i // 2].T @ grad
                grads[i + 1] = grad.sum(axis=0)
                if i:
                    grad = (grad @ params[i].T) * (acts[i // 2] > 0)
            step[0] += 1
            t = step[0]
            for j, (w, g) in enumerate(zip(params, grads)):
                if optimizer == "sgd":
                    w -= lr * g
                else:
                    m[j] += (g - m[j]) * 0.1
                    v[j] += (g * g - v[j]) * 0.001
                    alpha = lr * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
                    w -= alpha * m[j] / (np.sqrt(v[j]) + 1e-7)

    return run


def settle() -> None:
    """Let the previous library's worker threads stop spinning before timing the
    next one: thread pools (PyTorch's OpenMP, OpenBLAS, briefly tinynn's) busy-
    wait for a while after their work, and on 2 cores that steals the next
    measurement's CPU."""
    time.sleep(0.2)


def have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ---- sections ---------------------------------------------------------------------
def time_epochs(args, x_all, y_all):
    rows = []
    impls = {"tinynn": tinynn_trainer, "numpy": numpy_trainer}
    if have_torch():
        import torch

        torch.set_num_threads(args.threads)
        impls["torch"] = torch_trainer
    for name, hidden, optimizer, lr in MODELS[: 1 if args.tiny else None]:
        for batch in args.batches:
            n = min(len(x_all), args.steps * batch)
            x, y = x_all[:n], y_all[:n]
            runners = {
                k: make(hidden, optimizer, lr, x, y, batch) for k, make in impls.items()
            }
            for run in runners.values():
                run()  # warm-up: first-touch allocation, thread start
            times = {k: [] for k in runners}
            for _ in range(args.repeats):
                for key, run in runners.items():
                    settle()
                    started = time.perf_counter()
                    run()
                    times[key].append(time.perf_counter() - started)
            scale = math.ceil(EPOCH / batch) / math.ceil(n / batch)
            row = {
                "model": name,
                "batch": batch,
                **{k: statistics.median(v) * scale for k, v in times.items()},
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


SCALING_PROBE = """
import sys, time, statistics, numpy as np, tinynn as tn
threads, batch, steps, repeats = (int(v) for v in sys.argv[1:5])
tn.set_num_threads(threads)
rng = np.random.default_rng(0)
x = rng.random((steps * batch, 784), dtype=np.float32)
y = rng.integers(0, 10, steps * batch)
model = tn.Sequential([tn.layers.Dense(512, activation='relu', input_shape=(784,)),
    tn.layers.Dense(256, activation='relu'), tn.layers.Dense(128, activation='relu'),
    tn.layers.Dense(10, activation='softmax')])
model.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x, y, batch_size=batch, verbose=0)
times = []
for _ in range(repeats):
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, verbose=0)
    times.append(time.perf_counter() - started)
print(statistics.median(times))
"""


def probe_seconds(threads, batch, steps, repeats, timeout=900):
    """SCALING_PROBE's median epoch time in a fresh process."""
    return float(
        probe_process(threads, batch, steps, repeats)
        .communicate(timeout=timeout)[0]
        .split()[-1]
    )


def probe_process(threads, batch, steps, repeats):
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCALING_PROBE,
            str(threads),
            str(batch),
            str(steps),
            str(repeats),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd="/",
    )


def thread_scaling(args, x_all, y_all):
    """tinynn's epoch time with 1 and with `args.threads` threads (Keras model),
    each in a fresh process so no thread pool or cache state carries over;
    --spread fresh-process runs of each, interleaved, give the run-to-run
    spread."""
    rows = []
    for batch in args.batches:
        seconds = {1: [], args.threads: []}
        for _ in range(args.spread):
            for threads in seconds:
                seconds[threads].append(
                    probe_seconds(threads, batch, args.steps, args.repeats)
                )
        one = statistics.median(seconds[1])
        many = statistics.median(seconds[args.threads])
        rows.append(
            {
                "batch": batch,
                "one_thread": one,
                "threads": args.threads,
                "many_threads": many,
                "many_threads_range": [
                    min(seconds[args.threads]),
                    max(seconds[args.threads]),
                ],
                "speedup": one / many,
            }
        )
    return rows


def flatten_cost(args, x_all, y_all):
    """Epoch time of the Keras article's model as written (Flatten first, images
    of 28 x 28) and fed flat rows, interleaved, batch 32."""
    batch = 32
    n = min(len(x_all), args.steps * batch)
    x, y = x_all[:n], y_all[:n]

    def trainer(first):
        tn.set_seed(0)
        model = tn.Sequential(
            [
                first,
                tn.layers.Dense(512, activation="relu"),
                tn.layers.Dense(256, activation="relu"),
                tn.layers.Dense(128, activation="relu"),
                tn.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    runs = {
        "flatten": (
            trainer(tn.layers.Flatten(input_shape=(28, 28))),
            x.reshape(-1, 28, 28),
        ),
        "flat_rows": (trainer(tn.layers.InputLayer(shape=(784,))), x),
    }
    times = {key: [] for key in runs}
    for model, data in runs.values():
        model.fit(data, y, batch_size=batch, verbose=0)  # warm-up
    for _ in range(args.repeats):
        for key, (model, data) in runs.items():
            started = time.perf_counter()
            model.fit(data, y, batch_size=batch, verbose=0)
            times[key].append(time.perf_counter() - started)
    scale = math.ceil(EPOCH / batch) / math.ceil(n / batch)
    flatten = statistics.median(times["flatten"]) * scale
    rows = statistics.median(times["flat_rows"]) * scale
    return {"flatten": flatten, "flat_rows": rows, "ratio": flatten / rows}


def flatten_lines(cost):
    if not cost:
        return []
    return [
        "",
        "## A leading Flatten (Keras article model, batch 32)",
        "",
        "| input | s/epoch |",
        "|---|---|",
        f"| Flatten(input_shape=(28, 28)), images | {cost['flatten']:.2f} |",
        f"| InputLayer(shape=(784,)), flat rows | {cost['flat_rows']:.2f} |",
        f"| ratio (1.00: the Flatten costs nothing) | {cost['ratio']:.2f} |",
    ]


# ---- the Keras listing against tf.keras and its arithmetic floor -----------------
LISTING_HIDDEN = [512, 256, 128]
LISTING_HEADING = "## The Keras listing: tf.keras and the arithmetic floor (batch 32)"


def listing_flops(batch, hidden=LISTING_HIDDEN):
    """Multiply-add FLOPs of one training step of the Dense stack: forward
    x@W and dW = X^T@dY for every layer, dX = dY@W^T for all but the first
    (no gradient is computed for the data). Bias, activation, loss and
    metric work are left out: they are O(batch x width), below 1%."""
    sizes = [784, *hidden, 10]
    total = 0.0
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        total += 2.0 * batch * fan_in * fan_out * (3 if i else 2)
    return total


def listing_params(hidden=LISTING_HIDDEN):
    sizes = [784, *hidden, 10]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def large_gemm_gflops(repeats, size=2048):
    """The GEMM's own rate on large square float32 matrices (best of `repeats`)."""
    a = np.random.default_rng(1).random((size, size), dtype=np.float32)
    c = np.empty_like(a)
    _core.gemm(a, a, c)
    best = float("inf")
    for _ in range(repeats):
        settle()
        started = time.perf_counter()
        _core.gemm(a, a, c)
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 / best / 1e9


def copy_gbps(values, repeats, reps=200):
    """Bandwidth of np.copyto over the bytes one Adam step moves on `values`
    parameters (reads w, g, m, v; writes w, m, v: 7 x 4 bytes each), best of
    `repeats` (a copy reads and writes 3.5 values' worth per parameter)."""
    src = np.ones(int(3.5 * values), np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = float("inf")
    for _ in range(repeats):
        settle()
        started = time.perf_counter()
        for _ in range(reps):
            np.copyto(dst, src)
        best = min(best, (time.perf_counter() - started) / reps)
    return 7 * 4 * values / best / 1e9


def listing_trainers(x_img, y, batch):
    """run() of each library fitting one epoch of the article's listing."""
    runs = {}
    tn.set_seed(0)
    model = tn.keras.Sequential(
        [
            tn.keras.layers.Flatten(input_shape=(28, 28)),
            tn.keras.layers.Dense(512, activation="relu"),
            tn.keras.layers.Dense(256, activation="relu"),
            tn.keras.layers.Dense(128, activation="relu"),
            tn.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    runs["tinynn"] = lambda xs, ys: model.fit(
        xs, ys, batch_size=batch, epochs=1, verbose=0
    )
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
    except ImportError as exc:
        print(f"  tf.keras: skipped ({exc})", flush=True)
        return runs
    tf.random.set_seed(0)
    keras_model = tf.keras.Sequential(
        [
            tf.keras.Input((28, 28)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(512, activation="relu"),
            tf.keras.layers.Dense(256, activation="relu"),
            tf.keras.layers.Dense(128, activation="relu"),
            tf.keras.layers.Dense(10, activation="softmax"),
        ]
    )
    keras_model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    runs["tf.keras"] = lambda xs, ys: keras_model.fit(
        xs, ys, batch_size=batch, epochs=1, verbose=0
    )
    return runs


def keras_listing(args, x_img, y):
    """Epoch times of the listing, tinynn and tf.keras interleaved for
    --keras-rounds rounds (each a full pass over x_img unless --tiny), and
    the arithmetic floor measured in the same run."""
    batch = 32
    runs = listing_trainers(x_img, y, batch)
    for run in runs.values():  # warm-up: buffers, tracing, thread pools
        run(x_img[: 100 * batch], y[: 100 * batch])
    times = {name: [] for name in runs}
    cpu = {name: [] for name in runs}  # the process's CPU seconds (all threads)
    scale = EPOCH / len(x_img)
    steps = math.ceil(EPOCH / batch)
    params = listing_params()
    flops = listing_flops(batch)
    adam_bytes = 7 * 4 * params

    def floor_now():
        """The floor at the GEMM's and the copy's rates measured now: the
        machine's load moves them as much as the epochs."""
        gemm = large_gemm_gflops(args.repeats)
        copy = copy_gbps(params, args.repeats)
        return steps * flops / (gemm * 1e9) + steps * adam_bytes / (copy * 1e9)

    round_ratios = []  # tinynn's epoch / the floor measured just before it
    for r in range(args.keras_rounds):
        for name, run in runs.items():
            if name == "tinynn":
                floor = floor_now()
            settle()
            started, started_cpu = time.perf_counter(), time.process_time()
            run(x_img, y)
            times[name].append((time.perf_counter() - started) * scale)
            cpu[name].append((time.process_time() - started_cpu) * scale)
        round_ratios.append(times["tinynn"][-1] / floor)
        print(
            f"  round {r + 1}: "
            + ", ".join(
                f"{k} {v[-1]:.2f} s ({cpu[k][-1]:.2f} s CPU)" for k, v in times.items()
            )
            + f"; tinynn {round_ratios[-1]:.2f}x this round's floor"
            + f"; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    gemm = large_gemm_gflops(args.repeats)
    copy = copy_gbps(params, args.repeats)
    floor_gemm = steps * flops / (gemm * 1e9)
    floor_adam = steps * adam_bytes / (copy * 1e9)
    return {
        "round_ratios": round_ratios,
        "batch": batch,
        "rounds": args.keras_rounds,
        "times": times,
        "cpu": cpu,
        "load": os.getloadavg()[0],
        "gemm_gflops": gemm,
        "copy_gbps": copy,
        "flops": flops,
        "adam_bytes": adam_bytes,
        "floor_gemm": floor_gemm,
        "floor_adam": floor_adam,
    }


def listing_lines(listing):
    if not listing:
        return []
    times = listing["times"]
    ours = statistics.median(times["tinynn"])
    floor = listing["floor_gemm"] + listing["floor_adam"]
    lines = [
        "",
        LISTING_HEADING,
        "",
        "The article's listing as written: Flatten(28x28), Dense 512-256-128 relu, "
        "Dense 10 softmax, Adam, sparse categorical cross-entropy with accuracy, "
        f"batch 32, on MNIST. {listing['rounds']} rounds of full epochs, tinynn and "
        "tf.keras interleaved in one process (the machine's load changes from round "
        "to round: the per-round ratio shows it). Command: `python "
        "benchmarks/bench_train.py --keras-only` (an interpreter with TensorFlow).",
        "",
        f"Load average at the end: {listing['load']:.1f} on {os.cpu_count()} cores "
        "(other processes' share of the CPUs slows both, tinynn's 2 threads more "
        "than TensorFlow's many: the process CPU seconds are the work each did).",
        "",
        "| | median s/epoch | fastest | slowest | median CPU s/epoch |",
        "|---|---|---|---|---|",
    ]
    for name, values in times.items():
        lines.append(
            f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | "
            f"{max(values):.2f} | {statistics.median(listing['cpu'][name]):.2f} |"
        )
    if "tf.keras" in times:
        theirs = statistics.median(times["tf.keras"])
        per_round = [a / b for a, b in zip(times["tinynn"], times["tf.keras"])]
        lines += [
            "",
            f"tinynn / tf.keras: {ours / theirs:.2f} (ratio of the medians); per round "
            + ", ".join(f"{r:.2f}" for r in per_round)
            + f" (median {statistics.median(per_round):.2f}).",
        ]
    lines += [
        "",
        f"Arithmetic floor of an epoch ({math.ceil(EPOCH / listing['batch'])} steps): "
        f"{listing['flops'] / 1e6:.1f} MFLOP per step (forward, dW, and dX but for "
        f"the first layer) at the GEMM's {listing['gemm_gflops']:.0f} GFLOP/s on "
        f"2048^3 float32 = {listing['floor_gemm']:.2f} s, plus Adam's "
        f"{listing['adam_bytes'] / 1e6:.1f} MB per step at the copy bandwidth "
        f"{listing['copy_gbps']:.1f} GB/s = {listing['floor_adam']:.2f} s: floor "
        f"{floor:.2f} s. tinynn / floor: {ours / floor:.2f} (median epoch), "
        f"{min(times['tinynn']) / floor:.2f} (fastest).",
        "",
        "Against each round's own floor (the GEMM and the copy measured just "
        "before that round's tinynn epoch): "
        + ", ".join(f"{r:.2f}" for r in listing["round_ratios"])
        + f" (median {statistics.median(listing['round_ratios']):.2f}).",
    ]
    return lines


def replace_section(text, heading, lines):
    """`text` (a RESULTS.md) with the section under `heading` replaced by
    `lines` (or appended), up to the next '## ' heading."""
    body = "\n".join(lines[1:]) + "\n"  # lines[0] is the blank before the heading
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + body
    end = text.find("\n## ", start + len(heading))
    rest = "" if end < 0 else text[end + 1 :]
    return text[:start] + body + ("\n" + rest if rest else "")


BUSY_LOOP = "while True: pass"


def contention(args):
    """Training on a busy machine, in fresh processes (Keras model, batch 32):
    with one busy-looping process per core, `args.threads` threads against 1
    thread (the pool must not make things worse than running alone); and two
    tinynn processes training at the same time, each against running alone."""
    batch, steps, repeats = 32, args.steps, max(1, args.repeats // 2)
    busy = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
        for _ in range(os.cpu_count() or 1)
    ]
    try:
        loaded = {1: [], args.threads: []}
        for _ in range(args.spread):
            for threads in loaded:
                loaded[threads].append(probe_seconds(threads, batch, steps, repeats))
    finally:
        for process in busy:
            process.kill()
            process.wait()
    settle()
    alone, together = [], []
    for _ in range(args.spread):
        alone.append(probe_seconds(args.threads, batch, steps, repeats))
        pair = [probe_process(args.threads, batch, steps, repeats) for _ in range(2)]
        together += [float(p.communicate(timeout=900)[0].split()[-1]) for p in pair]
    one, many = statistics.median(loaded[1]), statistics.median(loaded[args.threads])
    return {
        "batch": batch,
        "threads": args.threads,
        "busy_one_thread": one,
        "busy_many_threads": many,
        "busy_ratio": many / one,
        "alone": statistics.median(alone),
        "together_worst": max(together),
        "together_ratio": max(together) / statistics.median(alone),
    }


def step_gemms(hidden, batch):
    """(label, m, n, k, trans_a, trans_b) of every GEMM in one training step."""
    sizes = [784, *hidden, 10]
    shapes = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        shapes.append((f"L{i} fwd  x@W", batch, fan_out, fan_in, False, False))
        if i:
            shapes.append((f"L{i} dX  dY@W^T", batch, fan_in, fan_out, False, True))
        shapes.append((f"L{i} dW  X^T@dY", fan_in, fan_out, batch, True, False))
    return shapes


def gemm_gflops(args):
    rng = np.random.default_rng(0)
    rows = []
    for batch in args.batches:
        for label, m, n, k, ta, tb in step_gemms(MODELS[0][1], batch):
            a = rng.normal(size=(k, m) if ta else (m, k)).astype(np.float32)
            b = rng.normal(size=(n, k) if tb else (k, n)).astype(np.float32)
            c = np.empty((m, n), np.float32)
            av, bv = (a.T if ta else a), (b.T if tb else b)
            reps = 20 if args.tiny else 200
            samples = {"tinynn": [], "numpy": []}
            for _ in range(args.repeats):
                settle()
                started = time.perf_counter()
                for _ in range(reps):
                    _core.gemm(a, b, c, trans_a=ta, trans_b=tb)
                samples["tinynn"].append((time.perf_counter() - started) / reps)
                settle()
                started = time.perf_counter()
                for _ in range(reps):
                    np.matmul(av, bv, out=c)
                samples["numpy"].append((time.perf_counter() - started) / reps)
            flops = 2.0 * m * n * k
            row = {
                "batch": batch,
                "gemm": label,
                "m": m,
                "n": n,
                "k": k,
                **{
                    f"{key}_gflops": flops / statistics.median(v) / 1e9
                    for key, v in samples.items()
                },
            }
            rows.append(row)
    return rows


def adam_bandwidth(args):
    n = 567434 if not args.tiny else 100000
    rng = np.random.default_rng(0)
    w, g = rng.normal(size=n).astype(np.float32), rng.normal(size=n).astype(np.float32)
    m, v = np.zeros(n, np.float32), np.zeros(n, np.float32)
    moved = 7 * 4 * n  # reads w, g, m, v; writes w, m, v
    src = np.ones(int(3.5 * n), np.float32)
    dst = np.empty_like(src)  # a copy reads and writes 3.5 n floats: the same bytes
    reps = 50 if args.tiny else 500
    adam_t, copy_t = [], []
    for _ in range(args.repeats):
        settle()
        started = time.perf_counter()
        for step in range(1, reps + 1):
            _core.adam_update(w, g, m, v, None, 0.001, 0.9, 0.999, 1e-7, step)
        adam_t.append((time.perf_counter() - started) / reps)
        settle()
        started = time.perf_counter()
        for _ in range(reps):
            np.copyto(dst, src)
        copy_t.append((time.perf_counter() - started) / reps)
    return {
        "values": n,
        "bytes": moved,
        "adam_gbps": moved / statistics.median(adam_t) / 1e9,
        "copy_gbps": moved / statistics.median(copy_t) / 1e9,
    }


# The peak RSS of a fit, measured in a fresh process: VmHWM is reset (write
# 5 to /proc/self/clear_refs) once the data is in memory, so the loader's own
# transient peak does not hide the fit's. ru_maxrss is the fallback where the
# reset is refused (it then includes loading).
MEMORY_PROBE = """
import json, resource, sys
import numpy as np, tinynn as tn

def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'):
            return int(line.split()[1]) * 1024

source, model_kind, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
tn.set_num_threads(int(sys.argv[4]))
if source == 'mnist':
    (x, y), _ = tn.datasets.mnist.load_data()
    x = x.reshape(len(x), -1)
else:  # a synthetic uint8 set of `source` bytes, 784 pixels per row
    rows = int(source) // 784
    x = np.random.default_rng(0).integers(0, 256, (rows, 784), dtype=np.uint8)
    y = (np.arange(rows) % 10).astype(np.uint8)
hidden = [512, 256, 128] if model_kind == 'article' else [64]
model = tn.Sequential([tn.layers.Dense(hidden[0], activation='relu', input_shape=(784,))]
    + [tn.layers.Dense(h, activation='relu') for h in hidden[1:]]
    + [tn.layers.Dense(10, activation='softmax')])
model.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])
try:
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    reset = True
except OSError:
    reset = False
before = status('VmRSS')
model.fit(x, y, epochs=1, verbose=0, batch_size=batch)
peak = status('VmHWM') if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({'rss_before_fit': before, 'rss_peak': peak, 'input': x.nbytes + y.nbytes,
                  'float32_input': x.size * 4, 'hwm_reset': reset}))
"""

# (label, data source, model, batch size) of the memory section.
MEMORY_CASES = [
    ("MNIST uint8, Keras article model", "mnist", "article", 32),
    (
        "2 GiB uint8 (2,739,091 x 784), Dense(64)-Dense(10)",
        str(2 * 2**30),
        "small",
        128,
    ),
]


SHARED_DATASETS = HERE.parent.parent / "shared" / "datasets"


def probe_environment():
    """The environment of the memory probes: MNIST is found through
    TINYNN_DATASETS, else the checkout's ../shared/datasets (as the tests do)."""
    env = dict(os.environ)
    if "TINYNN_DATASETS" not in env and (SHARED_DATASETS / "mnist").is_dir():
        env["TINYNN_DATASETS"] = str(SHARED_DATASETS)
    return env


def peak_memory(threads, cases=MEMORY_CASES):
    """Peak RSS of 1-epoch fits on uint8 data, each in a fresh process."""
    results = []
    for label, source, model_kind, batch in cases:
        try:
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    MEMORY_PROBE,
                    source,
                    model_kind,
                    str(batch),
                    str(threads),
                ],
                capture_output=True,
                text=True,
                timeout=3600,
                check=True,
                env=probe_environment(),
            ).stdout
        except subprocess.CalledProcessError as exc:
            last_line = (exc.stderr or "?").strip().splitlines()[-1:] or ["?"]
            results.append({"label": label, "error": last_line[0][:200]})
            continue
        except subprocess.TimeoutExpired:
            results.append({"label": label, "error": "timed out after an hour"})
            continue
        r = json.loads(out.strip().splitlines()[-1])
        mb = {k: v / 2**20 for k, v in r.items() if k != "hwm_reset"}
        results.append(
            {
                "label": label,
                "input_mb": mb["input"],
                "rss_before_fit_mb": mb["rss_before_fit"],
                "rss_peak_mb": mb["rss_peak"],
                "growth_mb": mb["rss_peak"] - mb["rss_before_fit"],
                "float32_input_mb": mb["float32_input"],
                "hwm_reset": r["hwm_reset"],
            }
        )
    return results


def memory_lines(memory):
    """The memory section of RESULTS.md (target: peak < input + 256 MB)."""
    lines = [
        "",
        "## Peak memory of a 1-epoch fit on uint8 input",
        "",
        "Each fit runs in a fresh process; RSS is read after the data is loaded, "
        "the peak is VmHWM during fit. Target: peak below input + 256 MB "
        "(batches are converted to float32 one at a time, never the whole set).",
        "",
        "| data and model | input MB | RSS before fit MB | peak MB | growth MB "
        "| float32 copy would be MB | peak < input + 256 MB |",
        "|---|---|---|---|---|---|---|",
    ]
    if not memory:
        return lines + ["", "not measured (--tiny)"]
    for r in memory:
        if "error" in r:
            lines.append(f"| {r['label']} | not measured: {r['error']} ||||||")
            continue
        ok = r["rss_peak_mb"] < r["input_mb"] + 256
        lines.append(
            f"| {r['label']} | {r['input_mb']:.0f} | {r['rss_before_fit_mb']:.0f} | "
            f"{r['rss_peak_mb']:.0f} | {r['growth_mb']:.0f} | "
            f"{r['float32_input_mb']:.0f} | {'yes' if ok else 'NO'} |"
        )
    return lines


# ---- report ---------------------------------------------------------------------------
def floor_lines(epochs, gemms):
    """The Keras model's epoch against numpy.matmul's time for the same GEMMs."""
    lines = [
        "",
        "Floor of the Keras article model's epoch: numpy.matmul's time for the "
        "GEMMs of one step (table above) times the steps of an epoch; Adam and "
        "element-wise work are not included.",
        "",
        "| batch | GEMM floor (s/epoch) | tinynn (s/epoch) | tinynn / floor |",
        "|---|---|---|---|",
    ]
    for batch in sorted({g["batch"] for g in gemms}):
        step = sum(
            2.0 * g["m"] * g["n"] * g["k"] / (g["numpy_gflops"] * 1e9)
            for g in gemms
            if g["batch"] == batch
        )
        floor = step * math.ceil(EPOCH / batch)
        ours = next(
            (
                r["tinynn"]
                for r in epochs
                if r["model"] == "keras_001" and r["batch"] == batch
            ),
            None,
        )
        if ours:
            lines.append(f"| {batch} | {floor:.2f} | {ours:.2f} | {ours / floor:.2f} |")
    return lines


def scaling_lines(scaling, args):
    """tinynn's epoch with one thread against args.threads."""
    lines = [
        "",
        "## Thread scaling (Keras article model, tinynn)",
        "",
        f"Median of {args.spread} fresh-process runs each; the range is the "
        "slowest and fastest of them.",
        "",
        "| batch | 1 thread (s/epoch) | threads | s/epoch | range | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for r in scaling:
        scale = math.ceil(EPOCH / r["batch"]) / math.ceil(args.steps)
        low, high = (t * scale for t in r["many_threads_range"])
        lines.append(
            f"| {r['batch']} | {r['one_thread'] * scale:.2f} | {r['threads']} | "
            f"{r['many_threads'] * scale:.2f} | {low:.2f}-{high:.2f} | "
            f"{r['speedup']:.2f} |"
        )
    return lines


def contention_lines(busy, args):
    if not busy:
        return []
    scale = math.ceil(EPOCH / busy["batch"]) / math.ceil(args.steps)
    return [
        "",
        "## Contention (Keras article model, batch 32, fresh processes)",
        "",
        "| situation | s/epoch | ratio | target |",
        "|---|---|---|---|",
        f"| one busy process per core, 1 thread | {busy['busy_one_thread'] * scale:.2f} "
        "| 1 | |",
        f"| one busy process per core, {busy['threads']} threads | "
        f"{busy['busy_many_threads'] * scale:.2f} | {busy['busy_ratio']:.2f} | <= 1.5 |",
        f"| training alone, {busy['threads']} threads | {busy['alone'] * scale:.2f} "
        "| 1 | |",
        f"| two tinynn processes at once (slower one) | "
        f"{busy['together_worst'] * scale:.2f} | {busy['together_ratio']:.2f} "
        "| <= 2.5 |",
    ]


def markdown(
    epochs, gemms, adam, memory, args, scaling=(), busy=None, flat=None, listing=None
):
    lines = [
        "# Benchmark results",
        "",
        f"Command: `python benchmarks/bench_train.py` ({args.threads} threads, "
        f"median of {args.repeats}, {args.steps} steps per timing scaled to a "
        f"60,000-sample epoch). Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; tinynn SIMD path `{_core.simd()}`; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}.",
        "",
        "## Time per epoch (seconds)",
        "",
        "| model | batch | tinynn | PyTorch | pure NumPy | tinynn / PyTorch | tinynn / NumPy |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in epochs:
        torch_t = r.get("torch")
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['tinynn']:.2f} | "
            f"{torch_t:.2f} | {r['numpy']:.2f} | {r['tinynn'] / torch_t:.2f} | "
            f"{r['tinynn'] / r['numpy']:.2f} |"
            if torch_t
            else f"| {r['model']} | {r['batch']} | {r['tinynn']:.2f} | - | {r['numpy']:.2f} | - | "
            f"{r['tinynn'] / r['numpy']:.2f} |"
        )
    peak = PEAK_GFLOPS_PER_CORE * args.threads
    lines += [
        "",
        f"## GEMMs of one training step, Keras article model (GFLOP/s; peak "
        f"{peak:.0f})",
        "",
        "| batch | GEMM | m x n x k | tinynn | numpy.matmul | tinynn / numpy | % of peak |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in gemms:
        lines.append(
            f"| {g['batch']} | {g['gemm']} | {g['m']}x{g['n']}x{g['k']} | "
            f"{g['tinynn_gflops']:.0f} | {g['numpy_gflops']:.0f} | "
            f"{g['tinynn_gflops'] / g['numpy_gflops']:.2f} | "
            f"{100 * g['tinynn_gflops'] / peak:.0f}% |"
        )
    lines += floor_lines(epochs, gemms) + scaling_lines(scaling, args)
    lines += contention_lines(busy, args) + flatten_lines(flat)
    lines += listing_lines(listing)
    lines += [
        "",
        "## Adam update bandwidth",
        "",
        f"{adam['values']:,} float32 parameters, {adam['bytes'] / 1e6:.1f} MB moved per "
        f"step: Adam {adam['adam_gbps']:.1f} GB/s, plain copy of the same bytes "
        f"{adam['copy_gbps']:.1f} GB/s (ratio {adam['adam_gbps'] / adam['copy_gbps']:.2f}).",
    ]
    lines += memory_lines(memory)
    return "\n".join(lines) + "\n"


def plot(epochs, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    labels = [f"{r['model']}\nbatch {r['batch']}" for r in epochs]
    keys = [k for k in ("tinynn", "torch", "numpy") if k in epochs[0]]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(labels)), 4))
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        ax.bar(
            np.arange(len(labels)) + i * width,
            [r[key] for r in epochs],
            width,
            label=key,
        )
    ax.set_xticks(
        np.arange(len(labels)) + width * (len(keys) - 1) / 2, labels, fontsize=8
    )
    ax.set_ylabel("seconds per epoch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# bench_conv.py records its own section of RESULTS.md; a new report keeps it.
CONV_SECTION = "## Convnet (keras.io MNIST convnet, batch 128)"


def write_results(report: str) -> None:
    path = HERE / "RESULTS.md"
    old = path.read_text() if path.exists() else ""
    start = old.find(CONV_SECTION)
    if start >= 0:
        end = old.find("\n## ", start + len(CONV_SECTION))
        report = report.rstrip("\n") + "\n\n" + old[start : None if end < 0 else end]
    write_atomically(path, report)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run on tiny sizes")
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="do not write RESULTS.md (nor does --tiny)",
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--spread", type=int, default=None, help="fresh-process runs per thread figure"
    )
    parser.add_argument(
        "--contention-only", action="store_true", help="run only the contention section"
    )
    parser.add_argument(
        "--keras-only",
        action="store_true",
        help="only the Keras listing against tf.keras and its floor (rewrites "
        "that section of RESULTS.md)",
    )
    parser.add_argument(
        "--keras-rounds", type=int, default=None, help="rounds of the listing"
    )
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="only the peak-memory section (printed, RESULTS.md untouched)",
    )
    args = parser.parse_args()
    args.spread = args.spread or (1 if args.tiny else 3)
    if args.memory_only:
        print("\n".join(memory_lines(peak_memory(args.threads))))
        return 0
    # a smoke run's figures mean nothing: never recorded
    args.no_write = args.no_write or args.tiny
    args.repeats = args.repeats or (2 if args.tiny else 5)
    args.steps = args.steps or (5 if args.tiny else 300)
    args.batches = [32] if args.tiny else [32, 128]
    tn.set_num_threads(args.threads)
    tn.set_seed(0)
    try:
        (x, y), _ = tn.datasets.mnist.load_data_or_sample()[0]
    except Exception:  # noqa: BLE001 - the benchmark only needs MNIST-shaped data
        (x, y), _ = tn.datasets.mnist.load_sample()
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    y = y.astype(np.int64)
    args.keras_rounds = args.keras_rounds or (1 if args.tiny else 7)
    x_img = x.reshape(-1, 28, 28)[: 10 * 32 if args.tiny else None]
    y_img = y[: len(x_img)]
    if args.keras_only:
        listing = keras_listing(args, x_img, y_img)
        lines = listing_lines(listing)
        print("\n".join(lines))
        path = HERE / "RESULTS.md"
        if not args.no_write and path.exists():
            write_atomically(
                path, replace_section(path.read_text(), LISTING_HEADING, lines)
            )
        return 0
    if args.contention_only:
        busy = contention(args)
        print(json.dumps(busy))
        print("\n".join(contention_lines(busy, args)))
        return 0
    # First, before PyTorch and OpenBLAS start thread pools in this process.
    scaling = thread_scaling(args, x, y)
    busy = contention(args)
    epochs = time_epochs(args, x, y)
    gemms = gemm_gflops(args)
    adam = adam_bandwidth(args)
    memory = {} if args.tiny else peak_memory(args.threads)
    flat = flatten_cost(args, x, y)
    listing = keras_listing(args, x_img, y_img)
    report = markdown(epochs, gemms, adam, memory, args, scaling, busy, flat, listing)
    print(report)
    if not args.no_write:
        write_results(report)
        plot(epochs, HERE / "results.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
