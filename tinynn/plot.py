"""Training plots: loss and metrics per epoch, per-iteration curves, and the
one-neuron article's error history. matplotlib is imported on first use.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["error_curve", "history", "iterations"]

# y-axis labels with units, by history key; other keys are used as they are.
_Y_LABELS = {
    "loss": "loss (value of the training loss)",
    "accuracy": "accuracy (fraction correct)",
    "acc": "accuracy (fraction correct)",
    "binary_accuracy": "binary accuracy (fraction correct)",
    "categorical_accuracy": "accuracy (fraction correct)",
    "sparse_categorical_accuracy": "accuracy (fraction correct)",
    "mae": "mean absolute error (units of y)",
    "mse": "mean squared error (units of y, squared)",
}


def _y_label(name: str) -> str:
    return _Y_LABELS.get(name, name)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "tinynn.plot needs matplotlib, which tinynn depends on but which is "
            "not importable here: pip install matplotlib"
        ) from None
    return plt


def _records(source: Any, attribute: str) -> dict[str, list[float]]:
    records = getattr(source, attribute, source)
    if not isinstance(records, dict):
        raise TypeError(
            f"plot: expected a History (from fit) or its .{attribute} dict; "
            f"got {type(source).__name__}"
        )
    if not records or not any(len(v) for v in records.values()):
        raise ValueError(
            "plot: the history is empty (was fit run for at least one epoch?)"
        )
    return records


def _metric_names(
    records: dict[str, list[float]], metrics: Sequence[str] | None
) -> list[str]:
    available = [k for k in records if not k.startswith("val_")]
    if metrics is None:
        return [k for k in available if k != "loss"]
    names = []
    for name in metrics:
        if name in records:
            names.append(name)
        elif name in ("accuracy", "acc") and ({"accuracy", "acc"} & set(records)):
            names.append("accuracy" if "accuracy" in records else "acc")
        else:
            raise ValueError(
                f"plot: metric {name!r} is not in the history; available: "
                f"{sorted(available)}"
            )
    return names


def history(history: Any, metrics: Sequence[str] | None = None):
    """Loss and each metric per epoch, training and validation, side by side.

    Parameters
    ----------
    history : History or dict
        What ``fit`` returned, or its ``.history``.
    metrics : list of str, optional
        Which metrics to draw besides the loss (default: all). 'accuracy'
        and 'acc' find each other.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    records = _records(history, "history")
    names = (["loss"] if "loss" in records else []) + _metric_names(records, metrics)
    figure, axes = plt.subplots(
        1, len(names), figsize=(5 * len(names), 4), squeeze=False
    )
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(records[name]) + 1)
        ax.plot(epochs, records[name], marker="o", label=f"train {name}")
        if f"val_{name}" in records:
            ax.plot(
                range(1, len(records[f"val_{name}"]) + 1),
                records[f"val_{name}"],
                marker="o",
                label=f"validation {name}",
            )
        ax.set_title(f"{name} per epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(_y_label(name))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs
        ax.grid(True, alpha=0.3)
        values = list(records[name]) + list(records.get(f"val_{name}", []))
        ax.legend(loc=_readable_limits(ax, values, name, len(records[name])))
    figure.tight_layout()
    return figure


#: History keys whose values are fractions in [0, 1]: no tick above 1.
_FRACTIONS = ("accuracy", "acc", "precision", "recall", "auc")


def _readable_limits(ax, values: list[float], name: str, epochs: int) -> str:
    """Axis limits a reader can use when there is little to show: one epoch
    (matplotlib would pad a lone point by 5% either way, ticks such as
    0.945..1.050 for an accuracy of 1.0) or a flat curve. The points sit in
    the middle band, clear of the legend in a corner, and a fraction's axis
    stops at 1. Returns where the legend goes (a corner clear of the
    points when there is one epoch, else matplotlib's "best")."""
    import math

    finite = [float(v) for v in values if math.isfinite(float(v))]
    if epochs == 1:
        ax.set_xlim(0.5, 1.5)
        ax.set_xticks([1])
    if not finite:
        return "best"
    low, high = min(finite), max(finite)
    if epochs > 1 and high - low > 1e-9 * max(1.0, abs(high)):
        return "best"
    pad = max(high - low, 0.05 * max(abs(high), 1e-3))
    bottom, top = low - pad, high + pad
    fraction = any(key in name for key in _FRACTIONS) or "accuracy" in name
    if fraction and 0.0 <= low and high <= 1.0:
        top = min(top, 1.0 + 0.5 * pad) if high >= 1.0 - 1e-12 else min(top, 1.0)
        bottom = max(bottom, 0.0)
    if name == "loss" or name.endswith("loss"):
        bottom = max(bottom, 0.0) if low >= 0 else bottom
    ax.set_ylim(bottom, top)
    if fraction:
        ticks = [t for t in ax.get_yticks() if bottom <= t <= min(top, 1.0)]
        ax.set_yticks(ticks)
    if epochs > 1:
        return "best"
    middle = (sum(finite) / len(finite) - bottom) / (top - bottom)
    return "lower right" if middle > 0.5 else "upper right"


def iterations(
    history: Any, metrics: Sequence[str] | None = None, smooth: int | None = None
):
    """Per-batch loss and metrics (History.batch_history) against iteration.

    `smooth` averages over a sliding window of that many iterations.
    """
    import numpy as np

    plt = _pyplot()
    records = _records(history, "batch_history")
    names = (["loss"] if "loss" in records else []) + _metric_names(records, metrics)
    figure, axes = plt.subplots(
        1, len(names), figsize=(5 * len(names), 4), squeeze=False
    )
    for ax, name in zip(axes[0], names):
        values = np.asarray(records[name], dtype=float)
        if smooth and smooth > 1 and len(values) >= smooth:
            values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
        window = f", mean of {smooth} iterations" if smooth and smooth > 1 else ""
        ax.set_title(f"{name} per iteration{window}")
        ax.set_xlabel("iteration (one batch each)")
        ax.set_ylabel(_y_label(name))
        ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def error_curve(
    errors: Sequence[float],
    xlabel: str = "epoch",
    ylabel: str = "mean absolute error",
    title: str = "error per epoch",
):
    """One curve of an error per epoch (the one-neuron article's plot)."""
    plt = _pyplot()
    values = list(errors)
    if not values:
        raise ValueError("error_curve: errors is empty")
    figure, ax = plt.subplots(figsize=(8, 4))
    ax.plot(range(len(values)), values)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure
