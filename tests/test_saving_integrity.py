"""Files that never betray: declared shapes and sizes checked before reading,
one ValueError naming the file and the field for any malformed content,
checksummed .h5 datasets, and no temp files left behind by a killed save."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import tinynn
import tinynn as tf
from tinynn import saving
from tinynn.keras import layers


@pytest.fixture(autouse=True)
def _fresh_session():
    tinynn.backend.clear_session()
    tinynn.set_floatx("float32")


def make_model(optimizer="adam"):
    tinynn.set_seed(0)
    model = tf.keras.Sequential(
        [layers.Dense(9, activation="relu", input_shape=(12,)), layers.Dense(5)]
    )
    model.compile(optimizer, "mse")
    return model


def trained(optimizer="adam"):
    model = make_model(optimizer)
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(32, 12)), rng.normal(size=(32, 5)), verbose=0)
    return model


def rewrite(path, change):
    """Rewrite the zip at `path`, passing {member: bytes} through `change`."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)


def with_manifest(path, edit):
    def change(members):
        manifest = json.loads(members["tinynn.json"])
        edit(manifest)
        members["tinynn.json"] = json.dumps(manifest)

    rewrite(path, change)


def set_key(*keys_and_value):
    *keys, value = keys_and_value

    def edit(manifest):
        node = manifest
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


def damaged(path, field):
    """pytest.raises for the one error: ValueError naming the file and field."""
    return pytest.raises(ValueError, match=rf"load_model: {path} is damaged: .*{field}")


# ---- tinynn format: malformed fields -------------------------------------------------
LAYER0 = ("model_config", "config", "layers", 0)
MANIFEST_CASES = [
    ("model_config not a dict", set_key("model_config", 5), "'model_config'"),
    ("layers hold a number", set_key("model_config", "config", "layers", [5]), "'model_config'"),
    ("layer config a list", set_key(*LAYER0, "config", []), "'model_config'"),
    ("units a string", set_key(*LAYER0, "config", "units", "x"), "'model_config'"),
    ("unknown layer argument", set_key(*LAYER0, "config", "colour", 1), "'model_config'"),
    ("layers a dict", set_key("model_config", "config", "layers", {"a": 1}), "'model_config'"),
    ("weights a string", set_key("weights", "abc"), "'weights'"),
    ("weights too many", set_key("weights", 99), "'weights'"),
    ("weights negative", set_key("weights", -1), "'weights'"),
    ("format_version a string", set_key("format_version", "1"), "'format_version'"),
    ("training_config a number", set_key("training_config", 5), "'training_config'"),
    ("optimizer unknown argument", set_key("training_config", "optimizer_config", "config", "bogus", 1), "'training_config'"),
    ("optimizer class unknown", set_key("training_config", "optimizer_config", "class_name", "Lion"), "'training_config'"),
    ("loss a number", set_key("training_config", "loss", 7), "'training_config'"),
    ("loss list of numbers", set_key("training_config", "loss", [7, 8]), "'training_config'"),
    ("loss_weights a string", set_key("training_config", "loss_weights", "x"), "'training_config'"),
    ("loss_weights of strings", set_key("training_config", "loss_weights", ["x"]), "'training_config'"),
    ("weighted_metrics a number", set_key("training_config", "weighted_metrics", 5), "'training_config'"),
    ("metrics by an unknown output", set_key("training_config", "metrics", {"nope": ["mae"]}), "'training_config'"),
    ("iterations -10", set_key("optimizer", "iterations", -10), "'optimizer.iterations'"),
    ("iterations 1e30", set_key("optimizer", "iterations", 1e30), "'optimizer.iterations'"),
    ("iterations a string", set_key("optimizer", "iterations", "5"), "'optimizer.iterations'"),
    ("iterations true", set_key("optimizer", "iterations", True), "'optimizer.iterations'"),
    ("state names unknown", set_key("optimizer", "state", ["m", "bogus"]), "'optimizer.state'"),
    ("state names a number", set_key("optimizer", "state", 5), "'optimizer'"),
    ("optimizer a number", set_key("optimizer", 5), "'optimizer'"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit, field", [c[1:] for c in MANIFEST_CASES], ids=[c[0] for c in MANIFEST_CASES]
)
def test_malformed_manifest_is_one_value_error(tmp_path, edit, field):
    path = tmp_path / "m.tnn"
    trained().save(path)
    with_manifest(path, edit)
    with damaged(path, field):
        tinynn.load_model(path)


def test_optimizer_state_with_nan_is_refused_at_load(tmp_path):
    path = tmp_path / "m.tnn"
    model = trained()
    model.save(path)
    state = model.optimizer.flat_state()["v"].copy()
    state[3] = np.nan

    def change(members):
        buffer = io.BytesIO()
        np.save(buffer, state)
        members["optimizer/v.npy"] = buffer.getvalue()

    rewrite(path, change)
    with damaged(path, "optimizer state 'v'"):
        tinynn.load_model(path)


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: "adam",
        lambda: tf.keras.optimizers.Adam(amsgrad=True),
        lambda: tf.keras.optimizers.SGD(momentum=0.5),
        lambda: "sgd",
        lambda: tf.keras.optimizers.RMSprop(momentum=0.5),
    ],
)
def test_valid_optimizer_states_still_load(tmp_path, optimizer):
    for suffix in (".tnn", ".h5"):
        path = tmp_path / f"m{suffix}"
        model = trained(optimizer())
        model.save(path)
        loaded = tinynn.load_model(path)
        assert loaded.optimizer.iterations == model.optimizer.iterations == 1
        saved, restored = model.optimizer.flat_state(), loaded.optimizer.flat_state()
        assert sorted(saved) == sorted(restored)
        for name in saved:
            np.testing.assert_array_equal(saved[name], restored[name])
        compiled_only = make_model(optimizer())  # state not created yet
        compiled_only.save(path)
        assert tinynn.load_model(path).optimizer.iterations == 0


# ---- tinynn format: declared sizes ----------------------------------------------------
def npy_header(shape, dtype="<f4"):
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def add_zero_member(path, name, header, zero_bytes):
    """Replace member `name` by `header` followed by `zero_bytes` zeros,
    deflated (a few hundred KB on disk)."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != name}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, payload in members.items():
            archive.writestr(member, payload)
        with archive.open(name, "w", force_zip64=True) as out:
            out.write(header)
            block = bytes(2**22)
            for _ in range(zero_bytes // len(block)):
                out.write(block)


def test_inflated_member_is_refused_before_decompressing(tmp_path):
    # The header matches the kernel (12, 9), but the member declares 64 MB more.
    path = tmp_path / "m.tnn"
    make_model().save(path)
    add_zero_member(path, "weights/0.npy", npy_header((12, 9)), 64 * 2**20)
    assert path.stat().st_size < 2**20
    with damaged(path, r"member 'weights/0.npy' declares 671089\d\d bytes"):
        tinynn.load_model(path)


def test_huge_declared_shape_is_refused_before_reading(tmp_path):
    path = tmp_path / "m.tnn"
    make_model().save(path)
    add_zero_member(path, "weights/0.npy", npy_header((16_000_000,)), 64 * 2**20)
    with damaged(
        path, r"'weights/0.npy' has shape \(16000000,\); the model expects \(12, 9\)"
    ):
        tinynn.load_model(path)
    with pytest.raises(ValueError, match=r"has shape \(16000000,\)"):
        make_model().load_weights(path)


def test_huge_manifest_is_refused(tmp_path):
    path = tmp_path / "m.tnn"
    make_model().save(path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(members["tinynn.json"])
    manifest["padding"] = " " * (17 * 2**20)
    members["tinynn.json"] = json.dumps(manifest)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    with damaged(path, "tinynn.json declares"):
        tinynn.load_model(path)


def test_object_dtype_member_is_refused(tmp_path):
    path = tmp_path / "m.tnn"
    make_model().save(path)

    def change(members):
        buffer = io.BytesIO()
        np.save(buffer, np.ones((12, 9), np.int64))
        members["weights/0.npy"] = buffer.getvalue()

    rewrite(path, change)
    with damaged(path, "'weights/0.npy' holds dtype int64"):
        tinynn.load_model(path)


# ---- .h5 ------------------------------------------------------------------------------
h5py = pytest.importorskip("h5py")


def test_h5_datasets_carry_fletcher32(tmp_path):
    path = tmp_path / "m.h5"
    trained().save(path)
    with h5py.File(path, "r") as root:
        kernel = root["model_weights/dense/dense/kernel:0"]
        assert kernel.fletcher32
        opt = root["optimizer_weights"]
        names = [str(n) for n in opt.attrs["weight_names"]]
        assert names[0] == "iteration:0" and len(names) == 1 + 2 * 4
        assert all(opt[n].fletcher32 for n in names[1:])


def flip_byte_in_kernel(path, dataset="model_weights/dense/dense/kernel:0"):
    with h5py.File(path, "r") as root:
        info = root[dataset].id.get_chunk_info(0)
        offset = info.byte_offset
    with open(path, "r+b") as f:
        f.seek(offset + 17)
        byte = f.read(1)
        f.seek(offset + 17)
        f.write(bytes([byte[0] ^ 0x10]))


def test_h5_flipped_byte_in_a_kernel_is_a_value_error(tmp_path):
    path = tmp_path / "m.h5"
    trained().save(path)
    flip_byte_in_kernel(path)
    with damaged(path, "dataset '/model_weights/dense/dense/kernel:0' cannot be read"):
        tinynn.load_model(path)
    with pytest.raises(ValueError, match="kernel:0' cannot be read"):
        make_model().load_weights(path)


def test_h5_huge_declared_kernel_is_refused_before_reading(tmp_path):
    path = tmp_path / "m.h5"
    make_model().save(path)
    with h5py.File(path, "r+") as root:
        group = root["model_weights/dense/dense"]
        del group["kernel:0"]
        # 32 GB declared, nothing written: the file stays small.
        group.create_dataset(
            "kernel:0", shape=(4, 2_000_000_000), dtype="f4", chunks=(1, 4096)
        )
    assert path.stat().st_size < 2**20
    with damaged(path, r"has shape \(4, 2000000000\); the model expects \(12, 9\)"):
        tinynn.load_model(path)


def replace(root, name, value):
    del root[name]
    root.create_dataset(name, data=value)


def add_slot(root, name, value):
    root["optimizer_weights"].create_dataset(name, data=value)
    add_name(root, name.encode())


def add_name(root, name):
    opt = root["optimizer_weights"]
    opt.attrs["weight_names"] = [
        *(str(n).encode() for n in opt.attrs["weight_names"]),
        name,
    ]


def old_layout(root, iterations):
    """Older tinynn files: flat state datasets and an iterations attribute."""
    del root["optimizer_weights"]
    opt = root.create_group("optimizer_weights")
    opt.attrs["iterations"] = iterations
    opt.create_dataset("m", data=np.zeros(48, "f4"))
    opt.create_dataset("v", data=np.zeros(48, "f4"))


def h5_edit(path, edit):
    with h5py.File(path, "r+") as root:
        edit(root)


H5_CASES = [
    ("model_config not JSON", lambda r: r.attrs.__setitem__("model_config", "{"), "attribute 'model_config'"),
    ("model_config a list", lambda r: r.attrs.__setitem__("model_config", "[1]"), "attribute 'model_config'"),
    ("training_config not JSON", lambda r: r.attrs.__setitem__("training_config", "{"), "attribute 'training_config'"),
    ("loss_weights of strings", lambda r: r.attrs.__setitem__("training_config", '{"loss": "mse", "loss_weights": ["x"], "optimizer_config": "adam"}'), "attribute 'training_config'"),
    ("loss a list of numbers", lambda r: r.attrs.__setitem__("training_config", '{"loss": [1, 2], "optimizer_config": "adam"}'), "attribute 'training_config'"),
    ("no model_weights", lambda r: r.__delitem__("model_weights"), "group 'model_weights'"),
    ("no layer_names", lambda r: r["model_weights"].attrs.__delitem__("layer_names"), "weight layout"),
    ("layer missing", lambda r: r["model_weights"].attrs.__setitem__("layer_names", [b"nope"]), "weight layout"),
    ("iteration -10", lambda r: replace(r, "optimizer_weights/iteration:0", np.int64(-10)), "'optimizer.iterations'"),
    ("iteration float", lambda r: replace(r, "optimizer_weights/iteration:0", 1e30), "expected an integer"),
    ("unknown slot", lambda r: add_slot(r, "bogus", np.zeros(3)), "holds 9 state arrays"),
    ("slot wrong size", lambda r: replace(r, "optimizer_weights/Adam/m/dense/kernel:0", np.zeros(3)), r"shape \(3,\) where Adam/m/dense/kernel:0 of shape \(12, 9\)"),
    ("no step count", lambda r: r["optimizer_weights"].attrs.__setitem__("weight_names", [b"Adam/m/dense/kernel:0"]), "step count"),
    ("slot name missing", lambda r: add_name(r, b"nope"), "weight_names"),
    # the flat layout of older tinynn files is still read, and checked
    ("old iterations -10", lambda r: old_layout(r, -10), "'optimizer.iterations'"),
    ("old iterations 1e30", lambda r: old_layout(r, 1e30), "'optimizer.iterations'"),
    ("kernel int", lambda r: (r["model_weights/dense/dense"].__delitem__("kernel:0"), r["model_weights/dense/dense"].create_dataset("kernel:0", data=np.zeros((12, 9), int))), "has dtype int64"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit, field", [c[1:] for c in H5_CASES], ids=[c[0] for c in H5_CASES]
)
def test_h5_malformed_is_one_value_error(tmp_path, edit, field):
    path = tmp_path / "m.h5"
    trained().save(path)
    h5_edit(path, edit)
    with damaged(path, field):
        tinynn.load_model(path)


# ---- temp files of a killed save --------------------------------------------------------
def test_temp_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "m.tnn"
    script = textwrap.dedent(
        f"""
        import os, signal, zipfile, tinynn
        model = tinynn.Sequential([tinynn.layers.Dense(300, input_shape=(400,))])
        original = zipfile.ZipFile.writestr
        def dying(self, name, data, *a, **k):
            original(self, name, data, *a, **k)
            if name.startswith("weights/0"):
                os.kill(os.getpid(), signal.SIGKILL)   # kill -9 mid-write
        zipfile.ZipFile.writestr = dying
        model.save({str(path)!r})
        """
    )
    # Outside the repository, so the installed tinynn is imported.
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=tmp_path
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    stale = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(stale) == 1 and stale[0].stat().st_size > 400 * 300 * 4
    # A save in progress elsewhere (this live process) must be left alone.
    live = (
        tmp_path / f".other.tnn.tinynn-{saving.common._HOST}-{os.getpid()}-abc123.tmp"
    )
    live.write_bytes(b"in progress")
    # So is one from another machine: its process id means nothing here.
    remote = tmp_path / ".other.tnn.tinynn-elsewhere-999999999-abc123.tmp"
    remote.write_bytes(b"in progress on another host")
    unrelated = tmp_path / ".keep.tmp"
    unrelated.write_bytes(b"not ours")
    make_model().save(tmp_path / "another.tnn")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["another.tnn", live.name, remote.name, unrelated.name])
