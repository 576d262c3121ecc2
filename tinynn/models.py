"""Sequential: a stack of layers with Keras's build/compile/fit/evaluate/predict.

Training keeps all memory in place: parameters, gradients and optimizer
moments live in one flat buffer each (layers hold views), activations and
their gradients in per-layer buffers sized for the largest batch. Input is
checked once per call but kept in the user's dtype: each batch is sliced (or
gathered, when shuffled) and converted into a preallocated float buffer, so
memory stays input + model + O(batch) even for uint8 data sets.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import warnings
from typing import Any, Sequence

import numpy as np

from . import _backend, _random, backend, losses, metrics as metrics_module
from . import optimizers, registry, saving
from ._checks import (
    as_numeric_array,
    check_finite,
    check_same_length,
    describe,
    non_negative_int,
    positive_int,
)
from .callbacks import Callback, CallbackList, History, ProgbarLogger
from .layers import InputLayer, Layer, set_weight_values
from .progress import Progbar

# Parameter views start on 16-element boundaries so SIMD loads stay aligned.
_ALIGN = 16


@registry.register("model")
class Sequential:
    """A linear stack of layers (``tf.keras.Sequential``).

    Parameters
    ----------
    layers : list of Layer, optional
        Added in order with `add`.
    name : str, optional
        Defaults to ``sequential``, ``sequential_1``...

    Example
    -------
    >>> model = Sequential([Flatten(input_shape=(28, 28)),
    ...                     Dense(128, activation="relu"), Dense(10, activation="softmax")])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    """

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None):
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(
                f"Sequential: name must be a non-empty string; got {name!r}"
            )
        self.name = name or backend.unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_features: tuple[int, ...] | None = None
        self._input_layer: InputLayer | None = None
        self.built = False
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.compiled_metrics: list[Any] = []
        self._metrics: list[metrics_module.Metric] | None = None
        self._compiled = False
        self.stop_training = False
        self.history: History | None = None
        self._buffers: dict[str, list[np.ndarray | None]] = {}
        self._buffer_rows = 0
        self._bound: list[tuple[Layer, list[np.ndarray]]] = []
        # Thread safety: every batch (a training step, or a forward pass of
        # predict/evaluate) runs holding _batch_lock, because it uses the
        # model's scratch buffers and the layers' saved activations, and an
        # optimizer step rewrites the weights in place. So concurrent
        # predict/evaluate calls are correct and each batch sees the weights
        # between two training steps. Two fits at once would interleave
        # their steps: _trainer records the thread that is training.
        self._batch_lock = threading.RLock()
        self._trainer: int | None = None
        self._trainer_depth = 0
        if layers is not None:
            if isinstance(layers, Layer) or not hasattr(layers, "__iter__"):
                raise TypeError(
                    f"Sequential: layers must be a list of layers; got "
                    f"{describe(layers)}"
                )
            for layer in layers:
                self.add(layer)

    # ---- structure ---------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers, in order (an InputLayer is not listed, as in Keras)."""
        return list(self._layers)

    def add(self, layer: Layer) -> None:
        """Append a layer; builds the model at once if the input shape is known."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add: layer must be a tinynn layer; got {describe(layer)}"
            )
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError(
                    "Sequential.add: an InputLayer must be the first layer"
                )
            self._input_layer = layer
            self._input_features = layer._declared_input_shape
            return
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(
                f"Sequential.add: all layers must have unique names; {layer.name!r} is "
                f"already in model {self.name!r}"
            )
        if not self._layers and self._input_features is None:
            self._input_features = layer._declared_input_shape
        self._layers.append(layer)
        if self._input_features is not None:
            self._build_layers(self._input_features)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._layers:
            raise TypeError("Sequential.pop: there are no layers in the model")
        layer = self._layers.pop()
        if self.built and self._layers:
            self._consolidate()
        return layer

    def build(self, input_shape: Any = None) -> None:
        """Create all weights for inputs of `input_shape` (batch axis first, e.g.
        ``(None, 784)``)."""
        if input_shape is None:
            if self._input_features is None:
                raise ValueError(
                    "Sequential.build: input_shape must be given, e.g. "
                    "model.build((None, 784))"
                )
            features = self._input_features
        else:
            shape = tuple(input_shape)
            if len(shape) < 2:
                raise ValueError(
                    f"Sequential.build: input_shape must include the batch "
                    f"axis, e.g. (None, 784); got {input_shape!r}"
                )
            features = tuple(int(d) for d in shape[1:])
        self._build_layers(features)

    def _build_layers(self, features: tuple[int, ...]) -> None:
        if not self._layers:
            self._input_features = features
            return
        dtypes = {layer.dtype for layer in self._layers}
        if len(dtypes) > 1:
            raise ValueError(
                f"Sequential: all layers must share one dtype; got "
                f"{sorted(dtypes)} (use tinynn.backend.set_floatx)"
            )
        shape: tuple = (None, *features)
        for layer in self._layers:
            if not layer.built:
                layer.build(shape)
            elif tuple(layer.input_shape) != tuple(shape):
                raise ValueError(
                    f'Input 0 of layer "{layer.name}" is incompatible with the layer: '
                    f"expected shape {layer.input_shape}, but received input with shape "
                    f"{shape}"
                )
            shape = layer.output_shape
        self._input_features = tuple(features)
        self._consolidate()
        self.built = True

    def _consolidate(self) -> None:
        """Move every weight into one flat buffer (trainable weights first) and
        give the layers views of it; gradients likewise."""
        order = [layer for layer in self._layers if layer.trainable] + [
            layer for layer in self._layers if not layer.trainable
        ]
        offsets, total = [], 0
        for layer in order:
            for param in layer._params:
                offsets.append(total)
                total += -(-param.size // _ALIGN) * _ALIGN
        trainable_total = 0
        for layer in order:
            if layer.trainable:
                trainable_total += sum(
                    -(-p.size // _ALIGN) * _ALIGN for p in layer._params
                )
        dtype = self.dtype
        flat_params = _backend.aligned_empty(max(total, 1), dtype)
        flat_params.fill(0)
        flat_grads = np.zeros_like(flat_params)
        position = 0
        for layer in order:
            views, grad_views = [], []
            for param in layer._params:
                start = offsets[position]
                views.append(
                    flat_params[start : start + param.size].reshape(param.shape)
                )
                grad_views.append(
                    flat_grads[start : start + param.size].reshape(param.shape)
                )
                position += 1
            layer._bind(views, grad_views)
        self._flat_params, self._flat_grads = flat_params, flat_grads
        self._trainable_size = trainable_total
        self._bound = [(layer, list(layer._params)) for layer in self._layers]
        with self._batch_lock:  # the layer structure changed: new shapes
            self._buffers, self._buffer_rows = {}, 0
        if self.optimizer is not None:
            self.optimizer.reset_state()

    @property
    def dtype(self) -> np.dtype:
        """The model's float dtype (its layers')."""
        return self._layers[0]._dtype if self._layers else np.dtype(backend.floatx())

    @property
    def input_shape(self) -> tuple:
        """(None, *features) once known."""
        if self._input_features is None:
            raise AttributeError(
                "Sequential.input_shape: the model has no input shape yet"
            )
        return (None, *self._input_features)

    @property
    def output_shape(self) -> tuple:
        """The last layer's output shape (batch axis None)."""
        self._require_built("output_shape")
        return self._layers[-1].output_shape

    def _require_built(self, where: str) -> None:
        if not self.built:
            raise ValueError(
                f"{where}: This model has not yet been built. Build the model first by "
                "calling `build()` or by calling the model on a batch of data."
            )

    # ---- weights -----------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """Every layer's live weights, in layer order (kernel, bias, ...)."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weights fit updates."""
        return [w for layer in self._layers for w in layer.trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in layer order: [W0, b0, W1, b1, ...]."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy a list shaped like ``get_weights()`` into the model."""
        with self._batch_lock:  # not while another thread runs a batch
            set_weight_values(self.name, self.weights, weights)

    def count_params(self) -> int:
        """Total number of weight values."""
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self._layers)

    # ---- compile -----------------------------------------------------------
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        loss_weights: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: Any = None,
        steps_per_execution: Any = None,
        jit_compile: Any = None,
        **kwargs: Any,
    ) -> None:
        """Choose optimizer, loss and metrics (tf.keras 2 argument order).

        Parameters
        ----------
        optimizer : str or Optimizer
            'rmsprop' (default), 'adam', 'sgd', or an optimizer object.
        loss : str or Loss
            e.g. 'sparse_categorical_crossentropy', 'mse', or a loss object.
        metrics : list, optional
            e.g. ['accuracy'] (the string is the key in History).

        Compiling again starts a fresh optimizer state; weights are kept.
        """
        for key, value in (
            ("loss_weights", loss_weights),
            ("weighted_metrics", weighted_metrics),
            ("steps_per_execution", steps_per_execution),
        ):
            if value is not None:
                raise ValueError(
                    f"compile: {key} is not supported by tinynn; got {value!r}"
                )
        if kwargs:
            raise TypeError(
                f"compile: unexpected keyword argument {next(iter(kwargs))!r}"
            )
        optimizer_object = optimizers.get(optimizer)
        if optimizer_object is self.optimizer:
            optimizer_object.iterations = 0
            optimizer_object.reset_state()
        loss_object = losses.get(loss)
        if metrics is None:
            metric_list: list[Any] = []
        elif isinstance(metrics, (str, metrics_module.Metric)):
            metric_list = [metrics]
        elif isinstance(metrics, (list, tuple)):
            metric_list = list(metrics)
        else:
            raise TypeError(
                f"compile: metrics must be a list such as ['accuracy']; got "
                f"{describe(metrics)}"
            )
        for entry in metric_list:
            if not isinstance(entry, (str, metrics_module.Metric)):
                raise TypeError(
                    f"compile: metrics entries must be names or Metric "
                    f"objects; got {describe(entry)}"
                )
        self.optimizer, self.loss = optimizer_object, loss_object
        self.compiled_metrics = metric_list
        self._metrics = None
        self._compiled = True
        if self.built:
            self._consolidate()

    @property
    def metrics_names(self) -> list[str]:
        """['loss', then each compiled metric's name]."""
        names = ["loss"]
        for entry in self.compiled_metrics:
            names.append(entry if isinstance(entry, str) else entry.name)
        return names

    def _require_compiled(self, where: str) -> None:
        if not self._compiled:
            raise RuntimeError(
                f"{where}: You must compile your model before training/testing. Use "
                "`model.compile(optimizer, loss)`."
            )

    def _output_mode(self) -> str:
        """'fused' (softmax/sigmoid folded into the loss kernel), 'logits' or 'probs'."""
        activation = self._layers[-1].output_activation
        fusable = self.loss.fusable_activation
        if fusable and activation == fusable:
            if self.loss.from_logits:
                warnings.warn(
                    f"`{self.loss.name}` received `from_logits=True`, but the model's "
                    f"output is produced by a {fusable} activation and thus does not "
                    "represent logits. Was this intended? tinynn uses the logits before "
                    f"the {fusable}, as tf.keras does.",
                    stacklevel=4,
                )
            return "fused"
        return "logits" if self.loss.from_logits else "probs"

    def _resolve_metrics(self, targets: np.ndarray) -> list[metrics_module.Metric]:
        if self._metrics is None:
            sparse = isinstance(self.loss, losses.SparseCategoricalCrossentropy) or (
                targets.ndim == 1
            )
            width = int(self.output_shape[-1])
            self._metrics = [
                metrics_module.get(m, sparse, width, "compile")
                for m in self.compiled_metrics
            ]
        return self._metrics

    # ---- data --------------------------------------------------------------
    def _prepare_x(self, x: Any, where: str) -> np.ndarray:
        """`x` checked but not converted (see _Batches): the user's array."""
        array = as_numeric_array(x, where, "x")
        if (
            array.ndim == 1
            and self._input_features is not None
            and (len(self._input_features) == 1 and self._input_features[0] == 1)
        ):
            array = array.reshape(-1, 1)
        if array.ndim < 2:
            raise ValueError(
                f"{where}: x must have shape (samples, features...); got shape "
                f"{array.shape} (a single sample needs a batch axis: x[None])"
            )
        if len(array) == 0:
            raise ValueError(f"{where}: x is empty; expected at least one sample")
        check_finite(array, where, "x", self.dtype)
        if not self.built:
            self._build_layers(tuple(array.shape[1:]))
        elif tuple(array.shape[1:]) != tuple(self._input_features):
            raise ValueError(
                f"{where}: x has shape {array.shape} but the model expects inputs of "
                f"shape (None, {', '.join(map(str, self._input_features))}) "
                f"(layer {self._layers[0].name!r})"
            )
        return array

    def _prepare_xy(self, x: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(f"{where}: y must be given (targets for x)")
        xs = self._prepare_x(x, where)
        targets = self.loss.prepare_targets(y, self.output_shape, self.dtype, where)
        check_same_length(where, x=xs, y=targets)
        check_finite(targets, where, "y")
        return xs, targets

    def _bind_shared_layers(self) -> None:
        """Point every layer back at this model's parameter buffer.

        A layer object in two models (shared weights, as in Keras) holds
        views of the buffer of whichever model bound it last; training this
        model through its own buffer would then leave that layer untouched.
        Rebinding copies the layer's current values into this model's buffer
        (so both models keep seeing the same weights) and starts the
        optimizer's state afresh for the new layout."""
        stale = any(
            len(layer._params) != len(views)
            or any(p is not v for p, v in zip(layer._params, views))
            for layer, views in self._bound
        )
        if stale:
            self._consolidate()

    @contextlib.contextmanager
    def _training(self, where: str):
        """Mark this thread as the one training the model (nesting allowed)."""
        me = threading.get_ident()
        with self._batch_lock:
            self._bind_shared_layers()
            if self._trainer not in (None, me):
                raise RuntimeError(
                    f"{where}: model {self.name!r} is being trained by another "
                    "thread; train a model from one thread at a time (predict "
                    "and evaluate may run alongside)"
                )
            self._trainer = me
            self._trainer_depth += 1
        try:
            yield
        finally:
            with self._batch_lock:
                self._trainer_depth -= 1
                if self._trainer_depth == 0:
                    self._trainer = None

    def _as_batch(self, xs: np.ndarray) -> np.ndarray:
        """A whole (single-batch) input in the model's dtype, C-contiguous."""
        return np.ascontiguousarray(xs, dtype=self.dtype)

    def _ensure_buffers(self, rows: int) -> None:
        """Activation and gradient buffers for batches of up to `rows` samples."""
        with self._batch_lock:
            if rows > self._buffer_rows or not self._buffers:
                self._allocate_buffers(rows)

    def _allocate_buffers(self, rows: int) -> None:
        outs, grads = [], []
        # A layer's input gradient is needed only when some layer before it
        # has weights: backpropagation stops at the first layer that gets no
        # dx buffer (with Flatten first, the first Dense computes no dx).
        weights_before = False
        for layer in self._layers:
            out_shape = (rows, *layer.output_shape[1:])
            outs.append(np.empty(out_shape, self.dtype) if layer._buffered else None)
            in_shape = (rows, *layer.input_shape[1:])
            grads.append(np.empty(in_shape, self.dtype) if weights_before else None)
            weights_before = weights_before or bool(layer.weights)
        self._buffers = {
            "out": outs,
            "dx": grads,
            "dout": [np.empty((rows, *self.output_shape[1:]), self.dtype)],
        }
        self._buffer_rows = rows

    # ---- passes --------------------------------------------------------------
    def _forward(self, x: np.ndarray, training: bool, fuse: bool) -> np.ndarray:
        n = len(x)
        last = len(self._layers) - 1
        for index, layer in enumerate(self._layers):
            buffer = self._buffers["out"][index]
            out = None if buffer is None else buffer[:n]
            if index == last and fuse:
                x = layer._forward(x, training, out, activation="linear")
            else:
                x = layer._forward(x, training, out)
        return x

    def _backward(self, dout: np.ndarray) -> None:
        n = len(dout)
        dy = dout
        for index in range(len(self._layers) - 1, -1, -1):
            buffer = self._buffers["dx"][index]
            dx = None if buffer is None else buffer[:n]
            self._layers[index]._backward(dy, dx)
            if dx is None:  # no layer below has weights
                return
            dy = dx

    def _train_batch(self, xb: np.ndarray, yb: np.ndarray, mode: str) -> list[float]:
        """One optimizer step; returns [loss, metric values] of this batch."""
        with self._batch_lock:
            self._ensure_buffers(len(xb))
            return self._train_batch_locked(xb, yb, mode)

    def _train_batch_locked(
        self, xb: np.ndarray, yb: np.ndarray, mode: str
    ) -> list[float]:
        outputs = self._forward(xb, True, mode == "fused")
        dout = self._buffers["dout"][0][: len(xb)]
        loss, correct = self.loss.compute(outputs, yb, dout, logits=mode != "probs")
        self._backward(dout)
        if self._trainable_size:
            self.optimizer.update_flat(
                self._flat_params[: self._trainable_size],
                self._flat_grads[: self._trainable_size],
            )
        return [loss] + [
            m.batch_value(yb, outputs, mode != "probs", correct) for m in self._metrics
        ]

    def _test_batch(self, xb: np.ndarray, yb: np.ndarray, mode: str) -> list[float]:
        with self._batch_lock:
            self._ensure_buffers(len(xb))
            outputs = self._forward(xb, False, mode == "fused")
            loss, correct = self.loss.compute(outputs, yb, None, logits=mode != "probs")
            return [loss] + [
                m.batch_value(yb, outputs, mode != "probs", correct)
                for m in self._metrics
            ]

    def _predict_batch(self, xb: np.ndarray, out: np.ndarray, training: bool) -> None:
        """Outputs for one batch, copied into `out` before the buffers are
        released to another thread."""
        with self._batch_lock:
            self._ensure_buffers(len(xb))
            out[...] = self._forward(xb, training, False)

    # ---- fit -----------------------------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: Any = True,
        class_weight: Any = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: Any = None,
        validation_steps: Any = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
        **kwargs: Any,
    ) -> History:
        """Train for `epochs` epochs; returns a History (also ``model.history``).

        Each epoch reshuffles the training samples (``shuffle=True``), steps
        through ceil(n / batch_size) batches (the last may be short), and
        reports the batch-size-weighted means of each batch's loss and metrics
        taken before its update, as Keras does. ``validation_split=f`` holds
        out the LAST fraction f of the samples, before shuffling.

        Raises
        ------
        RuntimeError
            If the model was not compiled.
        ValueError, TypeError
            For malformed data or arguments (the message names which).
        """
        where = "fit"
        self._require_compiled(where)
        for key, value in (
            ("class_weight", class_weight),
            ("sample_weight", sample_weight),
            ("steps_per_epoch", steps_per_epoch),
            ("validation_steps", validation_steps),
        ):
            if value is not None:
                raise ValueError(
                    f"fit: {key} is not supported by tinynn; got {describe(value)}"
                )
        for key in kwargs:
            if key not in ("max_queue_size", "workers", "use_multiprocessing"):
                raise TypeError(f"fit: unexpected keyword argument {key!r}")
        batch_size = (
            32 if batch_size is None else positive_int(batch_size, where, "batch_size")
        )
        epochs = non_negative_int(epochs, where, "epochs")
        initial_epoch = non_negative_int(initial_epoch, where, "initial_epoch")
        verbose = _verbosity(verbose, where)
        if not isinstance(shuffle, (bool, np.bool_)) and shuffle != "batch":
            raise TypeError(f"fit: shuffle must be True or False; got {shuffle!r}")
        validation_freq = positive_int(validation_freq, where, "validation_freq")
        val_batch = (
            batch_size
            if validation_batch_size is None
            else positive_int(validation_batch_size, where, "validation_batch_size")
        )
        user_callbacks = _callback_list(callbacks, where)

        xs, targets = self._prepare_xy(x, y, where)
        val = None
        if validation_data is not None:
            val = self._validation_tuple(validation_data)
        elif validation_split:
            xs, targets, val = _split_tail(xs, targets, validation_split)
        metrics = self._resolve_metrics(targets)
        mode = self._output_mode()
        n = len(xs)
        steps = math.ceil(n / batch_size)
        self._ensure_buffers(
            max(min(batch_size, n), min(val_batch, len(val[0])) if val else 0)
        )
        batches = _Batches(xs, self.dtype, min(batch_size, n))
        y_batch = np.empty((min(batch_size, n), *targets.shape[1:]), targets.dtype)

        history = History()
        callback_list = CallbackList(
            ([ProgbarLogger(verbose)] if verbose else []) + user_callbacks + [history],
            model=self,
            params={"verbose": verbose, "epochs": epochs, "steps": steps},
        )
        with self._training(where):
            names = self.metrics_names[:1] + [m.name for m in metrics]
            self.stop_training = False
            self.history = history
            callback_list.on_train_begin()
            rng = _random.generator()
            for epoch in range(initial_epoch, epochs):
                started = time.perf_counter()
                callback_list.on_epoch_begin(epoch)
                order = rng.permutation(n) if shuffle else None
                sums = _RunningMeans(names)
                warned = False
                for step in range(steps):
                    callback_list.on_train_batch_begin(step)
                    lo, hi = step * batch_size, min(n, (step + 1) * batch_size)
                    yb = y_batch[: hi - lo]
                    if order is None:
                        xb, yb = batches.rows(lo, hi), targets[lo:hi]
                    else:
                        xb = batches.rows(lo, hi, order[lo:hi])
                        np.take(targets, order[lo:hi], axis=0, out=yb)
                    values = self._train_batch(xb, yb, mode)
                    if not warned and not math.isfinite(values[0]):
                        warned = True
                        warnings.warn(
                            f"fit: the loss is {values[0]} at epoch {epoch + 1}, batch "
                            f"{step + 1}; training has diverged (lower the learning rate, "
                            "check the data for huge values, or use TerminateOnNaN to stop)",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                    sums.add(values, hi - lo)
                    history.record_batch(dict(zip(names, values)))
                    callback_list.on_train_batch_end(step, sums.means())
                    if self.stop_training:
                        break
                logs = sums.means()
                # Keras: every validation_freq-th epoch counted from epoch 0,
                # not from initial_epoch.
                if val is not None and (epoch + 1) % validation_freq == 0:
                    val_values = self._evaluate_arrays(
                        val[0], val[1], val_batch, mode, callbacks=callback_list
                    )
                    logs.update({f"val_{k}": v for k, v in zip(names, val_values)})
                history.record_epoch_time(time.perf_counter() - started)
                callback_list.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            callback_list.on_train_end()
        return history

    def _validation_tuple(self, data: Any) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise ValueError(
                "fit: validation_data must be a tuple or list (x_val, y_val); got "
                f"{describe(data)}"
                + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
            )
        if len(data) == 3 and data[2] is not None:
            raise ValueError(
                "fit: validation sample weights are not supported by tinynn"
            )
        return self._prepare_xy(data[0], data[1], "fit (validation_data)")

    def _evaluate_arrays(
        self,
        xs: np.ndarray,
        targets: np.ndarray,
        batch_size: int,
        mode: str,
        progbar: Progbar | None = None,
        callbacks: CallbackList | None = None,
    ) -> list[float]:
        """Loss and metrics over the set, calling the on_test_* hooks of
        `callbacks` as Keras does (evaluate, and fit's validation)."""
        n = len(xs)
        self._ensure_buffers(min(batch_size, n))
        batches = _Batches(xs, self.dtype, min(batch_size, n))
        sums = _RunningMeans(self.metrics_names[:1] + [m.name for m in self._metrics])
        hooks = callbacks or CallbackList([])
        hooks.on_test_begin({})
        for step, lo in enumerate(range(0, n, batch_size)):
            hi = min(n, lo + batch_size)
            hooks.on_test_batch_begin(step, {})
            xb = batches.rows(lo, hi)
            sums.add(self._test_batch(xb, targets[lo:hi], mode), hi - lo)
            hooks.on_test_batch_end(step, sums.means())
            if progbar is not None:
                progbar.update(step + 1, list(sums.means().items()))
        hooks.on_test_end(sums.means())
        return list(sums.means().values())

    # ---- evaluate / predict -------------------------------------------------------
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: Any = None,
        callbacks: Any = None,
        return_dict: bool = False,
        **kwargs: Any,
    ) -> float | list[float] | dict[str, float]:
        """Loss (and metrics) over the whole set, with dropout off.

        Returns the loss as a float when no metrics were compiled, else
        ``[loss, metric, ...]`` in compile order (a dict with return_dict).
        """
        where = "evaluate"
        self._require_compiled(where)
        if sample_weight is not None or steps is not None:
            raise ValueError(
                "evaluate: sample_weight and steps are not supported by tinynn"
            )
        batch_size = (
            32 if batch_size is None else positive_int(batch_size, where, "batch_size")
        )
        verbose = _verbosity(verbose, where)
        user_callbacks = _callback_list(callbacks, where)
        xs, targets = self._prepare_xy(x, y, where)
        self._resolve_metrics(targets)
        mode = self._output_mode()
        steps_total = math.ceil(len(xs) / batch_size)
        progbar = Progbar(steps_total, verbose=verbose) if verbose else None
        hooks = CallbackList(
            user_callbacks,
            model=self,
            params={"verbose": verbose, "epochs": 1, "steps": steps_total},
        )
        values = self._evaluate_arrays(xs, targets, batch_size, mode, progbar, hooks)
        names = self.metrics_names[:1] + [m.name for m in self._metrics]
        if return_dict:
            return dict(zip(names, values))
        return values[0] if len(values) == 1 else values

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: Any = None,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Outputs for `x` (probabilities after a softmax), in batches, dropout off."""
        where = "predict"
        if steps is not None:
            raise ValueError("predict: steps is not supported by tinynn")
        batch_size = (
            32 if batch_size is None else positive_int(batch_size, where, "batch_size")
        )
        verbose = _verbosity(verbose, where)
        user_callbacks = _callback_list(callbacks, where)
        xs = self._prepare_x(x, where)
        n = len(xs)
        self._ensure_buffers(min(batch_size, n))
        batches = _Batches(xs, self.dtype, min(batch_size, n))
        result = np.empty((n, *self.output_shape[1:]), self.dtype)
        steps_total = math.ceil(n / batch_size)
        progbar = Progbar(steps_total, verbose=verbose) if verbose else None
        hooks = CallbackList(
            user_callbacks,
            model=self,
            params={"verbose": verbose, "epochs": 1, "steps": steps_total},
        )
        hooks.on_predict_begin({})
        for step, lo in enumerate(range(0, n, batch_size)):
            hi = min(n, lo + batch_size)
            hooks.on_predict_batch_begin(step, {})
            self._predict_batch(batches.rows(lo, hi), result[lo:hi], training=False)
            hooks.on_predict_batch_end(step, {"outputs": result[lo:hi]})
            if progbar is not None:
                progbar.update(step + 1)
        hooks.on_predict_end({})
        return result

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        xs = self._as_batch(self._prepare_x(x, "Sequential.__call__"))
        result = np.empty((len(xs), *self.output_shape[1:]), self.dtype)
        self._predict_batch(xs, result, training=bool(training))
        return result

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Outputs for one batch: one forward pass, no progress bar."""
        return self(x)

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        reset_metrics: bool = True,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """One optimizer step on this batch; loss (and metrics) of the batch,
        computed before the update."""
        where = "train_on_batch"
        self._require_compiled(where)
        if sample_weight is not None or class_weight is not None:
            raise ValueError(
                f"{where}: sample_weight and class_weight are not supported"
            )
        xs, targets = self._prepare_xy(x, y, where)
        xs = self._as_batch(xs)
        self._resolve_metrics(targets)
        with self._training(where):
            values = self._train_batch(xs, targets, self._output_mode())
        return self._batch_result(values, return_dict)

    def test_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        reset_metrics: bool = True,
        return_dict: bool = False,
    ) -> float | list[float] | dict[str, float]:
        """Loss (and metrics) of this batch without updating the weights."""
        where = "test_on_batch"
        self._require_compiled(where)
        if sample_weight is not None:
            raise ValueError(f"{where}: sample_weight is not supported")
        xs, targets = self._prepare_xy(x, y, where)
        xs = self._as_batch(xs)
        self._resolve_metrics(targets)
        values = self._test_batch(xs, targets, self._output_mode())
        return self._batch_result(values, return_dict)

    def _batch_result(self, values: list[float], return_dict: bool):
        values = [float(v) for v in values]
        if return_dict:
            names = self.metrics_names[:1] + [m.name for m in self._metrics]
            return dict(zip(names, values))
        return values[0] if len(values) == 1 else values

    # ---- summary ---------------------------------------------------------------
    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        **kwargs: Any,
    ) -> None:
        """Print the layer table in tf.keras 2's classic layout (width 65)."""
        self._require_built("summary")
        width = line_length or 65
        fractions = positions or [0.45, 0.85, 1.0]
        stops = [int(width * p) if p <= 1 else int(p) for p in fractions]
        emit = print_fn or print

        def row(cells: list[str]) -> str:
            line = ""
            for cell, stop in zip(cells, stops):
                line = (line + cell)[:stop].ljust(stop)
            return line

        lines = [
            f'Model: "{self.name}"',
            "_" * width,
            row(["Layer (type)", "Output Shape", "Param #"]),
            "=" * width,
        ]
        for index, layer in enumerate(self._layers):
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
            lines.append("=" * width if index == len(self._layers) - 1 else "_" * width)
        total = self.count_params()
        trainable = sum(
            layer.count_params() for layer in self._layers if layer.trainable
        )
        lines += [
            f"Total params: {total:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
            "_" * width,
        ]
        for line in lines:
            emit(line.rstrip() if print_fn is None else line)

    # ---- saving ---------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Architecture as JSON-able data (Keras's layout)."""
        layers = [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in self._layers
        ]
        config: dict[str, Any] = {"name": self.name, "layers": layers}
        if self._input_features is not None:
            config["build_input_shape"] = [None, *self._input_features]
        return config

    def save(
        self,
        filepath: Any,
        overwrite: bool = True,
        include_optimizer: bool = True,
        **kwargs: Any,
    ) -> None:
        """Write architecture, weights and optimizer state to one file, atomically.

        The suffix chooses the format, as in Keras: .keras is Keras 3's zip,
        .h5/.hdf5 Keras-layout HDF5, any other tinynn's own format.
        """
        saving.save_model(
            self, filepath, overwrite=overwrite, include_optimizer=include_optimizer
        )

    def save_weights(
        self, filepath: Any, overwrite: bool = True, **kwargs: Any
    ) -> None:
        """Write only the weights (same formats as `save`)."""
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, **kwargs: Any) -> None:
        """Read weights written by `save_weights` or `save` into this model."""
        saving.load_weights(self, filepath)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as Keras's JSON (``models.model_from_json`` reads it)."""
        return saving.to_json(self, **kwargs)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self._layers)} built={self.built}>"


Model = Sequential
model_from_json = saving.model_from_json


class _Batches:
    """Batches of the user's input `xs` in the model's float dtype.

    When `xs` already is C-contiguous in that dtype, a batch is a view (or,
    shuffled, a gather into the buffer), as before. Otherwise (uint8 images,
    float64 data for a float32 model, strided or byte-swapped arrays) the
    rows are converted batch by batch into one preallocated buffer, so no
    full-size float copy of the data set is ever made. Element-wise casts
    commute with row selection: the result is bit-identical to converting
    the whole array first.
    """

    def __init__(self, xs: np.ndarray, dtype: np.dtype, rows: int):
        self.xs = xs
        self.direct = xs.dtype == dtype and xs.flags.c_contiguous and xs.flags.aligned
        self.out = np.empty((rows, *xs.shape[1:]), dtype)
        self.stage: np.ndarray | None = None  # source-dtype rows of a gather

    def rows(self, lo: int, hi: int, index: np.ndarray | None = None) -> np.ndarray:
        """xs[lo:hi], or xs[index] when shuffled, in the model's dtype."""
        out = self.out[: hi - lo]
        if index is None:
            if self.direct:
                return self.xs[lo:hi]
            np.copyto(out, self.xs[lo:hi], casting="unsafe")
            return out
        if self.direct:
            return np.take(self.xs, index, axis=0, out=out)
        if self.stage is None:
            self.stage = np.empty((len(self.out), *self.xs.shape[1:]), self.xs.dtype)
        stage = self.stage[: hi - lo]
        np.take(self.xs, index, axis=0, out=stage)
        np.copyto(out, stage, casting="unsafe")
        return out


class _RunningMeans:
    """Sample-weighted running means of a batch's loss and metrics (Keras's
    reporting: each batch's mean counts by its size), summed in double."""

    def __init__(self, names: list[str]):
        self.names = names
        self.totals = [0.0] * len(names)
        self.count = 0

    def add(self, values: list[float], size: int) -> None:
        self.totals = [t + float(v) * size for t, v in zip(self.totals, values)]
        self.count += size

    def means(self) -> dict[str, float]:
        count = max(self.count, 1)
        return {name: t / count for name, t in zip(self.names, self.totals)}


def _verbosity(verbose: Any, where: str) -> int:
    if verbose == "auto":
        return 1
    if (
        isinstance(verbose, bool)
        or not isinstance(verbose, (int, np.integer))
        or verbose < 0
    ):
        raise ValueError(f"{where}: verbose must be 'auto', 0, 1 or 2; got {verbose!r}")
    return int(verbose)


def _callback_list(callbacks: Any, where: str) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"{where}: callbacks must be a list of Callback objects; got "
            f"{describe(callbacks)}"
        )
    for item in callbacks:
        if not isinstance(item, Callback):
            raise TypeError(
                f"{where}: callbacks must hold Callback objects; got {describe(item)}"
            )
    return list(callbacks)


def _split_tail(xs: np.ndarray, targets: np.ndarray, fraction: Any):
    """Keras's validation_split: the LAST samples, taken before any shuffling."""
    if (
        isinstance(fraction, bool)
        or not isinstance(fraction, (int, float))
        or not (0.0 <= float(fraction) < 1.0)
    ):
        raise ValueError(
            f"fit: validation_split must be a number in [0, 1); got {fraction!r}"
        )
    n = len(xs)
    split_at = int(n * (1.0 - float(fraction)))
    if split_at in (0, n):
        raise ValueError(
            f"fit: Training data contains {n} samples, which is not sufficient to split "
            f"it into a validation and training set as specified by `validation_split="
            f"{fraction}`. Either provide more data, or a different value for the "
            "`validation_split` argument."
        )
    return xs[:split_at], targets[:split_at], (xs[split_at:], targets[split_at:])
