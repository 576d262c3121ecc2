"""compile's per-output arguments: which loss, loss weight and metrics each
output of a model gets, and the names Keras 2 reports them under.

A model with one output takes ``loss`` and ``metrics`` as always. With
several outputs (``model.output_names``):

- ``loss``: one loss for every output, a list in output order, or a dict by
  output name (an output left out has no loss: it is not trained, as in
  Keras);
- ``loss_weights``: a number (every output), a list or a dict; the
  reported ``loss`` is ``sum_k w_k * loss_k`` (plus regularization
  penalties). A one-output model takes them too (``[w]``, ``{name: w}`` or
  ``w``), as Keras 2 does;
- ``metrics``: a dict by output name (a metric or a list), a list of lists
  (one list per output), or a flat list, which Keras 2 applies to every
  output (Keras 3 reads a flat list as one entry per output when its
  length equals the number of outputs; tinynn follows Keras 2).

Names, Keras 2's: ``loss``, then ``<output>_loss`` for each output with a
loss, then ``<output>_<metric>`` output by output; ``val_`` in front for
validation.
"""

from __future__ import annotations

from typing import Any, Callable

from . import losses, metrics as metrics_module
from ._checks import describe

__all__ = ["OutputSpec", "resolve"]


class OutputSpec:
    """What compile gave one output: its loss (or None), its weight, its
    metric entries (names, objects or functions) and weighted-metric entries."""

    def __init__(self, name: str, loss: Any, weight: float, metrics, weighted):
        self.name = name
        self.loss = loss
        self.weight = weight
        self.metrics = list(metrics)
        self.weighted = list(weighted)


def resolve(
    output_names: list[str],
    loss: Any,
    loss_weights: Any,
    metrics: Any,
    weighted_metrics: Any,
    metric_entries: Callable[[Any, str], list[Any]],
) -> list[OutputSpec]:
    """One OutputSpec per output, checked; `metric_entries(value, key)` turns
    a metrics argument into a checked list (training._metric_entries)."""
    count = len(output_names)
    loss_list = _per_output(loss, output_names, "loss", allow_missing=True)
    if count > 1 and all(item is None for item in loss_list):
        raise ValueError("compile: loss must be given for at least one output")
    loss_objects = [None if item is None else losses.get(item) for item in loss_list]
    if count == 1:
        loss_objects = [losses.get(loss)]  # None here means Keras's error
    weights = _loss_weights(loss_weights, output_names)
    metric_lists = _metric_lists(metrics, output_names, "metrics", metric_entries)
    weighted_lists = _metric_lists(
        weighted_metrics, output_names, "weighted_metrics", metric_entries
    )
    specs = [
        OutputSpec(name, loss_object, weight, m, w)
        for name, loss_object, weight, m, w in zip(
            output_names, loss_objects, weights, metric_lists, weighted_lists
        )
    ]
    for spec in specs:
        if spec.loss is None and (spec.metrics or spec.weighted):
            raise ValueError(
                f"compile: output {spec.name!r} has metrics but no loss; tinynn "
                "reads an output's targets only for its loss: give it a loss (a "
                "loss_weights entry of 0 keeps it out of training)"
            )
    return specs


def _per_output(value: Any, names: list[str], key: str, allow_missing: bool):
    """`value` given once, as a list in output order, or a dict by output
    name, as one entry per output (None where a dict leaves one out)."""
    count = len(names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(
                f"compile: {key} has an entry for {unknown[0]!r}, which is not an "
                f"output of the model; its outputs are {names}"
            )
        if not allow_missing and len(value) != count:
            missing = [n for n in names if n not in value]
            raise ValueError(f"compile: {key} has no entry for output {missing[0]!r}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and count > 1:
        if len(value) != count:
            raise ValueError(
                f"compile: {key} must have one entry per output ({count}: {names}); "
                f"got {len(value)}"
            )
        return list(value)
    return [value] * count


def _loss_weights(value: Any, names: list[str]) -> list[float]:
    if value is None:
        return [1.0] * len(names)
    if not isinstance(value, (list, tuple, dict, int, float)) or isinstance(
        value, bool
    ):
        raise TypeError(
            f"compile: loss_weights must be a number, a list or a dict by output "
            f"name; got {describe(value)}"
        )
    if isinstance(value, (list, tuple)) and len(names) == 1 and len(value) == 1:
        value = value[0]  # Keras 2 takes [w] for a one-output model
    if isinstance(value, (list, tuple)) and len(value) != len(names):
        raise ValueError(
            f"compile: loss_weights must have one entry per output ({len(names)}: "
            f"{names}); got {len(value)}"
        )
    entries = _per_output(value, names, "loss_weights", allow_missing=True)
    weights = []
    for name, entry in zip(names, entries):
        entry = 1.0 if entry is None else entry
        if isinstance(entry, bool) or not isinstance(entry, (int, float)):
            raise TypeError(
                f"compile: loss_weights for output {name!r} must be a number; got "
                f"{describe(entry)}"
            )
        weights.append(float(entry))
    return weights


def _metric_lists(value: Any, names: list[str], key: str, entries_of) -> list[list]:
    """Per output, the checked list of metric entries."""
    count = len(names)
    if value is None:
        return [[] for _ in names]
    if isinstance(value, dict):
        per = _per_output(value, names, key, allow_missing=True)
        return [entries_of(item, key) for item in per]
    if (
        count > 1
        and isinstance(value, (list, tuple))
        and value
        and all(isinstance(item, (list, tuple)) or item is None for item in value)
    ):
        if len(value) != count:
            raise ValueError(
                f"compile: a list of metric lists must have one list per output "
                f"({count}: {names}); got {len(value)}"
            )
        return [entries_of(item, key) for item in value]
    flat = entries_of(value, key)
    if count == 1:
        return [flat]
    # Keras 2: a flat list applies to every output, each its own object.
    return [[_copy_entry(entry) for entry in flat] for _ in names]


def _copy_entry(entry: Any) -> Any:
    """A metric entry for one more output: names as they are, a Metric
    object rebuilt from its config (each output keeps its own counts)."""
    if isinstance(entry, metrics_module.Metric) and hasattr(entry, "get_config"):
        try:
            return type(entry).from_config(entry.get_config())
        except (TypeError, ValueError, AttributeError):
            return entry
    return entry


def metric_names(
    specs: list[OutputSpec], entry_name: Callable[[Any], str]
) -> list[str]:
    """['loss', '<out>_loss'..., metric names] as Keras 2 names them (before
    they are made unique)."""
    names = ["loss"]
    single = len(specs) == 1
    if not single:
        names += [f"{spec.name}_loss" for spec in specs if spec.loss is not None]
    for spec in specs:
        prefix = "" if single else f"{spec.name}_"
        plain = [entry_name(entry) for entry in spec.metrics]
        names += [prefix + name for name in plain]
        for entry in spec.weighted:
            name = entry_name(entry)
            name = f"weighted_{name}" if name in plain else name
            names.append(prefix + name)
    return names
