"""The worker pool and thread safety: results independent of the thread count
on every SIMD path, the default thread count (affinity, cgroup quota,
TINYNN_NUM_THREADS), fork() after multi-threaded work, several Python threads
using one model or the pool at once, and SIMD paths that the binary really
holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import tinynn as tf
from tinynn import _core

THREAD_COUNTS = (1, 2, 3, 4)  # more threads than cores is allowed


def rng(seed):
    return np.random.default_rng(seed)


def run_python(code: str, env: dict | None = None, timeout: float = 120):
    """Run `code` in a fresh interpreter outside the source folder; a hang
    fails the test through the timeout."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def restore_threads():
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)


# ---- results do not depend on the thread count ------------------------------------
def every_kernel(dtype, m, n, k):
    """Outputs of every multi-threaded kernel on fixed inputs of these sizes."""
    r = rng(m * 7919 + n * 31 + k)
    x = r.normal(size=(m, k)).astype(dtype)
    w = r.normal(size=(k, n)).astype(dtype)
    bias = r.normal(size=n).astype(dtype)
    c = np.empty((m, n), dtype)
    _core.gemm(x, w, c)
    ct = np.empty((k, n), dtype)
    _core.gemm(x, c, ct, trans_a=True)  # x^T c: the dw shape
    y = np.empty((m, n), dtype)
    _core.dense_forward(x, w, bias, y, activation="sigmoid")
    dx, dw, db = np.empty_like(x), np.empty_like(w), np.empty_like(bias)
    _core.dense_backward(x, w, y, dx, dw, db)
    big = r.normal(size=(257, 131)).astype(dtype)  # above the threading threshold
    act = np.empty_like(big)
    _core.tanh_forward(big, act)
    dact = np.empty_like(big)
    _core.tanh_backward(act, big, dact)
    outs = [c, ct, y, dx, dw, db, act, dact]
    channels = big.shape[1]
    gamma, beta = r.normal(size=channels).astype(dtype), r.normal(size=channels)
    beta = beta.astype(dtype)
    moving = [np.zeros(channels, dtype), np.ones(channels, dtype)]
    stats = [np.empty(channels, dtype), np.empty(channels, dtype)]
    normed = np.empty_like(big)
    _core.batchnorm_forward(big, gamma, beta, *moving, normed, *stats, 0.99, 1e-3, True)
    dnormed = np.empty_like(big)
    grads = [np.empty(channels, dtype), np.empty(channels, dtype)]
    _core.batchnorm_backward(big, gamma, act, *stats, dnormed, *grads, True)
    outs += [normed, *moving, *stats, dnormed, *grads]
    rows = big.shape[0]
    ln_stats = [np.empty(rows, dtype), np.empty(rows, dtype)]
    ln = np.empty_like(big)
    _core.layernorm_forward(big, gamma, beta, ln, *ln_stats, 1e-3)
    dln = np.empty_like(big)
    ln_grads = [np.empty(channels, dtype), np.empty(channels, dtype)]
    _core.layernorm_backward(big, gamma, act, *ln_stats, dln, *ln_grads)
    outs += [ln, *ln_stats, dln, *ln_grads]
    cube = big.reshape(257, 131, 1)
    for shape in ((257, 131, 1), (1, 1, 257 * 131)):  # many channels, one
        x3, dy3 = cube.reshape(shape), act.reshape(shape)
        alpha = r.normal(size=shape[1]).astype(dtype)
        pr, dpr = np.empty_like(x3), np.empty_like(x3)
        dalpha = np.empty(shape[1], dtype)
        _core.prelu_forward(x3, alpha, pr)
        _core.prelu_backward(x3, alpha, dy3, dpr, dalpha)
        outs += [pr, dpr, dalpha]
    # pooling, padding, upsampling, embedding (csrc/pool.inc, embedding.inc)
    img = r.normal(size=(m % 17 + 2, 11, 9, 5)).astype(dtype)
    pooled = np.empty((len(img), 4, 3, 5), dtype)
    argmax = np.empty(pooled.shape, np.int32)
    _core.max_pool2d_forward(img, pooled, argmax, 3, 3, 3, 3, 0, 0)
    dimg = np.empty_like(img)
    _core.max_pool2d_backward(pooled, argmax, dimg)
    averaged, davg = np.empty_like(pooled), np.empty_like(img)
    _core.avg_pool2d_forward(img, averaged, 4, 4, 3, 3, 1, 1)
    _core.avg_pool2d_backward(averaged, davg, 4, 4, 3, 3, 1, 1)
    steps = img.reshape(len(img), -1, 5)
    gmax, dgmax = np.empty((len(img), 5), dtype), np.empty_like(steps)
    _core.global_pool_forward(steps, gmax, True)
    _core.global_max_pool_backward(steps, gmax, gmax, dgmax)
    up, dup = np.empty((len(img), 22, 27, 5), dtype), np.empty_like(img)
    _core.upsample2d_forward(img, up)
    _core.upsample2d_backward(up, dup)
    ids = r.integers(0, 7, size=(m % 23 + 1, 13))
    table = r.normal(size=(7, n % 131 + 1)).astype(dtype)
    rows = np.empty((*ids.shape, table.shape[1]), dtype)
    _core.embedding_forward(ids, table, rows)
    dtable = np.empty_like(table)
    _core.embedding_backward(ids, rows, dtable)
    outs += [pooled, argmax, dimg, averaged, davg, gmax, dgmax, up, dup, rows, dtable]
    size = 3 * 16384 + 17  # several update chunks and a ragged tail
    rules = ("sgd", "rmsprop", "adam", "adamw", "adadelta", "adamax", "nadam")
    for rule in rules:
        p, g = r.normal(size=size).astype(dtype), r.normal(size=size).astype(dtype)
        s1, s2 = np.zeros(size, dtype), np.zeros(size, dtype)
        if rule == "sgd":
            _core.sgd_update(p, g, s1, 0.1, 0.9, True)
        elif rule == "rmsprop":
            _core.rmsprop_update(p, g, s1, s2, 0.01, 0.9, 0.5, 1e-7)
        elif rule == "adam":
            _core.adam_update(
                p, g, s1, s2, np.zeros(size, dtype), 0.01, 0.9, 0.999, 1e-7, 3
            )
        elif rule == "adamw":
            _core.adamw_update(p, g, s1, s2, None, 0.01, 0.9, 0.999, 1e-7, 3, 0.1)
        elif rule == "adadelta":
            _core.adadelta_update(p, g, s1, s2, 1.0, 0.95, 1e-7)
        elif rule == "adamax":
            _core.adamax_update(p, g, s1, s2, 0.01, 0.9, 0.999, 1e-7, 3)
        else:
            _core.nadam_update(p, g, s1, s2, 0.01, 0.9, 0.999, 1e-7, 3, 0.3)
        outs += [p, s1, s2]
    return outs + merge_kernels(dtype, r)


def merge_kernels(dtype, r):
    """Outputs of the merge kernels, on sizes above the threading threshold."""
    size = 8 * 4096 * 3 + 17  # several chunks and a ragged tail, 3 inputs
    xs = [r.normal(size=size).astype(dtype) for _ in range(3)]
    xs[1][::7] = xs[0][::7]  # ties for maximum and minimum
    dy = r.normal(size=size).astype(dtype)
    outs = []
    for op in ("add", "multiply", "average", "maximum", "minimum"):
        out = np.empty(size, dtype)
        getattr(_core, f"merge_{op}")(xs, out)
        outs.append(out)
        if op in ("multiply", "maximum", "minimum"):
            dxs = [np.empty(size, dtype) for _ in xs]
            getattr(_core, f"merge_{op}_backward")(xs, dy, dxs)
            outs += dxs
    acc = dy.copy()
    _core.merge_add(xs, acc, accumulate=True)
    dxs = [np.empty(size, dtype) for _ in xs]
    _core.merge_average_backward(dy, dxs)
    sub, neg = np.empty(size, dtype), np.empty(size, dtype)
    _core.merge_subtract(xs[0], xs[1], sub)
    _core.scale(dy, neg, -1.0)
    outs += [acc, *dxs, sub, neg]
    a, b = r.normal(size=(331, 409)).astype(dtype), r.normal(size=(331, 400))
    b = b.astype(dtype)
    whole = np.empty((331, 809), dtype)
    _core.concatenate([a, b], whole, 1)
    parts = [np.empty_like(a), np.empty_like(b)]
    _core.concatenate_backward([a, b], whole, parts, 1)
    outs += [whole, *parts]
    c = r.normal(size=a.shape).astype(dtype)
    for normalize in (False, True):
        d, da, dc = np.empty((331, 1), dtype), np.empty_like(a), np.empty_like(c)
        _core.dot(a, c, d, normalize=normalize)
        _core.dot_backward(a, c, d, da, dc, normalize=normalize)
        outs += [d, da, dc]
    x3, y3 = r.normal(size=(3, 97, 64)).astype(dtype), r.normal(size=(3, 131, 64))
    y3 = y3.astype(dtype)
    bd = np.empty((3, 97, 131), dtype)
    _core.batch_dot(x3, y3, bd, axes=2)
    dx3, dy3 = np.empty_like(x3), np.empty_like(y3)
    _core.batch_dot_backward(x3, y3, bd, dx3, dy3, axes=(2, 2))
    return outs + [bd, dx3, dy3]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "m, n, k",
    [
        (1, 1, 1),
        (32, 512, 784),  # the Keras article's first layer, batch 32
        (784, 10, 128),  # a narrow output: rows are split, not columns
        (97, 131, 257),  # primes
        (3, 2053, 300),  # more columns than one GEMM column block (NC)
    ],
)
def test_results_are_bit_identical_for_any_thread_count(
    simd, restore_threads, dtype, m, n, k
):
    results = []
    for count in THREAD_COUNTS:
        _core.set_num_threads(count)
        results.append(every_kernel(dtype, m, n, k))
    for count, outs in zip(THREAD_COUNTS[1:], results[1:]):
        for index, (one, many) in enumerate(zip(results[0], outs)):
            assert np.array_equal(one, many), (
                f"output {index} differs between 1 and {count} threads"
            )


def conv_kernels(dtype, shape):
    """Outputs of the four conv2d kernels on fixed inputs of this geometry."""
    n, h, w, c, kh, kw, f, strides, dilation, pad = shape
    geo = (strides, dilation, pad)
    oh = (h + pad[0] + pad[2] - (kh - 1) * dilation[0] - 1) // strides[0] + 1
    ow = (w + pad[1] + pad[3] - (kw - 1) * dilation[1] - 1) // strides[1] + 1
    r = rng(n * 131 + h * 7 + c)
    x = r.normal(size=(n, h, w, c)).astype(dtype)
    k = r.normal(size=(kh, kw, c, f)).astype(dtype)
    b = r.normal(size=f).astype(dtype)
    y = np.empty((n, oh, ow, f), dtype)
    _core.conv2d_forward(x, k, b, y, *geo, activation="relu")
    dx, dk, db = np.empty_like(x), np.empty_like(k), np.empty_like(b)
    _core.conv2d_backward(x, k, y, dx, dk, db, *geo)
    t = np.empty_like(x)
    _core.conv2d_transpose_forward(y, k, None, t, *geo)
    tdx, tdk, tdb = np.empty_like(y), np.empty_like(k), np.empty(c, dtype)
    _core.conv2d_transpose_backward(y, k, x, tdx, tdk, tdb, *geo)
    return [y, dx, dk, db, t, tdx, tdk, tdb]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape",
    [
        (1, 5, 5, 1, 3, 3, 1, (1, 1), (1, 1), (1, 1, 1, 1)),
        (7, 28, 28, 1, 3, 3, 32, (1, 1), (1, 1), (0, 0, 0, 0)),  # MNIST conv 1
        (13, 13, 13, 32, 3, 3, 64, (1, 1), (1, 1), (0, 0, 0, 0)),  # MNIST conv 2
        (2, 60, 60, 80, 3, 3, 5, (2, 1), (1, 2), (1, 2, 1, 2)),  # strided, dilated
        (9, 11, 13, 70, 1, 1, 7, (1, 1), (1, 1), (0, 0, 0, 0)),  # pointwise
        (2, 12, 12, 3, 9, 8, 5, (1, 1), (1, 1), (4, 3, 4, 4)),  # two tap groups
        # a kernel gradient too big to sum in parts: im2col panels
        (2, 40, 10, 64, 3, 3, 128, (1, 1), (1, 1), (0, 0, 0, 0)),
    ],
)
def test_conv_is_bit_identical_for_any_thread_count(
    simd, restore_threads, dtype, shape
):
    results = []
    for count in THREAD_COUNTS:
        _core.set_num_threads(count)
        results.append(conv_kernels(dtype, shape))
    for count, outs in zip(THREAD_COUNTS[1:], results[1:]):
        for index, (one, many) in enumerate(zip(results[0], outs)):
            assert np.array_equal(one, many), (
                f"conv output {index} differs between 1 and {count} threads"
            )


def test_gemm_with_threads_matches_numpy_on_a_narrow_tall_problem(restore_threads):
    # The row split is the path taken for output layers; check it against
    # NumPy, not only against itself.
    _core.set_num_threads(2)
    r = rng(3)
    a = r.normal(size=(2001, 300))
    b = r.normal(size=(300, 3))
    c = np.empty((2001, 3))
    _core.gemm(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-12, atol=1e-12)


# ---- two Python threads, one pool ----------------------------------------------------
def test_two_python_threads_share_the_pool_correctly(restore_threads):
    _core.set_num_threads(2)
    r = rng(4)
    problems = [
        (r.normal(size=(64, 300)), r.normal(size=(300, 200))),
        (r.normal(size=(50, 400)), r.normal(size=(400, 70))),
    ]
    expected = [a @ b for a, b in problems]
    failures = []

    def work(index):
        a, b = problems[index]
        c = np.empty((a.shape[0], b.shape[1]))
        for _ in range(300):
            _core.gemm(a, b, c)
            if not np.allclose(c, expected[index], rtol=1e-10, atol=1e-10):
                failures.append(index)
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# ---- the thread count ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, cpus",
    [
        ("200000 100000\n", 2),
        ("150000 100000", 2),  # 1.5 CPUs: rounded up
        ("50000 100000", 1),
        ("max 100000", 0),  # no limit
        ("-1 100000", 0),  # cgroup v1's "no limit"
        ("0 100000", 0),
        ("garbage", 0),
        ("", 0),
    ],
)
def test_cgroup_cpu_max_is_parsed(text, cpus):
    assert _core._parse_cpu_max(text) == cpus


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_default_thread_count_follows_the_affinity_mask():
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs to restrict to 1")
    out = run_python(
        """
        import os
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        from tinynn import _core
        print(_core.get_num_threads(), _core.default_num_threads())
        """,
        env={"TINYNN_NUM_THREADS": ""},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1"]


def test_default_thread_count_without_restriction_is_the_allowed_cpus():
    out = run_python(
        "from tinynn import _core; print(_core.default_num_threads())",
        env={"TINYNN_NUM_THREADS": ""},
    )
    assert out.returncode == 0, out.stderr
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    assert 1 <= int(out.stdout) <= max(allowed, os.cpu_count() or 1)


def test_environment_variable_sets_the_thread_count():
    out = run_python(
        "import tinynn; print(tinynn.get_num_threads())",
        env={"TINYNN_NUM_THREADS": "3"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


@pytest.mark.parametrize("value", ["zero", "0", "-2", "2.5", "99999"])
def test_bad_environment_variable_warns_and_uses_the_default(value):
    out = run_python(
        """
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import tinynn
        from tinynn import _core
        print(tinynn.get_num_threads() == _core.default_num_threads())
        print("|".join(str(w.message) for w in caught))
        """,
        env={"TINYNN_NUM_THREADS": value},
    )
    assert out.returncode == 0, out.stderr
    same, messages = out.stdout.splitlines()
    assert same == "True"
    assert f"TINYNN_NUM_THREADS={value!r}" in messages
    assert "an integer in [1, 1024]" in messages


# ---- fork -------------------------------------------------------------------------------
FORK_AFTER_THREADS = """
import os, sys
import numpy as np
from tinynn import _core
_core.set_num_threads(2)
r = np.random.default_rng(0)
a, b = r.normal(size=(256, 300)), r.normal(size=(300, 256))
def product():
    c = np.empty((256, 256))
    _core.gemm(a, b, c)   # big enough to use both threads
    return c
parent = product()
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(read)
    child = product()   # hung forever with OpenMP's pool
    same = b"same" if np.array_equal(child, parent) else b"diff"
    # The child must have its own worker now, not run alone for ever.
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc") else 2
    os.write(write, same + b" %d" % threads)
    os._exit(0)
os.close(write)
answer = os.read(read, 16)
_, status = os.waitpid(pid, 0)
print(answer.decode(), os.waitstatus_to_exitcode(status), _core.get_num_threads())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_after_a_multithreaded_kernel_leaves_a_working_pool():
    # The user's pattern on purpose: a fork of a process that has threads
    # (Python 3.12+ warns about exactly that, hence the -W filter's absence
    # of effect on the result: warnings go to stderr only).
    out = run_python(FORK_AFTER_THREADS, timeout=60)
    assert out.returncode == 0, out.stderr
    same, child_threads, exit_code, threads = out.stdout.split()
    assert (same, exit_code, threads) == ("same", "0", "2")
    assert int(child_threads) >= 2, "the child kernels ran on one thread"


MULTIPROCESSING_TRAINING = """
import multiprocessing as mp
import numpy as np
import tinynn as tf

def train(seed):
    tf.set_seed(seed)
    r = np.random.default_rng(seed)
    x = r.normal(size=(256, 100)).astype(np.float32)
    y = r.integers(0, 4, 256)
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(300, activation="relu", input_shape=(100,)),
        tf.keras.layers.Dense(4, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    return [w.tolist() for w in model.get_weights()]

if __name__ == "__main__":
    tf.set_num_threads(2)
    expected = [train(1), train(2)]   # the parent's pool is running now
    with mp.get_context("fork").Pool(2) as pool:
        got = pool.map(train, [1, 2])
    print("equal" if got == expected else "different")
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_multiprocessing_fork_children_train_like_the_parent(tmp_path):
    script = tmp_path / "train_in_children.py"
    script.write_text(MULTIPROCESSING_TRAINING)
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "equal"


# ---- one model, several Python threads -------------------------------------------------
def small_model(seed=0, learning_rate=0.01):
    tf.set_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(64, activation="relu", input_shape=(30,)),
            tf.keras.layers.Dense(5, activation="softmax"),
        ]
    )
    model.compile(
        tf.keras.optimizers.SGD(learning_rate=learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def data(n=600, seed=5):
    r = rng(seed)
    return r.normal(size=(n, 30)).astype(np.float32), r.integers(0, 5, n)


def run_together(*targets):
    errors = []

    def guarded(target):
        try:
            target()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_threads_predicting_with_one_model_get_the_single_threaded_outputs():
    model = small_model()
    x, _ = data()
    inputs = [x[:300], x[300:]]
    expected = [model.predict(part, verbose=0) for part in inputs]
    mismatches = []

    def predict_repeatedly(index):
        def run():
            for _ in range(20):
                got = model.predict(inputs[index], batch_size=7, verbose=0)
                if not np.array_equal(got, expected[index]):
                    mismatches.append(index)
                got = model(inputs[index][:50])
                if not np.array_equal(got, expected[index][:50]):
                    mismatches.append(index)

        return run

    assert run_together(predict_repeatedly(0), predict_repeatedly(1)) == []
    assert mismatches == []


def test_predict_and_evaluate_during_fit_see_consistent_weights():
    # learning_rate 0: fit changes no weight, so every prediction made during
    # it must equal the one made before; fit's fused softmax (its last layer
    # runs linear while training) must never leak into predict.
    model = small_model(learning_rate=0.0)
    x, y = data()
    expected_probs = model.predict(x, verbose=0)
    expected_eval = model.evaluate(x, y, verbose=0)
    stop = threading.Event()
    bad = []

    def train():
        try:
            model.fit(x, y, batch_size=8, epochs=8, verbose=0)
        finally:
            stop.set()

    def predict():
        while not stop.is_set():
            if not np.array_equal(
                model.predict(x, batch_size=16, verbose=0), expected_probs
            ):
                bad.append("predict")

    def evaluate():
        while not stop.is_set():
            if model.evaluate(x, y, verbose=0) != expected_eval:
                bad.append("evaluate")

    assert run_together(train, predict, evaluate) == []
    assert bad == []


def test_fit_from_a_second_thread_raises_instead_of_mixing():
    model = small_model()
    x, y = data(4000)
    started = threading.Event()
    errors = []

    class Signal(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            started.set()

    def first():
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[Signal()])

    def second():
        started.wait(30)
        try:
            model.fit(x, y, epochs=1, verbose=0)
        except RuntimeError as exc:
            errors.append(str(exc))

    assert run_together(first, second) == []
    assert len(errors) == 1
    assert "being trained by another thread" in errors[0]
    # Once the first fit is over, another thread may train the model.
    assert run_together(lambda: model.fit(x, y, epochs=1, verbose=0)) == []


# ---- SIMD paths the binary really holds -----------------------------------------------
def test_every_path_offered_was_built_for_its_instruction_set():
    table = {row["name"]: row for row in _core.simd_paths()}
    assert _core.simd() in _core.available_simd()
    for name in _core.available_simd():
        assert table[name]["built"] and table[name]["cpu"]
    if os.uname().machine == "x86_64":
        # A compiler that ignored the instruction-set flags would leave
        # avx2/avx512 without their instructions: the build must hold them
        # whether or not this CPU can run them.
        assert table["avx2"]["built"], "the avx2 path was built without AVX2"
        assert table["avx512"]["built"], "the avx512 path was built without AVX-512"


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 paths")
@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs objdump")
def test_the_binary_contains_avx2_and_avx512_instructions():
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", _core.__file__],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fma_ymm = sum(
        1 for line in listing.splitlines() if "vfmadd" in line and "%ymm" in line
    )
    fma_zmm = sum(
        1 for line in listing.splitlines() if "vfmadd" in line and "%zmm" in line
    )
    assert fma_ymm >= 24, f"{fma_ymm} ymm FMA instructions: no AVX2 micro-kernel"
    assert fma_zmm >= 32, f"{fma_zmm} zmm FMA instructions: no AVX-512 micro-kernel"
