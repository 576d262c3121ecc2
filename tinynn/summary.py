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
    """Print (or hand to `print_fn`, line by line) the table of `model`'s layers.

    A chain (one input, one output, each layer called once on the one
    before) gets the Sequential table; any other graph Keras 2's functional
    table, whose "Connected to" column lists each layer's inputs as
    ``layer[node][tensor]``.
    """
    chain = _chain_like(model)
    if chain:
        width = line_length or 65
        fractions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        width = line_length or 98
        fractions = positions or [0.33, 0.55, 0.67, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    stops = [int(width * p) if p <= 1 else int(p) for p in fractions]
    emit = print_fn or print

    def row(cells: list[str]) -> str:
        line = ""
        for cell, stop in zip(cells, stops):
            line = (line + cell)[:stop].ljust(stop)
        return line

    layers = model.layers
    lines = [f'Model: "{model.name}"', "_" * width, row(header), "=" * width]
    for index, layer in enumerate(layers):
        cells = [
            f"{layer.name} ({type(layer).__name__})",
            _shape_text(layer),
            str(layer.count_params()),
        ]
        if chain:
            lines.append(row(cells))
        else:
            inbound = _connections(model, layer)
            lines.append(row(cells + inbound[:1]))
            lines += [row(["", "", "", more]) for more in inbound[1:]]
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


def _shape_text(layer: Any) -> str:
    def text(shape: Any) -> str:
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"

    if type(layer).__name__ == "InputLayer":  # Keras 2 shows its list of one
        return f"[{text(layer.output_shape)}]"
    return text(layer.output_shape)


def _graph_nodes(model: Any) -> list[Any]:
    """The model's nodes (Sequential and Functional keep them in _nodes)."""
    return list(getattr(model, "_nodes", []))


def _chain_like(model: Any) -> bool:
    """Keras 2's "sequential-like" test: one input, one output, and every
    node reads exactly one tensor that no other node reads, each layer
    called once."""
    if len(getattr(model, "inputs", [])) > 1 or len(getattr(model, "outputs", [])) > 1:
        return False
    nodes = _graph_nodes(model)
    read: set[int] = set()
    layers: set[int] = set()
    for node in nodes:
        if len(node.inputs) != 1 or id(node.inputs[0]) in read:
            return False
        if id(node.layer) in layers:
            return False
        read.add(id(node.inputs[0]))
        layers.add(id(node.layer))
    return True


def _connections(model: Any, layer: Any) -> list[str]:
    """``producer[node][tensor]`` for each input of each of `layer`'s calls
    in the model."""
    own = {id(node) for node in _graph_nodes(model)}
    result = []
    for node in layer._inbound_nodes:
        if id(node) not in own:
            continue
        for tensor in node.inputs:
            producer, node_index, tensor_index = tensor._keras_history
            result.append(f"{producer.name}[{node_index}][{tensor_index}]")
    return result
