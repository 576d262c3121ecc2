"""Fuzzing every loader (issue #20, case 5): whatever damage a file has, a
loader raises ValueError or OSError (naming the file), never a KeyError,
RecursionError, IndexError...

Each format gets random byte damage (flips, overwrites, truncation,
insertions) and structural edits of the JSON inside it (keys deleted,
values replaced by other types, deep nesting, huge documents), plus, for
the HDF5 formats, datasets and groups deleted or replaced. The fast suite
runs a few hundred cases; ``-m slow`` runs thousands. A failing case names
its seed, so it can be replayed alone.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from tinynn import layers, metrics
from tinynn.models import Sequential, model_from_json
from tinynn.keras.models import load_model

h5py = pytest.importorskip("h5py")

FAST_CASES = 40
SLOW_CASES = 600


def _model():
    model = Sequential(
        [
            layers.Dense(4, activation="relu", input_shape=(3,)),
            layers.BatchNormalization(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        metrics=["accuracy", metrics.AUC(curve="PR")],
    )
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    model.fit(x, np.arange(16) % 2, epochs=1, verbose=0)
    return model


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """The intact bytes of each format, written once."""
    folder = tmp_path_factory.mktemp("originals")
    model = _model()
    files = {}
    for kind, name in [
        ("keras", "m.keras"),
        ("native", "m.tinynn"),
        ("h5", "m.h5"),
    ]:
        model.save(folder / name)
        files[kind] = (folder / name).read_bytes()
    model.save_weights(folder / "m.weights.h5")
    files["weights_h5"] = (folder / "m.weights.h5").read_bytes()
    model.save_weights(folder / "w.tinynn")
    files["native_weights"] = (folder / "w.tinynn").read_bytes()
    files["json"] = model.to_json().encode()
    return files


SUFFIX = {
    "keras": "m.keras",
    "native": "m.tinynn",
    "h5": "m.h5",
    "weights_h5": "m.weights.h5",
    "native_weights": "w.tinynn",
}


def _load(kind: str, path, data: bytes):
    """Run the loader of `kind` on `data` (written to `path`)."""
    if kind == "json":
        return model_from_json(data.decode("utf-8", "replace"))
    path.write_bytes(data)
    if kind in ("weights_h5", "native_weights"):
        target = Sequential(
            [
                layers.Dense(4, activation="relu", input_shape=(3,)),
                layers.BatchNormalization(),
                layers.Dense(2, activation="softmax"),
            ]
        )
        return target.load_weights(path)
    return load_model(path)


def _check(kind: str, path, data: bytes, seed: int, what: str) -> None:
    try:
        _load(kind, path, data)
    except (ValueError, OSError):
        pass
    except Exception as exc:  # noqa: BLE001 (the point of the test)
        pytest.fail(f"{kind} case {seed} ({what}): {type(exc).__name__} escaped: {exc}")


# ---- random byte damage -------------------------------------------------------
def _damage_bytes(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    buf = bytearray(data)
    op = int(rng.integers(0, 5))
    if op == 0:  # flip a few bits
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(buf)))
            buf[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(buf), "bit flips"
    if op == 1:  # overwrite a run with random bytes
        start = int(rng.integers(0, len(buf)))
        length = int(rng.integers(1, 64))
        buf[start : start + length] = rng.integers(0, 256, length, np.uint8).tobytes()
        return bytes(buf), "overwrite"
    if op == 2:  # truncate
        return bytes(buf[: int(rng.integers(0, len(buf)))]), "truncated"
    if op == 3:  # insert random bytes
        at = int(rng.integers(0, len(buf)))
        extra = rng.integers(0, 256, int(rng.integers(1, 32)), np.uint8).tobytes()
        return bytes(buf[:at]) + extra + bytes(buf[at:]), "insertion"
    # zero a run (HDF5 addresses and sizes become 0)
    start = int(rng.integers(0, len(buf)))
    length = int(rng.integers(1, 16))
    buf[start : start + length] = bytes(min(length, len(buf) - start))
    return bytes(buf), "zeroed"


# ---- structural JSON edits -----------------------------------------------------
_REPLACEMENTS = [
    None,
    -1,
    0,
    2**70,
    1e308,
    -1e308,
    float("nan"),
    "",
    "x" * 50,
    True,
    [],
    {},
    [None],
    {"class_name": None},
    {"class_name": "Dense", "config": 5},
]


def _deep(levels: int, kind: str) -> object:
    value: object = 0
    for _ in range(levels):
        value = [value] if kind == "list" else {"a": value}
    return value


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


def _edit_json(document, rng: np.random.Generator) -> tuple[object, str]:
    """A copy of `document` with one structural edit somewhere."""
    document = json.loads(json.dumps(document))
    paths = list(_paths(document))
    path = paths[int(rng.integers(0, len(paths)))]
    op = int(rng.integers(0, 6))
    if op == 5 and rng.random() < 0.3:  # the whole document
        return _deep(int(rng.integers(150, 5000)), "list"), "deep document"
    if not path:
        return _REPLACEMENTS[int(rng.integers(0, len(_REPLACEMENTS)))], "root"
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if op == 0:
        del parent[key]
        return document, f"deleted {path}"
    if op in (1, 2):
        parent[key] = _REPLACEMENTS[int(rng.integers(0, len(_REPLACEMENTS)))]
        return document, f"replaced {path}"
    if op == 3:
        parent[key] = [parent[key]]
        return document, f"wrapped {path}"
    if op == 4:
        parent[key] = _deep(int(rng.integers(50, 3000)), "dict")
        return document, f"deep value at {path}"
    parent[key] = {"x": parent[key]} if rng.random() < 0.5 else str(parent[key])
    return document, f"retyped {path}"


def _dumps(document) -> bytes:
    try:
        return json.dumps(document).encode()
    except RecursionError:  # json.dumps itself cannot write it: build by hand
        return b"[" * 5000 + b"0" + b"]" * 5000


def _rezip(data: bytes, member: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as z:
        for info in source.infolist():
            z.writestr(
                info.filename,
                content if info.filename == member else source.read(info),
            )
    return out.getvalue()


def _json_case(kind: str, data: bytes, path, rng) -> tuple[bytes, str]:
    if kind == "json":
        document, what = _edit_json(json.loads(data), rng)
        return _dumps(document), what
    if kind in ("keras", "native", "native_weights"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.endswith(".json")]
            member = names[int(rng.integers(0, len(names)))]
            document = json.loads(archive.read(member))
        document, what = _edit_json(document, rng)
        return _rezip(data, member, _dumps(document)), f"{member}: {what}"
    # HDF5: a JSON attribute edited, or a dataset/group removed or replaced
    scratch = path.with_name("scratch.h5")
    scratch.write_bytes(data)
    with h5py.File(scratch, "r+") as root:
        attrs = [k for k in ("model_config", "training_config") if k in root.attrs]
        items = []
        root.visit(items.append)
        if attrs and rng.random() < 0.6:
            name = attrs[int(rng.integers(0, len(attrs)))]
            raw = root.attrs[name]
            document = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
            document, what = _edit_json(document, rng)
            root.attrs[name] = _dumps(document).decode()
            what = f"attribute {name}: {what}"
        else:
            item = items[int(rng.integers(0, len(items)))]
            if rng.random() < 0.5:
                del root[item]
                what = f"deleted {item}"
            else:
                del root[item]
                shape = tuple(
                    int(d) for d in rng.integers(0, 4, int(rng.integers(0, 3)))
                )
                dtype = [np.float32, np.float64, np.int8, "S3"][int(rng.integers(0, 4))]
                root.create_dataset(item, data=np.zeros(shape, dtype))
                what = f"replaced {item} by {dtype} {shape}"
            attr_names = list(root.attrs)
            if attr_names and rng.random() < 0.3:
                name = attr_names[int(rng.integers(0, len(attr_names)))]
                root.attrs[name] = [b"nope", b"x"][int(rng.integers(0, 2))]
                what += f", attribute {name} replaced"
    return scratch.read_bytes(), what


KINDS = ["keras", "native", "h5", "weights_h5", "native_weights", "json"]


def _run(kind, originals, tmp_path, cases, start):
    data = originals[kind]
    path = tmp_path / SUFFIX.get(kind, "unused")
    for seed in range(start, start + cases):
        rng = np.random.default_rng([20, seed, KINDS.index(kind)])
        if kind == "json" or seed % 2:
            damaged, what = _json_case(kind, data, path, rng)
        else:
            damaged, what = _damage_bytes(data, rng)
        _check(kind, path, damaged, seed, what)


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_files_raise_only_value_or_os_error(kind, originals, tmp_path):
    _run(kind, originals, tmp_path, FAST_CASES, 0)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_damaged_files_raise_only_value_or_os_error_many(kind, originals, tmp_path):
    _run(kind, originals, tmp_path, SLOW_CASES, 10_000)


@pytest.mark.parametrize("kind", KINDS)
def test_intact_files_load(kind, originals, tmp_path):
    _load(kind, tmp_path / SUFFIX.get(kind, "unused"), originals[kind])


@pytest.mark.parametrize("levels", [200, 100_000])
def test_deeply_nested_json_is_a_value_error(levels, originals, tmp_path):
    deep = b"[" * levels + b"]" * levels
    with pytest.raises(ValueError, match="nests deeper|not valid JSON"):
        model_from_json(deep.decode())
    for kind, member in [("keras", "config.json"), ("native", "tinynn.json")]:
        path = tmp_path / SUFFIX[kind]
        path.write_bytes(_rezip(originals[kind], member, deep))
        with pytest.raises(ValueError, match=str(path.name)):
            load_model(path)
    path = tmp_path / "m.h5"
    path.write_bytes(originals["h5"])
    with h5py.File(path, "r+") as root:
        root.attrs["model_config"] = deep.decode()
    with pytest.raises(ValueError, match="m.h5"):
        load_model(path)


def test_huge_json_is_refused_before_parsing():
    with pytest.raises(ValueError, match="at most"):
        model_from_json("[" + "0," * (9 * 2**20) + "0]")
