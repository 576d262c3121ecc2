"""``model.summary()``: the layer table in tf.keras 2's classic layout.

Width 65, columns ending at 45%, 85% and 100% of it; per-layer counts without
thousands separators, totals with them. A weight counts as trainable when
fit updates it: its layer's ``trainable`` is True and the layer created it
trainable (BatchNormalization's moving statistics are not).
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["count_trainable", "print_summary"]


def count_trainable(layers: list[Any]) -> int:
    """Number of weight values fit updates."""
    return int(sum(w.size for layer in layers for w in layer.trainable_weights))


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: Any = None,
    print_fn: Callable[[str], Any] | None = None,
) -> None:
    """Print (or hand to `print_fn`, line by line) the table of `model`'s layers."""
    width = line_length or 65
    fractions = positions or [0.45, 0.85, 1.0]
    stops = [int(width * p) if p <= 1 else int(p) for p in fractions]
    emit = print_fn or print

    def row(cells: list[str]) -> str:
        line = ""
        for cell, stop in zip(cells, stops):
            line = (line + cell)[:stop].ljust(stop)
        return line

    layers = model.layers
    lines = [
        f'Model: "{model.name}"',
        "_" * width,
        row(["Layer (type)", "Output Shape", "Param #"]),
        "=" * width,
    ]
    for index, layer in enumerate(layers):
        shape = (
            "("
            + ", ".join("None" if d is None else str(d) for d in layer.output_shape)
            + ")"
        )
        lines.append(
            row(
                [
                    f"{layer.name} ({type(layer).__name__})",
                    shape,
                    str(layer.count_params()),
                ]
            )
        )
        lines.append("=" * width if index == len(layers) - 1 else "_" * width)
    total = model.count_params()
    trainable = count_trainable(layers)
    lines += [
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        "_" * width,
    ]
    for line in lines:
        emit(line.rstrip() if print_fn is None else line)
