"""What Keras reads and writes around the weights: the model config
(``to_json``, the ``model_config`` of ``.h5``, ``config.json`` of
``.keras``), the training/compile config, and the order in which Keras lists
an optimizer's per-weight state.

Each layer's entry is its class's ``get_config()`` (found by name through
tinynn.registry on the way back, see ``common.model_from_config``); this
module only adds what Keras puts around it: the explicit InputLayer and, for
Keras 3, the ``module``/``registered_name`` keys and ``build_config``. A
layer class added to tinynn.layers with
Keras's argument names is therefore saved and loaded in every format
without a change here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from .. import losses, metrics as metrics_module, optimizers, registry
from .common import (
    _restore_optimizer,
    _whole,
    compile_is_saved,
    compile_settings,
    damaged,
    metric_entry,
    per_output,
)

#: The Keras versions tinynn's files claim to follow (the layouts were
#: checked against tf-keras 2.21.0 and Keras 3.15.1).
KERAS2_VERSION = "2.15.0"
KERAS3_VERSION = "3.15.1"

# Per optimizer class: Keras's per-weight state variables in the order Keras
# lists them, as groups; within a group Keras interleaves the slots weight by
# weight (Adam: m, v of the kernel, m, v of the bias, ...; then every vhat).
# Each slot is (tinynn state name, Keras 2 name). An optimizer class not
# listed is written slot by slot in the order of its state names.
_KERAS_SLOTS = {
    "Adam": ((("m", "m"), ("v", "v")), (("vhat", "vhat"),)),
    "SGD": ((("velocity", "m"),),),
    "RMSprop": ((("rms", "velocity"),), (("velocity", "momentum"),)),
    "Adagrad": ((("accumulator", "accumulator"),),),
}

# Keras's bookkeeping arguments of optimizers that change nothing when off.
_OPTIMIZER_OFF = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema")


def keras_snake_case(class_name: str) -> str:
    """Keras 3's object-path name of a class (``Dense`` -> ``dense``,
    ``ReLU`` -> ``re_lu``, ``BatchNormalization`` -> ``batch_normalization``)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def keras3_layer_paths(model) -> list[str]:
    """``layers/<name>`` of each layer in a Keras 3 weights file: named by
    class, numbered in order (``dense``, ``dense_1``), never by layer name."""
    used: dict[str, int] = {}
    paths = []
    for layer in model.layers:
        name = keras_snake_case(type(layer).__name__)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        paths.append(f"layers/{name}")
    return paths


def keras3_weight_groups(model, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, layer) of every layer whose ``<path>/vars`` group a Keras 3
    weights file holds, nested models' layers under theirs
    (``layers/functional/layers/dense``); a nested model is listed too,
    before its layers (its own ``vars`` group is empty)."""
    result = []
    for path, layer in zip(keras3_layer_paths(model), model.layers):
        result.append((prefix + path, layer))
        if hasattr(layer, "_nodes"):
            result += keras3_weight_groups(layer, f"{prefix}{path}/")
    return result


def is_model(layer: Any) -> bool:
    """Whether `layer` is a nested model (it has its own graph)."""
    return hasattr(layer, "_nodes") and hasattr(layer, "outputs")


def h5_weight_names(layer: Any) -> list[str]:
    """Keras 2's ``weight_names`` of a layer's group: ``dense/kernel:0``...;
    a nested model's group lists its layers' weights (``dense/kernel:0`` of
    each, in weight order)."""
    if is_model(layer):
        return [
            f"{sub.name}/{n}:0"
            for sub in layer._weight_layers
            for n in sub._param_names
        ]
    return [f"{layer.name}/{n}:0" for n in layer._param_names]


# ---- writing ---------------------------------------------------------------------
def _wrap3(value: Any, module: str) -> Any:
    if isinstance(value, dict) and "class_name" in value:
        return {
            "module": module,
            "class_name": value["class_name"],
            "config": value.get("config", {}),
            "registered_name": None,
        }
    return value


def model_config(model, modules: bool = False, nested: bool = False) -> dict[str, Any]:
    """`model`'s config as tf.keras 2.x writes it (see _sequential_config
    and _functional_config); with `modules`, in the form both Keras 2.x and
    Keras 3 read."""
    if type(model).__name__ == "Sequential":
        return _sequential_config(model, modules)
    return _functional_config(model, modules, nested)


def _wrap_layer_config(config: dict[str, Any]) -> None:
    """Keras 3's ``module`` keys on a layer config's nested objects, in place."""
    for key, value in config.items():
        if key.endswith("_initializer"):
            config[key] = _wrap3(value, "keras.initializers")
        elif key.endswith("_regularizer") and value is not None:
            config[key] = _wrap3(value, "keras.regularizers")
        elif key.endswith("_constraint") and value is not None:
            config[key] = _wrap3(value, "keras.constraints")


def _functional_config(model, modules: bool, nested: bool = False) -> dict[str, Any]:
    """A functional model as Keras 2.x writes it: each layer's entry with
    ``name`` and ``inbound_nodes`` (``[[["dense", 0, 0, {}]]]``), InputLayers
    with ``batch_input_shape``, ``input_layers``/``output_layers`` as
    [name, node, tensor] triples. Keras 3 reads this form too (its legacy
    node format); with `modules` the layers also carry Keras 3's ``module``
    keys and ``build_config``."""
    own = model.get_config()
    if modules:
        _keras3_node_numbers(
            own, {layer.name for layer in model.layers if is_model(layer)}
        )
    entries = []
    for entry, layer in zip(own["layers"], model.layers):
        if hasattr(layer, "_nodes"):  # a nested model: its own model config
            item = model_config(layer, modules, nested=True)
            item.update(name=entry["name"], inbound_nodes=entry["inbound_nodes"])
            entries.append(item)
            continue
        config = dict(entry["config"])
        if entry["class_name"] == "InputLayer":
            config = {
                "batch_input_shape": [None, *layer._declared_input_shape],
                "dtype": config.get("dtype", model.dtype.name),
                "sparse": False,
                "ragged": False,
                "name": layer.name,
            }
        else:
            config.pop("batch_input_shape", None)
        item = {"class_name": entry["class_name"], "config": config}
        if modules:
            _wrap_layer_config(config)
            item.update(module="keras.layers", registered_name=None)
            if entry["class_name"] != "InputLayer":
                shape = layer.input_shape
                item["build_config"] = {"input_shape": _json_shape(shape)}
        item.update(name=entry["name"], inbound_nodes=entry["inbound_nodes"])
        entries.append(item)
    config = {
        "class_name": "Functional",
        "config": {
            "name": own["name"],
            "trainable": model.trainable,
            "layers": entries,
            "input_layers": _single(own["input_layers"], modules and nested),
            "output_layers": _single(own["output_layers"], modules and nested),
        },
    }
    if modules:
        config = {
            "module": "keras.src.models.functional",
            **config,
            "registered_name": "Functional",
        }
    return config


def _single(triples: list, bare: bool) -> Any:
    """A one-tensor structure as Keras 3 writes it (a bare triple) where
    `bare`: Keras 3 reads a list of one as a list, so a nested model would
    hand a list to the next layer."""
    return triples[0] if bare and len(triples) == 1 else triples


def _keras3_node_numbers(config: dict[str, Any], nested: set[str]) -> None:
    """Keras 2 numbers a nested model's calls from 1 (its node 0 is its own
    graph), Keras 3 from 0: renumber the references to `nested` models in
    place for the config Keras 3 reads."""
    if not nested:
        return

    def fix(triple: list) -> None:
        if triple and triple[0] in nested:
            triple[1] -= 1

    for entry in config["layers"]:
        for node in entry["inbound_nodes"]:
            for item in node:
                fix(item)
    for triple in config["output_layers"]:
        fix(triple)


def _json_shape(shape: Any) -> Any:
    """A shape or a list of shapes as JSON lists."""
    if shape and isinstance(shape[0], (list, tuple)):
        return [list(s) for s in shape]
    return list(shape)


def _sequential_config(model, modules: bool) -> dict[str, Any]:
    """`model`'s config as tf.keras 2.x writes it: an explicit InputLayer
    with ``batch_input_shape``, then each layer's own ``get_config()``.

    With `modules`, every layer and initializer also carries Keras 3's
    ``module``/``registered_name`` keys, and each layer its
    ``build_config``: Keras 3 and tf-keras 2.x both read that form (as
    ``to_json`` and in ``.keras``), while each rejects the other's own (Keras
    3 writes ``batch_shape`` and DTypePolicy objects, which tf-keras does not
    know; without ``module`` Keras 3 cannot find the classes). ``.h5`` files
    get the plain form, as Keras 2.x writes them there.
    """
    own = model.get_config()
    shape = [None, *model._input_features]
    input_name = (
        model._input_layer.name if model._input_layer is not None else "input_layer"
    )
    entries = [
        {
            "class_name": "InputLayer",
            "config": {
                "batch_input_shape": shape,
                "dtype": "string"
                if model.layers and getattr(model.layers[0], "_string_input", False)
                else model.dtype.name,
                "sparse": False,
                "ragged": False,
                "name": input_name,
            },
        }
    ]
    for entry, layer in zip(own["layers"], model.layers):
        if hasattr(layer, "_nodes"):  # a nested model: its own model config
            entries.append(model_config(layer, modules, nested=True))
            continue
        config = dict(entry["config"])
        config.pop("batch_input_shape", None)  # the InputLayer has it
        item = {"class_name": entry["class_name"], "config": config}
        if modules:
            _wrap_layer_config(config)
            item["build_config"] = {"input_shape": list(layer.input_shape)}
        entries.append(item)
    config = {
        "class_name": "Sequential",
        "config": {"name": own["name"], "layers": entries},
    }
    if not model.trainable:  # as Keras 3 writes a frozen model (Keras 2 does not)
        config["config"]["trainable"] = False
    if not modules:
        return config
    for item in entries:
        if "module" not in item:  # nested models have theirs
            item.update(module="keras.layers", registered_name=None)
    config["config"]["build_input_shape"] = shape
    return {
        "module": "keras",
        **config,
        "registered_name": None,
        "build_config": {"input_shape": shape},
    }


def _loss_entry(loss) -> Any:
    """A loss by Keras's function name when it has its defaults (what Keras
    writes for ``loss="mse"``...), else its class config."""
    if loss.get_config() == type(loss)().get_config():
        return loss.name
    return losses.serialize(loss)


def _keras2_metric_lists(model, attr: str) -> list[Any] | None:
    """A model's ``metrics`` (attr "metrics") or ``weighted_metrics``
    ("weighted") as tf.keras 2.x writes them: one list per output (``[None]``
    for an output without), each metric as the object Keras 2 compiled,
    named as Keras 2 reports it (``p_accuracy`` with several outputs,
    ``weighted_accuracy`` for a weighted metric whose name a plain one of
    the output has): a name becomes a MeanMetricWrapper of Keras's function
    (tf.keras 2.x reloads a model's metrics under the names in its file)."""
    trainer = model._trainer
    lists, any_entry = [], False
    for k, spec in enumerate(trainer._specs):
        plain = [_metric_name(e) for e in spec.metrics]
        entries = []
        for i, entry in enumerate(getattr(spec, attr)):
            any_entry = True
            name = _metric_name(entry)
            if attr == "weighted" and name in plain:
                name = f"weighted_{name}"
            saved = metric_entry(entry)
            if isinstance(saved, str):
                resolved = _resolved(trainer, k, attr, i, entry)
                fn = keras_snake_case(type(resolved).__name__)
                if saved.lower() not in ("accuracy", "acc", "crossentropy", "ce"):
                    fn = saved
                saved = {
                    "class_name": "MeanMetricWrapper",
                    "config": {"name": saved, "dtype": "float32", "fn": fn},
                }
            prefix = f"{spec.name}_" if len(trainer._specs) > 1 else ""
            config = {**saved["config"], "name": prefix + name}
            entries.append({**saved, "config": config})
        lists.append(entries or [None])
    return lists if any_entry else None


def _metric_name(entry: Any) -> str:
    return entry if isinstance(entry, str) else entry.name


def _resolved(trainer, k: int, attr: str, i: int, entry: Any):
    """The metric object entry `i` of output `k`'s `attr` list became in fit
    or evaluate (whose targets decide sparse or not), else the one the
    output's loss and width give."""
    spec = trainer._specs[k]
    if trainer._metrics is not None:
        position = sum(len(s.metrics) + len(s.weighted) for s in trainer._specs[:k])
        position += i if attr == "metrics" else len(spec.metrics) + i
        metric = trainer._metrics[position]
        return getattr(metric, "metric", metric)  # a WeightedMetric's own
    sparse = isinstance(spec.loss, losses.SparseCategoricalCrossentropy)
    width = int(trainer.model.outputs[k].shape[-1])
    return metrics_module.get(entry, sparse, width, "save")


def training_config(model) -> dict[str, Any] | None:
    """Keras 2.x's ``training_config`` of an ``.h5`` file, or None uncompiled:
    loss and loss_weights in the structure compile got, metrics as one list
    per output (a flat list with one output)."""
    if not compile_is_saved(model):
        return None
    optimizer = optimizers.serialize(model.optimizer)
    # As tf.keras 2.11+ writes its optimizers; Keras 3 reads this spelling too.
    optimizer = {
        "class_name": "Custom>" + optimizer["class_name"],
        "config": {**optimizer["config"], "is_legacy_optimizer": False},
    }
    settings = compile_settings(model, _loss_entry)
    if len(model._trainer._specs) > 1:
        settings["metrics"] = _keras2_metric_lists(model, "metrics")
    # (one output: names work, as Keras 2 names them when it compiles; a
    # loaded model keeps the names in its file, so weighted ones need theirs)
    settings["weighted_metrics"] = _keras2_metric_lists(model, "weighted")
    return {
        "loss": settings["loss"],
        "metrics": settings["metrics"],
        "weighted_metrics": settings["weighted_metrics"],
        "loss_weights": settings["loss_weights"],
        "optimizer_config": optimizer,
    }


def compile_config(model) -> dict[str, Any]:
    """Keras 3's ``compile_config`` of a ``.keras`` file ({} uncompiled):
    compile's arguments in the structure they were given."""
    if not compile_is_saved(model):
        return {}
    settings = compile_settings(model, _loss_entry)

    def wrap(value: Any, module: str) -> Any:
        return per_output(
            value, lambda entry: _wrap3(entry, module), lambda v: "class_name" in v
        )

    return {
        "optimizer": _wrap3(optimizers.serialize(model.optimizer), "keras.optimizers"),
        "loss": wrap(settings["loss"], "keras.losses"),
        "loss_weights": settings["loss_weights"],
        "metrics": wrap(settings["metrics"], "keras.metrics"),
        "weighted_metrics": wrap(settings["weighted_metrics"], "keras.metrics"),
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


# ---- reading ---------------------------------------------------------------------
def clean_training(
    training: dict[str, Any],
    output_names: list[str] | None = None,
    keras2: bool = True,
) -> dict[str, Any] | None:
    """A Keras ``training_config``/``compile_config`` as tinynn's {loss,
    loss_weights, metrics, weighted_metrics, optimizer_config} (the
    structure of each kept: one entry, a list in output order, a dict by
    output name); None when Keras's optimizer is one tinynn has not (the
    model then loads uncompiled) or is not given.

    `output_names`: the loaded model's outputs. `keras2`: the file was
    written by tf.keras 2.x (or tinynn's .h5), whose metric objects of a
    model with several outputs carry the output's name (``q_auc``), taken
    off here; otherwise (Keras 3) a flat metrics list with one entry per
    output means one metric per output, as Keras 3 reads it."""
    optimizer = training.get("optimizer_config", training.get("optimizer"))
    if isinstance(optimizer, str):  # compile(optimizer="adam")
        try:
            optimizer = optimizers.serialize(optimizers.get(optimizer, "load_model"))
        except ValueError:
            return None
    if not isinstance(optimizer, dict):
        return None
    # tf.keras 2.11+ names its optimizers "Custom>Adam"...
    class_name = str(optimizer.get("class_name", "")).removeprefix("Custom>")
    cls = registry.lookup("optimizer", class_name)
    if cls is None:
        return None
    given = optimizer.get("config") or {}
    config = registry.constructor_arguments(cls, given)
    config.update(
        {
            k: v
            for k, v in given.items()
            if k in _OPTIMIZER_OFF and v not in (None, False, 0)
        }
    )
    config.pop("name", None)
    names = list(output_names or [])
    loss = training.get("loss")
    if loss is None:
        raise ValueError("loss is missing")
    loss = per_output(loss, _clean_loss, _is_loss_object)
    metrics, weighted = training.get("metrics"), training.get("weighted_metrics")
    if keras2:
        metrics, weighted = _drop_keras2_prefixes(metrics, weighted, names or [""])
    metrics = _metric_structure(metrics, names, keras2)
    weighted = _metric_structure(weighted, names, keras2)
    return {
        "loss": loss,
        "loss_weights": _loss_weights(training.get("loss_weights")),
        "metrics": metrics if metrics is not None else [],
        "weighted_metrics": weighted,
        "optimizer_config": {"class_name": cls.__name__, "config": config},
    }


def _is_loss_object(value: Any) -> bool:
    return isinstance(value, dict) and "class_name" in value


def _clean_loss(loss: Any) -> dict[str, Any]:
    """One loss entry (a name or a class config) as tinynn's loss config."""
    if isinstance(loss, dict) and "class_name" in loss:
        loss_cls = registry.lookup("loss", loss["class_name"])
        if loss_cls is None:
            raise ValueError(
                f"loss {loss['class_name']!r} is not supported by tinynn; it has "
                f"{registry.names('loss')}"
            )
        return losses.serialize(
            loss_cls(
                **registry.constructor_arguments(loss_cls, loss.get("config") or {})
            )
        )
    if isinstance(loss, str):
        return losses.serialize(losses.get(loss, "load_model"))
    raise ValueError(f"loss must be a name or a loss config; got {loss!r}")


def _loss_weights(value: Any) -> Any:
    """loss_weights: None, a list of numbers, or a dict of numbers by name."""
    if value is None:
        return None
    items = value.values() if isinstance(value, dict) else value
    if not isinstance(value, (list, dict)) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in items
    ):
        raise ValueError(
            f"loss_weights must be a list or a dict of numbers; got {value!r}"
        )
    return value


def _metric_structure(metrics: Any, names: list[str], keras2: bool) -> Any:
    """compile's metrics (or weighted_metrics) from a file, by output when
    the file has them by output: a dict by output name stays one, one list
    per output stays a list of lists; with one output, a flat list."""
    if metrics is None:
        return None
    count = len(names)
    if count <= 1:
        return _metric_list(metrics)
    if isinstance(metrics, dict) and "class_name" not in metrics:
        return {str(k): _metric_list(v) for k, v in metrics.items()}
    if not isinstance(metrics, list):
        return _metric_list(metrics)
    nested = all(isinstance(item, list) or item is None for item in metrics)
    if len(metrics) == count and (nested or not keras2):
        # Keras 2's and 3's lists per output; Keras 3 also reads a flat list
        # as long as the outputs as one metric per output.
        return [_metric_list(item) for item in metrics]
    return _metric_list(metrics)


def _drop_keras2_prefixes(metrics: Any, weighted: Any, names: list[str]):
    """tf.keras 2.x writes its metric objects (one list per output) named as
    it reports them: ``q_auc``, ``q_weighted_auc`` with several outputs,
    ``weighted_accuracy`` for a weighted metric whose name a plain one has:
    (metrics, weighted) with those named as compile got them (tinynn names
    them so again). Names (strings) are left alone."""
    several = len(names) > 1

    def per_output(value: Any) -> bool:
        return (
            isinstance(value, list)
            and len(value) == len(names)
            and all(isinstance(item, list) for item in value)
        )

    def strip(entry: Any, prefix: str) -> Any:
        name = _entry_name(entry)
        if isinstance(entry, dict) and name.startswith(prefix):
            config = {**(entry.get("config") or {}), "name": name[len(prefix) :]}
            return {**entry, "config": config}
        return entry

    if per_output(metrics):
        metrics = [
            [strip(e, output + "_") if several else e for e in entries]
            for output, entries in zip(names, metrics)
        ]
    if per_output(weighted):
        if per_output(metrics):
            plain = metrics
        elif not several and isinstance(metrics, list):
            plain = [metrics]  # tinynn's flat list of one output's names
        else:
            plain = [[] for _ in names]
        cleaned = []
        for output, entries, others in zip(names, weighted, plain):
            taken = {_entry_name(e) for e in others}
            entries = [strip(e, output + "_") if several else e for e in entries]
            cleaned.append(
                [
                    strip(e, "weighted_")
                    if _entry_name(e).removeprefix("weighted_") in taken
                    else e
                    for e in entries
                ]
            )
        weighted = cleaned
    return metrics, weighted


def _entry_name(entry: Any) -> str:
    """A metric entry's name: a string itself, a config's ``name``."""
    if isinstance(entry, dict):
        return str((entry.get("config") or {}).get("name"))
    return str(entry)


def _metric_list(metrics: Any) -> list[Any]:
    """Keras 2 writes [[{MeanMetricWrapper config named 'accuracy'}]]; Keras 3
    and tinynn plain names, and {class_name, config} for metric objects: one
    of tinynn's metric classes stays a config (its arguments kept), anything
    else becomes its name."""
    names: list[Any] = []
    pending = [metrics] if isinstance(metrics, (str, dict)) else list(metrics or [])
    while pending:
        item = pending.pop(0)
        if isinstance(item, (list, tuple)):
            pending[:0] = list(item)
        elif isinstance(item, dict) and metrics_module.known_class(
            item.get("class_name")
        ):
            names.append(
                {"class_name": item["class_name"], "config": item.get("config") or {}}
            )
        elif isinstance(item, dict):
            names.append(
                str((item.get("config") or {}).get("name", item.get("class_name")))
            )
        elif item is not None:
            names.append(str(item))
    return names


# ---- optimizer state -------------------------------------------------------------
def optimizer_slots(model) -> list[tuple[str, str, str, int, tuple[int, ...]]]:
    """Keras's list of per-weight optimizer state, in Keras's order:
    (tinynn state name, Keras 2 variable name, weight path, offset in the
    flat state, shape) for each entry."""
    optimizer = model.optimizer
    active = list(optimizer._active_state_names())
    groups = _KERAS_SLOTS.get(type(optimizer).__name__)
    if groups is None:
        groups = tuple(((name, name),) for name in active)
    store = model._parameters()  # laid out for the current trainable flags
    weights = [
        (f"{layer.name}/{param_name}", store.offset(layer, index), tuple(param.shape))
        for layer in model._weight_layers  # a nested model's layers, in order
        for index, (param_name, param) in enumerate(
            zip(layer._param_names, layer._params)
        )
        if store.is_trainable(layer, index)
    ]
    prefix = type(optimizer).__name__
    slots = []
    for group in groups:
        group = [slot for slot in group if slot[0] in active]
        for weight, offset, shape in weights:
            for state, keras_name in group:
                slots.append(
                    (state, f"{prefix}/{keras_name}/{weight}:0", weight, offset, shape)
                )
    return slots


def optimizer_arrays(model) -> list[tuple[str, np.ndarray]]:
    """The per-weight state arrays in Keras's order, named as Keras 2 names them."""
    flat = model.optimizer.flat_state()
    arrays = []
    for state, keras_name, _, offset, shape in optimizer_slots(model):
        size = int(np.prod(shape, dtype=np.int64))
        if state in flat:
            value = flat[state][offset : offset + size].reshape(shape)
        else:  # compiled, never trained: Keras's initial state
            value = np.zeros(shape, model.dtype)
            if state == "accumulator":
                value += model.optimizer.initial_accumulator_value
        arrays.append((keras_name, np.array(value)))
    return arrays


def restore_optimizer(
    model,
    iterations: Any,
    datasets: list[Any],
    read,
    path: Path,
    where: str,
    field: str,
) -> None:
    """Install Keras-ordered per-weight state: `datasets` (objects with a
    ``shape``) are checked for count and shapes before `read(dataset,
    shape)` reads each."""
    slots = optimizer_slots(model)
    if len(datasets) != len(slots):
        raise damaged(
            where,
            path,
            field,
            f"holds {len(datasets)} state arrays; {type(model.optimizer).__name__} "
            f"with this configuration keeps {len(slots)} for this model",
        )
    for dataset, (_, keras_name, _, _, shape) in zip(datasets, slots):
        if tuple(dataset.shape) != shape:
            raise damaged(
                where,
                path,
                field,
                f"holds an array of shape {tuple(dataset.shape)} where "
                f"{keras_name} of shape {shape} belongs",
            )
    try:
        steps = _whole(iterations, "optimizer.iterations", 0, 2**62)
    except ValueError as exc:
        raise damaged(where, path, "field", str(exc)) from None
    size = model._trainable_size
    state: dict[str, np.ndarray] = {}
    for dataset, (name, _, _, offset, shape) in zip(datasets, slots):
        flat = state.setdefault(name, np.zeros(size, model.dtype))
        values = np.asarray(read(dataset, shape))
        flat[offset : offset + values.size] = values.reshape(-1)
    _restore_optimizer(model, steps, state, path, where)
