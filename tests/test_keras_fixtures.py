"""Files written by real Keras 2.x and 3 (tests/fixtures/keras/, made by
scripts/make_keras_fixtures.py; keras<N>_expected.json says which Keras and
TensorFlow made them) load in tinynn with Keras's predictions, optimizer and
optimizer state; what tinynn writes has Keras's layout. No TensorFlow
needed: the live oracle is tests/test_keras_oracle.py."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinynn

h5py = pytest.importorskip("h5py")

FIXTURES = Path(__file__).parent / "fixtures" / "keras"
EXPECTED = {
    major: json.loads((FIXTURES / f"keras{major}_expected.json").read_text())
    for major in (2, 3)
}
CASES = [(major, name) for major in (2, 3) for name in EXPECTED[major]["models"]]
IDS = [f"keras{major}-{name}" for major, name in CASES]
TOL = 1e-6


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")


def expected(major, name):
    return EXPECTED[major]["models"][name]


def check_predictions(model, major, name, key="predictions"):
    case = expected(major, name)
    x = np.array(case["input"], "float32")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), np.array(case[key]), rtol=0, atol=TOL
    )


def test_fixtures_say_which_keras_made_them():
    assert EXPECTED[2]["keras_version"].startswith("2.")
    assert EXPECTED[3]["keras_version"].startswith("3.")
    for major in (2, 3):
        assert "TensorFlow" in EXPECTED[major]["made_by"]
        with h5py.File(FIXTURES / f"keras{major}_flatten_adam.h5", "r") as root:
            assert root.attrs["keras_version"] == EXPECTED[major]["keras_version"]


@pytest.mark.parametrize("major, name", CASES, ids=IDS)
def test_keras_h5_loads_with_predictions_and_optimizer_state(major, name):
    case = expected(major, name)
    model = tinynn.load_model(FIXTURES / f"keras{major}_{name}.h5")
    check_predictions(model, major, name)
    assert type(model.optimizer).__name__ == case["optimizer"]
    assert model.optimizer.iterations == case["optimizer_iterations"]
    assert model.loss.name == tinynn.losses.get(case["loss"]).name
    continue_training(model, major, name)


def continue_training(model, major, name):
    """One more unshuffled step: only the restored optimizer moments give
    Keras's weights after it."""
    case = expected(major, name)
    if "predictions_after_next_step" in case:
        model.fit(
            np.array(case["x_train"], "float32"),
            np.array(case["y_train"]),
            batch_size=8,
            shuffle=False,
            verbose=0,
        )
        check_predictions(model, major, name, "predictions_after_next_step")


@pytest.mark.parametrize("major, name", CASES, ids=IDS)
def test_keras_keras_file_loads(major, name):
    case = expected(major, name)
    path = FIXTURES / f"keras{major}_{name}.keras"
    if major == 3:
        # Keras 3.15 leaves the optimizer out of .keras; its load_model
        # compiles with RMSprop, and so does tinynn's.
        with pytest.warns(UserWarning, match="names no optimizer"):
            model = tinynn.load_model(path)
        assert type(model.optimizer).__name__ == "RMSprop"
    else:
        model = tinynn.load_model(path)
        assert type(model.optimizer).__name__ == case["optimizer"]
        assert model.optimizer.iterations == case["optimizer_iterations"]
    check_predictions(model, major, name)
    assert model.loss.name == tinynn.losses.get(case["loss"]).name
    if major == 2:
        continue_training(model, major, name)
    fresh = tinynn.load_model(FIXTURES / f"keras{major}_{name}.h5")
    fresh.load_weights(path)
    check_predictions(fresh, major, name)


@pytest.mark.parametrize("major, name", CASES, ids=IDS)
@pytest.mark.parametrize(
    "from_json", [tinynn.models.model_from_json, tinynn.keras.models.model_from_json]
)
def test_keras_json_and_weights_h5_load(major, name, from_json):
    model = from_json((FIXTURES / f"keras{major}_{name}.json").read_text())
    assert not model._compiled
    model.load_weights(FIXTURES / f"keras{major}_{name}.weights.h5")
    check_predictions(model, major, name)
    # and the .h5 of model.save is also a weights file for load_weights
    model = from_json((FIXTURES / f"keras{major}_{name}.json").read_text())
    model.load_weights(FIXTURES / f"keras{major}_{name}.h5")
    check_predictions(model, major, name)


# ---- what tinynn writes has Keras's layout ----------------------------------------
def tinynn_model(named=False):
    L = tinynn.keras.layers
    names = ["pixels", "hidden", "drop", "out"] if named else [None] * 4
    model = tinynn.keras.Sequential(
        [
            L.Flatten(input_shape=(4, 3), name=names[0]),
            L.Dense(6, activation="relu", name=names[1]),
            L.Dropout(0.25, name=names[2]),
            L.Dense(5, activation="softmax", name=names[3]),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(
        rng.normal(size=(8, 4, 3)), rng.integers(0, 5, 8), batch_size=4, verbose=0
    )
    return model


def layer_keys(config):
    return [
        (entry["class_name"], sorted(entry["config"]))
        for entry in config["config"]["layers"]
    ]


def test_tinynn_h5_model_config_has_keras2_layout(tmp_path):
    """The same model as keras2_flatten_adam: the same layers, each with the
    keys Keras 2.x writes (an explicit InputLayer, Flatten's data_format...)
    (regularizers and constraints included, as null)."""
    path = tmp_path / "m.h5"
    tinynn_model().save(path)
    with h5py.File(FIXTURES / "keras2_flatten_adam.h5", "r") as keras_file:
        keras_config = json.loads(keras_file.attrs["model_config"])
        keras_training = json.loads(keras_file.attrs["training_config"])
        keras_opt = [
            str(n) for n in keras_file["optimizer_weights"].attrs["weight_names"]
        ]
        keras_groups = set(keras_file["model_weights"])
    with h5py.File(path, "r") as root:
        config = json.loads(root.attrs["model_config"])
        training = json.loads(root.attrs["training_config"])
        opt = [str(n) for n in root["optimizer_weights"].attrs["weight_names"]]
        assert set(root["model_weights"]) == keras_groups
        assert root["model_weights/dense/dense/kernel:0"].fletcher32
    ignored = {
        "noise_shape",
        "optional",
    }
    ours = [
        (c, [k for k in keys if k not in ignored]) for c, keys in layer_keys(config)
    ]
    theirs = [
        (c, [k for k in keys if k not in ignored])
        for c, keys in layer_keys(keras_config)
    ]
    assert ours == theirs
    assert config["config"]["layers"][0]["config"]["batch_input_shape"] == [None, 4, 3]
    assert opt == keras_opt  # same names, same order
    assert set(training) == set(keras_training)
    assert training["optimizer_config"]["class_name"] == "Custom>Adam"


def test_tinynn_keras_file_has_keras3_layout(tmp_path):
    """Weights are found by class (dense, dense_1), as Keras 3 looks them up,
    whatever the layers are named."""
    path = tmp_path / "m.keras"
    tinynn_model(named=True).save(path)
    reference = FIXTURES / "keras3_flatten_adam.keras"
    with zipfile.ZipFile(path) as ours, zipfile.ZipFile(reference) as theirs:
        assert sorted(ours.namelist()) == sorted(theirs.namelist())
        config = json.loads(ours.read("config.json"))
        keras_config = json.loads(theirs.read("config.json"))
        assert json.loads(ours.read("metadata.json"))["keras_version"].startswith("3.")
        for name, archive in (("ours", ours), ("theirs", theirs)):
            (tmp_path / f"{name}.h5").write_bytes(archive.read("model.weights.h5"))
    assert [(e["class_name"], e["module"]) for e in config["config"]["layers"]] == [
        (e["class_name"], e["module"]) for e in keras_config["config"]["layers"]
    ]
    # tf-keras 2.x's spelling, which Keras 3 reads too (tf-keras cannot read
    # Keras 3's batch_shape)
    assert config["config"]["layers"][0]["config"]["batch_input_shape"] == [None, 4, 3]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"

    def shapes(file):
        found = {}
        with h5py.File(file, "r") as root:
            root.visititems(
                lambda n, o: found.__setitem__(n, getattr(o, "shape", "group"))
            )
        return found

    assert shapes(tmp_path / "ours.h5") == shapes(tmp_path / "theirs.h5")


def test_tinynn_weights_h5_has_keras3_layout(tmp_path):
    path = tmp_path / "m.weights.h5"
    tinynn_model(named=True).save_weights(path)
    with (
        h5py.File(path, "r") as root,
        h5py.File(FIXTURES / "keras3_flatten_adam.weights.h5", "r") as theirs,
    ):
        for layer in ("dense", "dense_1", "dropout", "flatten"):
            ours = root[f"layers/{layer}/vars"]
            keras = theirs[f"layers/{layer}/vars"]
            assert {k: ours[k].shape for k in ours} == {
                k: keras[k].shape for k in keras
            }


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5", ".json"])
def test_tinynn_round_trip_in_keras_formats(tmp_path, suffix):
    model = tinynn_model()
    x = np.random.default_rng(2).normal(size=(5, 4, 3))
    path = tmp_path / f"m{suffix}"
    if suffix == ".json":
        loaded = tinynn.models.model_from_json(model.to_json())
        model.save_weights(tmp_path / "m.weights.h5")
        loaded.load_weights(tmp_path / "m.weights.h5")
    elif suffix == ".weights.h5":
        model.save_weights(path)
        loaded = tinynn.models.model_from_json(model.to_json())
        loaded.load_weights(path)
    else:
        model.save(path)
        loaded = tinynn.load_model(path)
        assert loaded.optimizer.iterations == model.optimizer.iterations
        for key, value in model.optimizer.flat_state().items():
            np.testing.assert_array_equal(loaded.optimizer.flat_state()[key], value)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers
    ]


def test_old_tinynn_keras_named_files_still_load(tmp_path):
    """tinynn used to write its own format to .keras paths."""
    model = tinynn_model()
    path = tmp_path / "old.keras"
    model.save(tmp_path / "old.tnn")
    shutil.copy(tmp_path / "old.tnn", path)
    loaded = tinynn.load_model(path)
    x = np.ones((2, 4, 3))
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


# ---- bad or unsupported Keras files: one ValueError naming file and field ---------
def edited_h5(tmp_path, source, edit):
    path = tmp_path / "edited.h5"
    shutil.copy(FIXTURES / source, path)
    with h5py.File(path, "r+") as root:
        config = json.loads(root.attrs["model_config"])
        edit(config)
        root.attrs["model_config"] = json.dumps(config)
    return path


def set_layer(index, key, value):
    def edit(config):
        config["config"]["layers"][index][key] = value

    return edit


def set_arg(index, key, value):
    def edit(config):
        config["config"]["layers"][index]["config"][key] = value

    return edit


BAD_CONFIGS = [
    ("subclassed", lambda c: c.__setitem__("class_name", "MyModel"), r"'model_config\.class_name' is 'MyModel'"),
    ("functional without graph", lambda c: c.__setitem__("class_name", "Functional"), r"model_config: field 'layers\[1\]\.inbound_nodes': layer '[a-z_0-9]+' is not connected"),
    ("conv layer", set_layer(1, "class_name", "Conv3D"), r"layers\[1\]\.class_name': layer class 'Conv3D' is not supported"),
    ("regularizer", set_arg(2, "kernel_regularizer", {"class_name": "OrthogonalRegularizer", "config": {"factor": 0.01}}), r"layers\[2\]\.config' \(Dense\): .*unknown regularizer 'OrthogonalRegularizer'"),
    ("constraint", set_arg(2, "kernel_constraint", {"class_name": "RadialConstraint", "config": {}}), r"layers\[2\]\.config' \(Dense\): .*unknown constraint 'RadialConstraint'"),
    ("mixed precision", set_arg(2, "dtype", {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}), r"layers\[2\]\.config' \(Dense\): dtype 'mixed_float16'"),
    ("channels_first", set_arg(1, "data_format", "channels_first"), r"layers\[1\]\.config' \(Flatten\): Flatten: data_format"),
    ("unknown argument", set_arg(2, "lora_rank", 4), r"layers\[2\]\.config' \(Dense\): .*'lora_rank'"),
    ("layer not a dict", lambda c: c["config"]["layers"].__setitem__(2, 7), r"layers\[2\]' must be a JSON object"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit, message", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_unsupported_keras_config_is_a_value_error_naming_file_and_field(
    tmp_path, edit, message
):
    path = edited_h5(tmp_path, "keras3_flatten_adam.h5", edit)
    with pytest.raises(ValueError, match=message) as info:
        tinynn.load_model(path)
    assert str(path) in str(info.value)


def test_keras_regularizers_and_constraints_load(tmp_path):
    """Keras 3 writes them wrapped with their module, Keras 2 plainly."""

    def edit(config):
        dense = config["config"]["layers"][2]["config"]
        dense["kernel_regularizer"] = {
            "module": "keras.regularizers",
            "class_name": "L1L2",
            "config": {"l1": 0.001, "l2": 0.002},
            "registered_name": None,
        }
        dense["bias_regularizer"] = {"class_name": "L2", "config": {"l2": 0.03}}
        dense["kernel_constraint"] = {
            "module": "keras.constraints",
            "class_name": "MaxNorm",
            "config": {"max_value": 3.0, "axis": 0},
            "registered_name": None,
        }
        dense["bias_constraint"] = {"class_name": "NonNeg", "config": {}}

    model = tinynn.load_model(edited_h5(tmp_path, "keras3_flatten_adam.h5", edit))
    dense = model.layers[1]
    assert isinstance(dense.kernel_regularizer, tinynn.regularizers.L1L2)
    assert (dense.kernel_regularizer.l1, dense.kernel_regularizer.l2) == (0.001, 0.002)
    assert dense.bias_regularizer.get_config() == {"l2": 0.03}
    assert dense.kernel_constraint.get_config() == {"max_value": 3.0, "axis": 0}
    assert isinstance(dense.bias_constraint, tinynn.constraints.NonNeg)


def test_keras3_optional_off_arguments_are_accepted(tmp_path):
    """Keras 3 adds arguments whose "off" value changes nothing."""
    path = edited_h5(tmp_path, "keras3_flatten_adam.h5", set_arg(2, "lora_rank", None))
    check_predictions(tinynn.load_model(path), 3, "flatten_adam")


def test_bad_keras_file_is_a_value_error(tmp_path):
    not_zip = tmp_path / "x.keras"
    not_zip.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="x.keras is not a .keras file"):
        tinynn.load_model(not_zip)
    no_weights = tmp_path / "y.keras"
    with zipfile.ZipFile(FIXTURES / "keras3_softmax_sgd.keras") as source:
        with zipfile.ZipFile(no_weights, "w") as target:
            for name in ("config.json", "metadata.json"):
                target.writestr(name, source.read(name))
    with pytest.raises(
        ValueError, match="y.keras is not a Keras 3 .keras file.*model.weights.h5"
    ):
        tinynn.load_model(no_weights)
    other = tinynn.models.model_from_json(
        (FIXTURES / "keras3_flatten_adam.json").read_text()
    )
    with pytest.raises(ValueError, match=r"'layers/flatten/vars' is missing"):
        other.load_weights(FIXTURES / "keras3_softmax_sgd.keras")
    other = tinynn.models.model_from_json(
        (FIXTURES / "keras3_linear_amsgrad.json").read_text()
    )
    with pytest.raises(ValueError, match=r"dense/vars/0' has shape \(3, 4\)"):
        other.load_weights(FIXTURES / "keras3_binary_adagrad.keras")
    with pytest.raises(ValueError, match=r"dense/vars/0' has shape \(3, 4\)"):
        other.load_weights(FIXTURES / "keras3_binary_adagrad.weights.h5")
    with pytest.raises(
        ValueError, match="model_from_json: json_string is not valid JSON"
    ):
        tinynn.models.model_from_json("{")


def test_input_layer_takes_both_keras_spellings():
    for layer in (
        tinynn.keras.layers.InputLayer(batch_shape=(None, 4, 3)),
        tinynn.keras.layers.InputLayer(batch_input_shape=(None, 4, 3)),
        tinynn.keras.Input(batch_shape=(None, 4, 3)),
    ):
        model = tinynn.keras.Sequential([layer, tinynn.keras.layers.Flatten()])
        assert model.output_shape == (None, 12)


def rewrite_keras(source, target, change):
    """Copy the .keras zip `source` to `target`, passing {member: bytes}
    through `change`."""
    with zipfile.ZipFile(source) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    change(members)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_huge_keras_member_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.keras"
    rewrite_keras(
        FIXTURES / "keras2_linear_amsgrad.keras",
        path,
        lambda m: m.__setitem__("model.weights.h5", bytes(40 * 2**20)),
    )
    assert path.stat().st_size < 2**20  # 40 MB of zeros, deflated
    with pytest.raises(ValueError, match="'model.weights.h5' declares 41943040 bytes"):
        tinynn.load_model(path)


def test_keras_optimizer_state_of_wrong_shape_is_a_value_error(tmp_path):
    path = tmp_path / "bad.keras"
    model = tinynn_model()
    model.save(path)

    def change(members):
        (tmp_path / "w.h5").write_bytes(members["model.weights.h5"])
        with h5py.File(tmp_path / "w.h5", "r+") as root:
            del root["optimizer/vars/2"]
            root["optimizer/vars"].create_dataset("2", data=np.zeros(3, "f4"))
        members["model.weights.h5"] = (tmp_path / "w.h5").read_bytes()

    rewrite_keras(path, path, change)
    with pytest.raises(
        ValueError,
        match=r"bad.keras is damaged: group 'optimizer/vars' holds an array of shape \(3,\) where Adam/m/dense/kernel:0",
    ):
        tinynn.load_model(path)


# ---- a Sequential nested in a Sequential (the tutorial's probability_model) ----------
@pytest.mark.parametrize("major", [2, 3])
@pytest.mark.parametrize("suffix", [".h5", ".keras", ".json"])
def test_keras_nested_sequential_loads_as_one_nested_layer(major, suffix):
    path = FIXTURES / f"keras{major}_nested_sequential{suffix}"
    if suffix == ".json":
        model = tinynn.models.model_from_json(path.read_text())
        model.load_weights(FIXTURES / f"keras{major}_nested_sequential.weights.h5")
    elif major == 3 and suffix == ".keras":
        with pytest.warns(UserWarning, match="names no optimizer"):
            model = tinynn.load_model(path)
    else:
        model = tinynn.load_model(path)
    assert [(layer.name, type(layer).__name__) for layer in model.layers] == [
        ("sequential", "Sequential"),
        ("softmax", "Softmax"),
    ]
    inner = model.get_layer("sequential")
    assert [type(layer).__name__ for layer in inner.layers] == [
        "Flatten",
        "Dense",
        "Dense",
    ]
    assert inner.input_shape == (None, 4, 3) and inner.output_shape == (None, 5)
    assert all(a is b for a, b in zip(model.weights, inner.weights))
    check_predictions(model, major, "nested_sequential")
    # the inner model alone gives the logits the outer model's Softmax reads
    x = np.array(expected(major, "nested_sequential")["input"], "float32")
    logits = inner.predict(x, verbose=0).astype(np.float64)
    soft = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        soft / soft.sum(axis=1, keepdims=True),
        model.predict(x, verbose=0),
        rtol=0,
        atol=TOL,
    )


def test_tinynn_nested_sequential_files_have_keras_layout(tmp_path):
    """The same nested model: the .h5 groups and weight names of Keras 2,
    and the .keras weight paths of Keras 3."""
    L = tinynn.keras.layers
    inner = tinynn.keras.Sequential(
        [
            L.Flatten(input_shape=(4, 3)),
            L.Dense(6, activation="relu"),
            L.Dense(5),
        ]
    )
    model = tinynn.keras.Sequential([inner, L.Softmax()])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(8, 4, 3)), rng.integers(0, 5, 8), verbose=0)
    model.save(tmp_path / "m.h5")

    def listing(root, group):
        found = {}
        root[group].visititems(
            lambda n, o: found.__setitem__(n, getattr(o, "shape", None))
        )
        return found

    with (
        h5py.File(tmp_path / "m.h5", "r") as ours,
        h5py.File(FIXTURES / "keras2_nested_sequential.h5", "r") as theirs,
    ):
        for group in ("model_weights", "optimizer_weights"):
            assert listing(ours, group) == listing(theirs, group)
        assert list(ours["model_weights"].attrs["layer_names"]) == list(
            theirs["model_weights"].attrs["layer_names"]
        )
        assert [
            str(n) for n in ours["model_weights/sequential"].attrs["weight_names"]
        ] == [str(n) for n in theirs["model_weights/sequential"].attrs["weight_names"]]
        config = json.loads(ours.attrs["model_config"])
        keras_config = json.loads(theirs.attrs["model_config"])
    assert [e["class_name"] for e in config["config"]["layers"]] == [
        e["class_name"] for e in keras_config["config"]["layers"]
    ]
    model.save(tmp_path / "m.keras")
    with (
        zipfile.ZipFile(tmp_path / "m.keras") as ours,
        zipfile.ZipFile(FIXTURES / "keras3_nested_sequential.keras") as theirs,
    ):
        for name, archive in (("ours", ours), ("theirs", theirs)):
            (tmp_path / f"{name}.h5").write_bytes(archive.read("model.weights.h5"))
    with (
        h5py.File(tmp_path / "ours.h5", "r") as ours,
        h5py.File(tmp_path / "theirs.h5", "r") as theirs,
    ):
        assert listing(ours, "layers") == listing(theirs, "layers")
