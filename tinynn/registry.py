"""Classes by the name a saved file gives them: layers, optimizers, losses
and models. Each class registers itself where it is defined, so the saving
code never lists classes: a new optimizer decorated with
``@registry.register("optimizer")`` is saved and loaded in both file formats
without any change to tinynn.saving.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, TypeVar

KINDS = (
    "layer",
    "optimizer",
    "loss",
    "model",
    "schedule",
    "regularizer",
    "constraint",
)
_CLASSES: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}

T = TypeVar("T", bound=type)


def register(kind: str, name: str | None = None) -> Callable[[T], T]:
    """Class decorator: file configs name the class `name` (its own by default)."""
    if kind not in _CLASSES:
        raise ValueError(f"register: kind must be one of {KINDS}; got {kind!r}")

    def add(cls: T) -> T:
        _CLASSES[kind][name or cls.__name__] = cls
        return cls

    return add


def lookup(kind: str, name: Any) -> type | None:
    """The class registered under `name`, or None."""
    return _CLASSES[kind].get(name) if isinstance(name, str) else None


def names(kind: str) -> list[str]:
    """Registered names of one kind, sorted (for error messages)."""
    return sorted(_CLASSES[kind])


def constructor_arguments(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """The entries of `config` that name a parameter of `cls(...)` (Keras
    writes more keys than tinynn's classes take). **kwargs counts only for
    what it passes on: the named parameters of the base classes' __init__."""
    named: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        named.update(
            p.name
            for p in parameters
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return {k: v for k, v in config.items() if k in named}


def serialize(obj: Any) -> dict[str, Any] | None:
    """Keras's ``{"class_name": ..., "config": obj.get_config()}``, or None."""
    if obj is None:
        return None
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def deserialize(kind: str, config: dict[str, Any], where: str) -> Any:
    """The object a ``serialize`` dict describes, built with the class
    registered under its class_name (``from_config``)."""
    name = config.get("class_name")
    cls = lookup(kind, name)
    if cls is None:
        raise ValueError(
            f"{where}: unknown {kind} {name!r}; tinynn knows {names(kind)}"
        )
    return cls.from_config(dict(config.get("config") or {}))
