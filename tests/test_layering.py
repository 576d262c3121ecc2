"""The package's layering stays visible: no two modules of tinynn import each
other, directly or through others, even lazily inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import tinynn

PACKAGE = Path(tinynn.__file__).parent


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def names_defined_in(path: Path) -> set[str]:
    """Top-level names a package's __init__ binds itself (not submodules)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def imported_by_from(mods: dict[str, Path], source: str, aliases) -> list[str]:
    """What `from source import a, b` imports: the module `source` itself,
    or, from a package, each submodule (perhaps a compiled one) unless the
    package's __init__ binds that name itself."""
    init = mods.get(source)
    if init is None or init.name != "__init__.py":
        return [source]
    bound = names_defined_in(init)
    targets = []
    for alias in aliases:
        submodule = f"{source}.{alias.name}"
        in_package = submodule in mods or alias.name not in bound
        targets.append(submodule if in_package else source)
    return targets


def import_graph() -> dict[str, set[str]]:
    """module -> the tinynn modules it imports anywhere in its source."""
    mods = modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")
                if node.level:
                    base = base[: len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module
                targets = imported_by_from(mods, source, node.names)
            graph[name] |= {t for t in targets if t in mods and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_lazy_import_circle():
    graph = import_graph()
    # saving depends on no model class; a lazy `from ..models import
    # Sequential` inside saving would close a circle with models -> saving.
    graph["tinynn.saving.common"] = graph["tinynn.saving.common"] | {"tinynn.models"}
    assert any(
        {"tinynn.models", "tinynn.saving.common"} <= set(component)
        for component in cycles(graph)
    )


def in_package(modules, package: str) -> set[str]:
    """The modules of `modules` that are `package` or inside it."""
    return {m for m in modules if m == package or m.startswith(package + ".")}


def test_saving_imports_no_model_or_layer_module():
    graph = import_graph()
    saving = [name for name in graph if name.startswith("tinynn.saving")]
    for name in saving:
        assert not in_package(graph[name], "tinynn.models"), name
        assert not in_package(graph[name], "tinynn.layers"), name


def test_trainer_parameter_store_and_summary_know_no_model_class():
    graph = import_graph()
    for name in ("tinynn.training", "tinynn.parameters", "tinynn.summary"):
        assert name in graph, name
        assert not in_package(graph[name], "tinynn.models"), name
        assert not in_package(graph[name], "tinynn.layers"), name
    # The models package is what uses them.
    used_by_models = set().union(
        *(graph[m] for m in in_package(graph, "tinynn.models"))
    )
    assert {"tinynn.training", "tinynn.parameters", "tinynn.summary"} <= used_by_models


def test_symbolic_tensors_know_no_layer_or_model_module():
    graph = import_graph()
    assert not in_package(graph["tinynn.symbolic"], "tinynn.layers")
    assert not in_package(graph["tinynn.symbolic"], "tinynn.models")
