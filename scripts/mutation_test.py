"""Mutation test of the fast suite: plant realistic one-place bugs, one at a time.

Each mutant is (file, exact original snippet, replacement, description). For
each, a private copy of the work tree (tracked and untracked, not ignored
files) gets the snippet replaced (it must occur exactly once), the C
extension is rebuilt in place when a C file changed, and the fast suite runs
with ``-x``. A failing suite KILLS the mutant; a passing one lets it SURVIVE.

Loud failures, never counted as kills: a snippet that does not occur exactly
once (checked for every mutant before anything runs), a mutant that does not
compile, the unmutated copy failing its own suite, pytest errors other than
test failures (usage, collection, internal), and tinynn imported from
anywhere but the copy.

Usage (from the repository root, in the project's virtualenv):

    python scripts/mutation_test.py                     # all mutants
    python scripts/mutation_test.py --only 12           # one mutant (1-based)
    python scripts/mutation_test.py --list              # the table, no runs
    python scripts/mutation_test.py --check             # snippets only
    python scripts/mutation_test.py --tests-from e421aba   # the suite of a commit
    python scripts/mutation_test.py --subset tests/test_behaviour_pins.py

Exit status: 0 when every mutant ran (killed or survived) and the kill rate
reaches --target (default 0, i.e. report only), 1 below target, 2 on any
loud failure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    path: str
    original: str
    replacement: str
    description: str

    @property
    def is_c(self) -> bool:
        return self.path.startswith("csrc/")


M = Mutant

MUTANTS: list[Mutant] = [
    # ---- csrc/dense.inc -------------------------------------------------
    M(
        "csrc/dense.inc",
        "    if (!j->accumulate)\n"
        "        for (ptrdiff_t c = c0; c < c1; c++)\n"
        "            j->db[c] = 0;",
        "    for (ptrdiff_t c = c0; c < c1; c++)\n        j->db[c] = 0;",
        "dense_backward: db ignores accumulate=True (always overwritten)",
    ),
    M(
        "csrc/dense.inc",
        "    if (dx) /* dx = dy w^T",
        "    if (dx && db) /* dx = dy w^T",
        "dense_backward: dx skipped when there is no bias",
    ),
    M(
        "csrc/dense.inc",
        "    ptrdiff_t c1 = j->fan_out - c0 < DENSE_BLOCK ? j->fan_out\n",
        "    ptrdiff_t c1 = j->fan_out - c0 < DENSE_BLOCK ? j->fan_out - 1\n",
        "dense_backward: last db column of the last block left out",
    ),
    M(
        "csrc/dense.inc",
        "            yr[c] += j->b[c];",
        "            yr[c] += j->b[r % j->fan_out];",
        "dense_forward: bias indexed by row instead of column",
    ),
    # ---- csrc/module.c --------------------------------------------------
    M(
        "csrc/module.c",
        '        check_no_overlap(fn, "y", y, "x", x, 0) ||\n'
        '        check_no_overlap(fn, "y", y, "w", w, 0) ||',
        '        check_no_overlap(fn, "y", y, "w", w, 0) ||',
        "dense_forward: no check that y does not overlap x",
    ),
    M(
        "csrc/module.c",
        "    if (step < 1) {",
        "    if (step < 0) {",
        "adam_update: step 0 accepted (bias correction divides by zero)",
    ),
    # ---- csrc/losses.inc ------------------------------------------------
    M(
        "csrc/losses.inc",
        "        if (z[j] > z[best])",
        "        if (z[j] >= z[best])",
        "softmax_xent: argmax takes the LAST of tied logits (correct count)",
    ),
    M(
        "csrc/losses.inc",
        "            d[j] = (real)((p * t_sum - tj) * scale);",
        "            d[j] = (real)((p - tj) * scale);",
        "xent gradient assumes targets sum to 1",
    ),
    M(
        "csrc/losses.inc",
        "    double total = 0, scale = 2.0 / (double)n;",
        "    double total = 0, scale = 1.0 / (double)n;",
        "mse gradient loses its factor 2",
    ),
    M(
        "csrc/losses.inc",
        "        int clipped = !(p > eps && p < 1 - eps);",
        "        int clipped = 0;",
        "bce gradient not zeroed where the clip is active",
    ),
    M(
        "csrc/losses.inc",
        "        total += (z > 0 ? z : 0) - z * t + log1p(exp(-fabs(z)));",
        "        total += log1p(exp(-z)) + z - z * t;",
        "sigmoid_bce: unstable formula (overflows for very negative logits)",
    ),
    M(
        "csrc/losses.inc",
        "        total -= t * log(q + eps) + (1 - t) * log(1 - q + eps);",
        "        total -= t * log(q) + (1 - t) * log(1 - q);",
        "bce: Keras 2's extra epsilon inside the logs dropped",
    ),
    M(
        "csrc/losses.inc",
        "    return batch ? total / (double)batch : 0.0;\n}\n\ndouble FN(tnn_softmax_xent_dense)",
        "    return batch ? total : 0.0;\n}\n\ndouble FN(tnn_softmax_xent_dense)",
        "softmax_xent: loss summed over the batch instead of averaged",
    ),
    M(
        "csrc/losses.inc",
        "            if (t[j] > t[target_best])",
        "            if (t[j] >= t[target_best])",
        "softmax_xent_dense: target argmax takes the last tie",
    ),
    # ---- csrc/activations.inc -------------------------------------------
    M(
        "csrc/activations.inc",
        "        real top = xr[0];",
        "        real top = 0;",
        "softmax: row max not subtracted (overflow for large logits)",
    ),
    M(
        "csrc/activations.inc",
        "                dxr[j] = yr[j] * (dyr[j] - (real)dot);",
        "                dxr[j] = dyr[j] - (real)dot;",
        "softmax backward: missing factor y",
    ),
    M(
        "csrc/activations.inc",
        "            dx[i] = dy[i] * y[i] * (1 - y[i]);",
        "            dx[i] = dy[i] * (1 - y[i]);",
        "sigmoid backward: missing factor y",
    ),
    M(
        "csrc/activations.inc",
        "            dx[i] = dy[i] * (1 - y[i] * y[i]);",
        "            dx[i] = dy[i] * (1 - y[i]);",
        "tanh backward: 1 - y instead of 1 - y^2",
    ),
    M(
        "csrc/activations.inc",
        "            dx[i] = y[i] > 0 ? g : 0;",
        "            dx[i] = y[i] >= 0 ? g : 0;",
        "relu backward: gradient passes where the output is 0",
    ),
    M(
        "csrc/activations.inc",
        "    ptrdiff_t len = job->n - start < ELEMENTWISE_CHUNK ? job->n - start\n",
        "    ptrdiff_t len = job->n - start < ELEMENTWISE_CHUNK ? job->n - start - 1\n",
        "activation forward: last element of a short tail chunk skipped",
    ),
    # ---- csrc/gemm.inc ---------------------------------------------------
    M(
        "csrc/gemm.inc",
        "                ap[p * MR + i] = a[(i0 + i) * rsa + p * csa];",
        "                ap[p * MR + i] = a[(i0 + i) * rsa + p];",
        "gemm pack_a: column stride ignored (wrong for transposed a)",
    ),
    M(
        "csrc/gemm.inc",
        "                bp[p * NR + j] = row[j * csb];",
        "                bp[p * NR + j] = row[j];",
        "gemm pack_b fringe/strided path: column stride ignored",
    ),
    M(
        "csrc/gemm.inc",
        "            *cij = load ? *cij + tile[j] : tile[j];",
        "            *cij = tile[j];",
        "gemm micro-kernel fringe store ignores accumulation",
    ),
    M(
        "csrc/gemm.inc",
        "                    ptrdiff_t cols = nc - jr < NR ? nc - jr : NR;",
        "                    ptrdiff_t cols = nc - jr < NR ? nc - jr - 1 : NR;",
        "gemm: last column of a fringe tile dropped",
    ),
    M(
        "csrc/gemm.inc",
        "                        ptrdiff_t rows = mc - ir < MR ? mc - ir : MR;",
        "                        ptrdiff_t rows = mc - ir < MR ? mc - ir - 1 : MR;",
        "gemm: last row of a fringe tile dropped",
    ),
    M(
        "csrc/gemm.inc",
        "            int load = accumulate || pc > 0;",
        "            int load = accumulate;",
        "gemm: k-slices after the first overwrite instead of adding (k > KC)",
    ),
    M(
        "csrc/gemm.inc",
        "    if (rows == MR && cols == NR && csc == 1) {",
        "    if (rows == MR && csc == 1) {",
        "gemm micro-kernel: full-tile store used on column fringes",
    ),
    # ---- csrc/optim.inc --------------------------------------------------
    M(
        "csrc/optim.inc",
        "            w[i] += mu * velocity[i] - rate * g[i];",
        "            w[i] += velocity[i];",
        "SGD nesterov: plain momentum step",
    ),
    M(
        "csrc/optim.inc",
        "        for (ptrdiff_t i = 0; i < n; i++) {\n"
        "            velocity[i] = mu * velocity[i] - rate * g[i];\n"
        "            w[i] += velocity[i];",
        "        for (ptrdiff_t i = 0; i < n; i++) {\n"
        "            velocity[i] = mu * velocity[i] + rate * g[i];\n"
        "            w[i] -= velocity[i];",
        "SGD momentum: sign convention of the velocity flipped",
    ),
    M(
        "csrc/optim.inc",
        "            w[i] -= rate * g[i];",
        "            w[i] += rate * g[i];",
        "SGD without momentum: step taken uphill",
    ),
    M(
        "csrc/optim.inc",
        "        real step = rate * g[i] / SQRT(s[i] + eps);",
        "        real step = rate * g[i] / (SQRT(s[i]) + eps);",
        "RMSprop: epsilon outside the root",
    ),
    M(
        "csrc/optim.inc",
        "        s[i] = decay * s[i] + keep * g[i] * g[i];",
        "        s[i] = keep * s[i] + decay * g[i] * g[i];",
        "RMSprop: rho and 1 - rho swapped",
    ),
    M(
        "csrc/optim.inc",
        "            velocity[i] = mu * velocity[i] + step;",
        "            velocity[i] = mu * velocity[i] - step;",
        "RMSprop momentum: step subtracted from the velocity",
    ),
    M(
        "csrc/optim_entry.inc",
        "        .alpha = (real)(lr * sqrt(1 - pow(beta2, t)) / (1 - pow(beta1, t))),",
        "        .alpha = (real)(lr / (1 - pow(beta1, t))),",
        "Adam: sqrt(1 - beta2^t) bias correction missing",
    ),
    M(
        "csrc/optim.inc",
        "            w[i] -= alpha * m[i] / (SQRT(vhat[i]) + eps);",
        "            w[i] -= alpha * m[i] / (SQRT(v[i]) + eps);",
        "AMSGrad: update uses v instead of vhat",
    ),
    M(
        "csrc/optim.inc",
        "            w[i] -= alpha * m[i] / (SQRT(v[i]) + eps);",
        "            w[i] -= alpha * m[i] / SQRT(v[i] + eps);",
        "Adam: epsilon inside the root",
    ),
    M(
        "csrc/optim.inc",
        "        for (ptrdiff_t i = 0; i < n; i++) {\n"
        "            m[i] += (g[i] - m[i]) * one_b1;\n"
        "            v[i] += (g[i] * g[i] - v[i]) * one_b2;\n"
        "            w[i]",
        "        for (ptrdiff_t i = 0; i < n; i++) {\n"
        "            m[i] += (g[i] - m[i]) * one_b2;\n"
        "            v[i] += (g[i] * g[i] - v[i]) * one_b2;\n"
        "            w[i]",
        "Adam: first moment decays with beta_2",
    ),
    # ---- tinynn/utils.py -------------------------------------------------
    M(
        "tinynn/utils.py",
        "    elif labels.size and labels.max() >= num_classes:",
        "    elif labels.size and labels.max() > num_classes:",
        "to_categorical: label == num_classes accepted",
    ),
    # ---- tinynn/callbacks.py ---------------------------------------------
    M(
        "tinynn/callbacks.py",
        "        if self._batches % self.save_freq == 0:",
        "        if self._batches % self.save_freq == 1:",
        "ModelCheckpoint: integer save_freq saves one batch early",
    ),
    M(
        "tinynn/callbacks.py",
        "        return current + self.min_delta < best",
        "        return current - self.min_delta < best",
        "EarlyStopping: min_delta sign wrong when minimising",
    ),
    M(
        "tinynn/callbacks.py",
        "            if self.baseline is None or self._monitor.improved(current, self.baseline):",
        "            if self.baseline is None or self._monitor.improved(self.baseline, current):",
        "EarlyStopping: baseline comparison reversed",
    ),
    M(
        "tinynn/callbacks.py",
        "        if epoch < self.start_from_epoch:",
        "        if epoch <= self.start_from_epoch:",
        "EarlyStopping: start_from_epoch off by one",
    ),
    M(
        "tinynn/callbacks.py",
        "        if self.wait >= self.patience and epoch > 0:",
        "        if self.wait > self.patience and epoch > 0:",
        "EarlyStopping: patience off by one",
    ),
    M(
        "tinynn/callbacks.py",
        "            if self.restore_best_weights:\n"
        "                self.best_weights = self.model.get_weights()",
        "            pass",
        "EarlyStopping: restore_best_weights restores the first epoch's weights",
    ),
    M(
        "tinynn/callbacks.py",
        '    return "max" if monitor.endswith(("acc", "accuracy", "auc")) else "min"',
        '    return "max" if monitor.endswith(("accuracy", "auc")) else "min"',
        "mode 'auto': 'acc' minimised",
    ),
    M(
        "tinynn/callbacks.py",
        '        monitor: str = "val_loss",\n        min_delta: float = 0.0,',
        '        monitor: str = "loss",\n        min_delta: float = 0.0,',
        "EarlyStopping: default monitor 'loss'",
    ),
    M(
        "tinynn/callbacks.py",
        "        self.epoch.append(int(epoch))",
        "        self.epoch.append(int(epoch) + 1)",
        "History.epoch 1-based",
    ),
    M(
        "tinynn/callbacks.py",
        "        if epochs > 1:\n            print(",
        "        if epochs >= 1:\n            print(",
        "ProgbarLogger: 'Epoch 1/1' header printed",
    ),
    # ---- tinynn/training.py ----------------------------------------------
    M(
        "tinynn/training.py",
        "            if val is not None and (epoch + 1) % validation_freq == 0:",
        "            if val is not None and epoch % validation_freq == 0:",
        "validation_freq: validates on the first epoch of each period",
    ),
    M(
        "tinynn/training.py",
        "        for epoch in range(initial_epoch, epochs):",
        "        for epoch in range(initial_epoch, initial_epoch + epochs):",
        "initial_epoch: epochs taken as a count",
    ),
    M(
        "tinynn/training.py",
        "    split_at = int(n * (1.0 - float(fraction)))",
        "    split_at = round(n * (1.0 - float(fraction)))",
        "validation_split: split point rounded instead of floored",
    ),
    M(
        "tinynn/training.py",
        "    return xs[:split_at], targets[:split_at], (xs[split_at:], targets[split_at:])",
        "    return (\n        xs[n - split_at :],\n        targets[n - split_at :],\n"
        "        (xs[: n - split_at], targets[: n - split_at]),\n    )",
        "validation_split: validation taken from the head",
    ),
    M(
        "tinynn/training.py",
        "            for epoch in range(initial_epoch, epochs):\n"
        "                started = time.perf_counter()\n"
        "                callback_list.on_epoch_begin(epoch)\n"
        "                order = rng.permutation(n) if shuffle else None\n",
        "            order = rng.permutation(n) if shuffle else None\n"
        "            for epoch in range(initial_epoch, epochs):\n"
        "                started = time.perf_counter()\n"
        "                callback_list.on_epoch_begin(epoch)\n",
        "shuffle: one permutation reused for every epoch",
    ),
    M(
        "tinynn/training.py",
        "        self.totals = [t + float(v) * size for t, v in zip(self.totals, values)]",
        "        self.totals = [t + float(v) for t, v in zip(self.totals, values)]\n"
        "        size = 1",
        "epoch means: batches not weighted by their size",
    ),
    M(
        "tinynn/training.py",
        "        steps = math.ceil(n / batch_size)",
        "        steps = n // batch_size or 1",
        "fit: last short batch dropped",
    ),
    M(
        "tinynn/training.py",
        "        batch_size = (\n            32 if batch_size is None else "
        'positive_int(batch_size, where, "batch_size")\n        )\n        epochs =',
        "        batch_size = (\n            64 if batch_size is None else "
        'positive_int(batch_size, where, "batch_size")\n        )\n        epochs =',
        "fit: default batch_size 64",
    ),
    M(
        "tinynn/training.py",
        "            optimizer_object.iterations = 0",
        "            pass",
        "compile again: optimizer step count not reset",
    ),
    # ---- tinynn/optimizers.py --------------------------------------------
    M(
        "tinynn/optimizers.py",
        "        beta_2: float = 0.999,\n        epsilon: float = 1e-7,",
        "        beta_2: float = 0.999,\n        epsilon: float = 1e-8,",
        "Adam: PyTorch's default epsilon 1e-8",
    ),
    M(
        "tinynn/optimizers.py",
        "        rho: float = 0.9,",
        "        rho: float = 0.95,",
        "RMSprop: default rho 0.95",
    ),
    M(
        "tinynn/optimizers.py",
        "    def __init__(\n        self,\n        learning_rate: float = 0.01,",
        "    def __init__(\n        self,\n        learning_rate: float = 0.001,",
        "SGD: default learning rate 0.001",
    ),
    M(
        "tinynn/optimizers.py",
        "            self._update(var, g, entry[1])",
        "            self._update(var, g, self._new_state(var))",
        "apply_gradients: per-variable state not kept between steps",
    ),
    # ---- tinynn/metrics.py -----------------------------------------------
    M(
        "tinynn/metrics.py",
        "            np.log(self.threshold / (1 - self.threshold)) if logits else self.threshold",
        "            self.threshold",
        "BinaryAccuracy on logits: cut at 0.5 instead of 0",
    ),
    M(
        "tinynn/metrics.py",
        "        return float(np.mean(np.abs(outputs - targets.reshape(outputs.shape))))",
        "        return float(np.mean(outputs - targets.reshape(outputs.shape)))",
        "MAE metric: abs missing",
    ),
    M(
        "tinynn/metrics.py",
        "        return float(np.mean((outputs - targets.reshape(outputs.shape)) ** 2))",
        "        return float(np.mean(np.abs(outputs - targets.reshape(outputs.shape))))",
        "MSE metric: mean absolute instead of squared error",
    ),
    # ---- tinynn/losses.py ------------------------------------------------
    M(
        "tinynn/losses.py",
        '            np.copyto(grad, np.sign(diff) / diff.size, casting="unsafe")',
        '            np.copyto(grad, np.sign(diff) / len(diff), casting="unsafe")',
        "MAE gradient divided by the batch, not the element count",
    ),
    M(
        "tinynn/losses.py",
        "        loss = float(np.mean(np.log(total) - np.log(picked)))",
        "        loss = float(np.mean(-np.log(picked)))",
        "sparse CE on probabilities: no renormalisation",
    ),
    M(
        "tinynn/losses.py",
        "            targets = targets * (1 - self.label_smoothing) + 0.5 * self.label_smoothing",
        "            targets = targets * (1 - self.label_smoothing) + self.label_smoothing",
        "BCE label smoothing: s instead of s / 2",
    ),
    M(
        "tinynn/losses.py",
        "                self.label_smoothing / targets.shape[-1]",
        "                self.label_smoothing / (targets.shape[-1] - 1)",
        "CCE label smoothing: s / (K - 1)",
    ),
    # ---- tinynn/progress.py ----------------------------------------------
    M(
        "tinynn/progress.py",
        '    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"',
        '    return f"{value:.4f}" if abs(value) >= 1e-3 else f"{value:.4e}"',
        "progress: 1e-3 printed in fixed point",
    ),
    M(
        "tinynn/progress.py",
        "            filled = int(self.width * min(self._current, target) / target)",
        "            filled = round(self.width * min(self._current, target) / target)",
        "progress: bar cells rounded instead of floored",
    ),
    M(
        "tinynn/progress.py",
        "    if seconds >= 1e-3:",
        "    if seconds > 1e-3:",
        "progress: exactly 1 ms per step printed in microseconds",
    ),
    # ---- tinynn/layers/core.py ------------------------------------------------
    M(
        "tinynn/layers/core.py",
        "        np.multiply(keep, 1.0 / (1.0 - self.rate), out=mask)",
        "        np.multiply(keep, 1.0, out=mask)",
        "Dropout: kept units not scaled by 1 / (1 - rate)",
    ),
    # ---- added with the threaded core, Adagrad, registry ----------------
    M(
        "csrc/gemm_entry.inc",
        "    ptrdiff_t j1 = g->col_tiles * (cb + 1) / g->col_blocks * g->nr;",
        "    ptrdiff_t j1 = g->col_tiles * (cb + 1) / g->col_blocks * g->nr - 1;",
        "gemm split: a column block ends one column early (inclusive end)",
    ),
    M(
        "csrc/gemm_entry.inc",
        "    ptrdiff_t i1 = g->row_tiles * (rb + 1) / g->row_blocks * g->mr;",
        "    ptrdiff_t i1 = g->row_tiles * (rb + 1) / g->row_blocks * g->mr - 1;",
        "gemm split: a row block ends one row early (inclusive end)",
    ),
    M(
        "csrc/gemm_entry.inc",
        "    ptrdiff_t cb = block % g->col_blocks, rb = block / g->col_blocks;",
        "    ptrdiff_t cb = block % g->col_blocks, rb = block / g->row_blocks;",
        "gemm split: row block index divides by the row count, not the column count",
    ),
    M(
        "csrc/threads_posix.c",
        "        job.fn(job.ctx, (ptrdiff_t)(left - 1));",
        "        job.fn(job.ctx, (ptrdiff_t)left);",
        "pool: a claim runs chunk `left`, not `left - 1` (chunk 0 never runs)",
    ),
    # A hang: only the per-run --timeout kills it (600 s by default; the fast
    # suite takes under a minute, so --timeout 150 saves most of that wait).
    M(
        "csrc/threads_posix.c",
        "        ptrdiff_t done = atomic_fetch_add(&finished, 1) + 1;",
        "        ptrdiff_t done = atomic_fetch_add(&finished, 1);",
        "pool: finished count read before the increment (sleeping submitter never woken: hang)",
    ),
    M(
        "csrc/optim.inc",
        "        w[i] -= rate * g[i] / (SQRT(acc[i]) + eps);",
        "        w[i] -= rate * g[i] / SQRT(acc[i] + eps);",
        "Adagrad: epsilon inside the root (Keras 3, not Keras 2)",
    ),
    M(
        "csrc/optim.inc",
        "        acc[i] += g[i] * g[i];\n",
        "",
        "Adagrad: accumulator never updated",
    ),
    M(
        "tinynn/parameters.py",
        "            if any(p is not v for p, v in zip(layer._params, views)):\n"
        "                return False\n",
        "",
        "ParameterStore.matches: only counts views, so a shared layer is never rebound",
    ),
    M(
        "tinynn/training.py",
        "            weights_before = weights_before or bool(layer.trainable_weights)",
        "            weights_before = bool(layer.trainable_weights)",
        "backprop stop: only the layer just below counts (stops under a weightless layer)",
    ),
    M(
        "tinynn/training.py",
        "        with self.lock:\n"
        "            self._ensure_buffers(len(xb))\n"
        "            out[...] = self._forward(xb, training, False)",
        "        self._ensure_buffers(len(xb))\n"
        "        out[...] = self._forward(xb, training, False)",
        "_predict_batch: shared buffers used without the batch lock",
    ),
    M(
        "tinynn/layers/core.py",
        "    def output_activation(self) -> str | None:\n"
        "        return self._activation\n"
        "\n"
        "    def _build(self, features):",
        "    def output_activation(self) -> str | None:\n"
        "        return None\n"
        "\n"
        "    def _build(self, features):",
        "Activation.output_activation None: a final Activation('softmax') is never fused",
    ),
    M(
        "tinynn/registry.py",
        "    return {k: v for k, v in config.items() if k in named}",
        "    return dict(config)",
        "constructor_arguments: keys no parameter names are kept (reach **kwargs)",
    ),
]


def copy_tree(dest: Path) -> None:
    """Tracked and untracked (not ignored) files of the work tree."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listing.split("\0")):
        src = ROOT / rel
        if not src.is_file():
            continue  # deleted but still tracked
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def replace_tests(dest: Path, rev: str) -> None:
    """Use the tests/ folder of commit `rev` instead of the work tree's."""
    shutil.rmtree(dest / "tests")
    archive = subprocess.run(
        ["git", "archive", rev, "tests"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x"], cwd=dest, input=archive, check=True)


def build(dest: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace", "--force"],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BuildError(result.stdout[-3000:] + result.stderr[-3000:])


class BuildError(RuntimeError):
    pass


def extension(dest: Path) -> Path:
    found = sorted((dest / "tinynn").glob("_core*.so"))
    if len(found) != 1:
        raise RuntimeError(
            f"expected one built tinynn/_core*.so in {dest}; got {found}"
        )
    return found[0]


# Test files that call only tinynn._core (no other tinynn module): a mutant
# of tinynn/*.py cannot change their outcome (an import error would fail
# every other file as well), so --skip-core-tests-for-python leaves them out.
CORE_ONLY_TESTS = (
    "tests/test_core_kernels.py",
    "tests/test_core_gradcheck.py",
    "tests/test_core_errors.py",
)


def run_suite(dest: Path, env: dict[str, str], args, timeout: float, skip=()):
    """(status, seconds, tail of output): status is 'pass', 'fail', 'crash',
    'timeout' or 'error' (pytest could not run the tests)."""
    ignores = [f"--ignore={path}" for path in skip if (dest / path).exists()]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-m",
        "not slow",
        "-p",
        "no:cacheprovider",
        *ignores,
        *args.subset,
    ]
    started = time.monotonic()
    try:
        result = subprocess.run(
            cmd, cwd=dest, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"")[-1500:]
        return "timeout", time.monotonic() - started, str(out)
    seconds = time.monotonic() - started
    tail = (result.stdout + result.stderr)[-1500:]
    if result.returncode == 0:
        return "pass", seconds, tail
    if result.returncode == 1:
        return "fail", seconds, tail
    if result.returncode < 0:  # killed by a signal: a crash is a detection
        return "crash", seconds, tail
    return "error", seconds, tail


def first_failure(tail: str) -> str:
    for line in tail.splitlines():
        if line.startswith(("FAILED", "ERROR")):
            return line.split(" - ")[0].replace("FAILED ", "")[:90]
    return ""


def check_snippets(tree: Path, mutants: list[tuple[int, Mutant]]) -> list[str]:
    problems = []
    for index, mutant in mutants:
        text = (tree / mutant.path).read_text()
        count = text.count(mutant.original)
        if count != 1:
            problems.append(
                f"mutant {index} ({mutant.path}: {mutant.description}): snippet occurs "
                f"{count} times, expected exactly once"
            )
        if mutant.original == mutant.replacement:
            problems.append(f"mutant {index}: replacement equals the original")
    return problems


def stop_on_sigterm(signum, frame):
    """Turn kill PID into SystemExit: the running child is killed and the
    temporary copy removed by the usual cleanup."""
    raise SystemExit(f"stopped by signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", type=int, action="append", help="mutant number (repeatable)"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the mutants and exit"
    )
    parser.add_argument("--check", action="store_true", help="only check the snippets")
    parser.add_argument(
        "--tests-from", metavar="REV", help="run the tests/ of commit REV"
    )
    parser.add_argument(
        "--subset", nargs="*", default=[], metavar="PATH", help="test files to run"
    )
    parser.add_argument(
        "--start", type=int, default=1, help="first mutant number to run"
    )
    parser.add_argument(
        "--skip-core-tests-for-python",
        action="store_true",
        help="for mutants of tinynn/*.py, leave out " + ", ".join(CORE_ONLY_TESTS),
    )
    parser.add_argument(
        "--skip-baseline",
        action="store_true",
        help="do not first run the unmutated suite (only when the same tree "
        "just passed it)",
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument("--target", type=float, default=0.0, help="kill rate to reach")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    parser.add_argument(
        "--verbose", action="store_true", help="print survivors' output"
    )
    args = parser.parse_args()

    chosen = [
        (i, m)
        for i, m in enumerate(MUTANTS, 1)
        if (not args.only or i in args.only) and i >= args.start
    ]
    if args.list:
        for index, mutant in chosen:
            print(f"{index:3d}  {mutant.path:22s} {mutant.description}")
        return 0
    problems = check_snippets(ROOT, chosen)
    if problems:
        print("\n".join(["SNIPPET PROBLEMS:", *problems]), file=sys.stderr)
        return 2
    if args.check:
        print(f"all {len(chosen)} snippets occur exactly once")
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="tinynn-mutants-"))
    tree = tmp / "tree"
    try:
        copy_tree(tree)
        if args.tests_from:
            replace_tests(tree, args.tests_from)
        env = dict(os.environ)
        env.update(PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
        build(tree, env)
        pristine_so = extension(tree).read_bytes()
        where = subprocess.run(
            [
                sys.executable,
                "-c",
                "import tinynn, sys; sys.stdout.write(tinynn.__file__)",
            ],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if not Path(where).resolve().is_relative_to(tree.resolve()):
            print(
                f"tinynn imports from {where}, not from the copy {tree}",
                file=sys.stderr,
            )
            return 2
        suite = "tests of " + args.tests_from if args.tests_from else "work-tree tests"
        if args.subset:
            suite += ", subset " + " ".join(args.subset)
        print(f"copy: {tree}  ({suite})")
        if args.skip_baseline:
            status, seconds, tail = "pass", 0.0, ""
        else:
            status, seconds, tail = run_suite(tree, env, args, args.timeout)
        if status != "pass":
            print(
                f"the unmutated suite does not pass ({status}):\n{tail}",
                file=sys.stderr,
            )
            return 2
        print(f"unmutated suite passes in {seconds:.0f} s\n", flush=True)

        results = []
        print(
            f"{'#':>3}  {'result':8s} {'secs':>5}  {'file':22s} description / first failing test"
        )
        for index, mutant in chosen:
            path = tree / mutant.path
            original = path.read_text()
            try:
                path.write_text(
                    original.replace(mutant.original, mutant.replacement, 1)
                )
                if mutant.is_c:
                    build(tree, env)
                skip = CORE_ONLY_TESTS if args.skip_core_tests_for_python else ()
                status, seconds, tail = run_suite(
                    tree, env, args, args.timeout, () if mutant.is_c else skip
                )
            except BuildError as exc:
                status, seconds, tail = "build-error", 0.0, str(exc)
            finally:
                path.write_text(original)
                if mutant.is_c:
                    extension(tree).write_bytes(pristine_so)
            verdict = {
                "fail": "killed",
                "crash": "killed:crash",
                "timeout": "killed:timeout",
                "pass": "SURVIVED",
            }.get(status, status.upper())
            results.append((index, mutant, verdict, status))
            note = first_failure(tail) if verdict.startswith("killed") else ""
            print(
                f"{index:3d}  {verdict:8s} {seconds:5.0f}  {mutant.path:22s} "
                f"{mutant.description}" + (f"\n{'':42s}<- {note}" if note else ""),
                flush=True,
            )
            if not verdict.startswith(("killed", "SURVIVED")) or (
                args.verbose and verdict == "SURVIVED"
            ):
                print(tail, flush=True)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    killed = sum(1 for r in results if r[2].startswith("killed"))
    errors = [r for r in results if not r[2].startswith(("killed", "SURVIVED"))]
    counted = len(results) - len(errors)
    rate = killed / counted if counted else 0.0
    print(f"\nkilled {killed} of {counted} mutants: {100 * rate:.1f}%")
    survivors = [r for r in results if r[2] == "SURVIVED"]
    for index, mutant, _, _ in survivors:
        print(f"  survived {index}: {mutant.path}: {mutant.description}")
    if errors:
        print(f"{len(errors)} mutants could not be judged (see above)", file=sys.stderr)
        return 2
    return 0 if rate >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
