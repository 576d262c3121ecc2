"""A class registered where it is defined is saved and loaded by name in both
file formats, with no change to tinynn.saving."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn as tf
from tinynn import registry


@registry.register("optimizer")
class DampedSGD(tf.optimizers.SGD):
    """SGD with a learning rate scaled by `damping` (a test-only optimizer)."""

    def __init__(self, learning_rate=0.01, damping=0.5, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate * damping, name=name, **kwargs)
        self.damping = damping
        self.base_learning_rate = learning_rate

    def get_config(self):
        config = super().get_config()
        config.update(learning_rate=self.base_learning_rate, damping=self.damping)
        return config


@pytest.mark.parametrize("suffix", [".tnn", ".h5"])
def test_a_registered_optimizer_round_trips_in_both_formats(tmp_path, suffix):
    tf.set_seed(0)
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(4,))])
    model.compile(DampedSGD(0.2, damping=0.25), "mse")
    x = np.random.default_rng(0).random((8, 4)).astype(np.float32)
    model.fit(x, x[:, :3], verbose=0)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert type(loaded.optimizer) is DampedSGD
    assert loaded.optimizer.damping == 0.25
    assert loaded.optimizer.base_learning_rate == pytest.approx(0.2)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unknown_names_are_reported_with_what_is_known():
    with pytest.raises(ValueError, match=r"unknown optimizer 'Nope'; tinynn knows \["):
        tf.optimizers.deserialize({"class_name": "Nope", "config": {}})
    assert registry.lookup("layer", "Dense") is tf.layers.Dense
    assert registry.lookup("layer", 3) is None
    with pytest.raises(ValueError, match="kind must be one of"):
        registry.register("metric")


def test_adagrad_trains_like_the_numpy_reference_and_round_trips(tmp_path):
    import reference as ref

    tf.set_seed(1)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(3,))])
    model.compile("adagrad", "mse")
    assert type(model.optimizer).__name__ == "Adagrad"
    assert model.optimizer.get_config()["initial_accumulator_value"] == 0.1
    r = np.random.default_rng(2)
    x, y = r.random((4, 3)), r.random((4, 2))
    w, b = (p.astype(np.float64) for p in model.get_weights())
    acc_w, acc_b = np.full_like(w, 0.1), np.full_like(b, 0.1)
    for _ in range(3):
        model.train_on_batch(x, y)
        # mse over all 8 outputs: d/dpred = 2 (pred - y) / 8
        dpred = 2 * (x @ w + b - y) / y.size
        w, acc_w = ref.adagrad(w, x.T @ dpred, acc_w, 0.001, 1e-7)
        b, acc_b = ref.adagrad(b, dpred.sum(0), acc_b, 0.001, 1e-7)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)
    for suffix in (".tnn", ".h5"):
        path = tmp_path / f"adagrad{suffix}"
        model.save(path)
        loaded = tf.keras.models.load_model(path)
        assert type(loaded.optimizer).__name__ == "Adagrad"
        assert loaded.optimizer.iterations == model.optimizer.iterations
        # The accumulator is restored: one more step matches the original.
        model_next, loaded_next = (m.train_on_batch(x, y) for m in (model, loaded))
        np.testing.assert_array_equal(model.get_weights()[0], loaded.get_weights()[0])
        assert model_next == loaded_next


def test_constructor_arguments_drop_keys_that_only_kwargs_would_take():
    # A tf.keras 2.11+ optimizer config has keys tinynn's SGD does not name:
    # they are dropped, although SGD.__init__ takes **kwargs (which rejects them).
    keras_config = {
        "name": "SGD",
        "learning_rate": 0.1,
        "momentum": 0.9,
        "nesterov": False,
        "is_legacy_optimizer": False,
        "ema_momentum": 0.99,
        "ema_overwrite_frequency": None,
    }
    args = registry.constructor_arguments(tf.optimizers.SGD, keras_config)
    assert args == {
        "name": "SGD",
        "learning_rate": 0.1,
        "momentum": 0.9,
        "nesterov": False,
    }
    assert tf.optimizers.SGD(**args).momentum == 0.9


@registry.register("layer")
class ChannelScale(tf.layers.Layer):
    """y = x * scale, one trainable scale per feature (a test-only layer with a
    weight and an initializer argument, defined outside tinynn)."""

    def __init__(self, scale_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.scale_initializer = tf.initializers.get(scale_initializer, "ChannelScale")

    def _build(self, features):
        self._add_weight("scale", (features[-1],), self.scale_initializer)

    def _forward(self, x, training, out, ctx):
        np.multiply(x, self._params[0], out=out)
        ctx.input, ctx.output = x, out
        return out

    def _backward(self, dy, dx, ctx, accumulate=False):
        x = ctx.input
        gradient = (dy * x).reshape(-1, x.shape[-1]).sum(0)
        if accumulate:
            self._grads[0] += gradient
        else:
            self._grads[0][...] = gradient
        if dx is not None:
            np.multiply(dy, self._params[0], out=dx)
        return dx

    def get_config(self):
        config = super().get_config()
        config["scale_initializer"] = tf.initializers.serialize(self.scale_initializer)
        return config


@pytest.mark.parametrize("suffix", [".tnn", ".h5", ".keras", ".json"])
def test_a_registered_layer_round_trips_in_every_format(tmp_path, suffix):
    """A layer class defined outside tinynn.layers is saved and loaded in the
    Keras formats too (its config from its own get_config), with no change
    to tinynn.saving; .keras names its weights by class (channel_scale)."""
    tf.set_seed(0)
    model = tf.keras.Sequential(
        [
            tf.keras.layers.Dense(3, input_shape=(4,)),
            ChannelScale(scale_initializer="random_normal"),
            ChannelScale(),
        ]
    )
    model.compile("adam", "mse")
    x = np.random.default_rng(0).random((8, 4)).astype(np.float32)
    model.fit(x, x[:, :3], verbose=0)
    path = tmp_path / f"model{suffix}"
    if suffix == ".json":
        loaded = tf.models.model_from_json(model.to_json())
        model.save_weights(tmp_path / "model.weights.h5")
        loaded.load_weights(tmp_path / "model.weights.h5")
    else:
        model.save(path)
        loaded = tf.keras.models.load_model(path)
        assert loaded.optimizer.iterations == model.optimizer.iterations
    assert [type(layer) for layer in loaded.layers] == [
        tf.layers.Dense,
        ChannelScale,
        ChannelScale,
    ]
    assert type(loaded.layers[1].scale_initializer).__name__ == "RandomNormal"
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    if suffix == ".keras":
        import h5py
        import zipfile

        with zipfile.ZipFile(path) as archive:
            (tmp_path / "w.h5").write_bytes(archive.read("model.weights.h5"))
        with h5py.File(tmp_path / "w.h5", "r") as root:
            assert sorted(root["layers"]) == [
                "channel_scale",
                "channel_scale_1",
                "dense",
            ]
