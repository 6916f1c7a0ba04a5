"""The package's structure: no import cycle, no private field read or written across modules."""

from __future__ import annotations

import ast
from pathlib import Path

import streamfold

PACKAGE = Path(streamfold.__file__).resolve().parent
NAME = "streamfold"


def _modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name, parsed."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join((NAME, *parts))
        out[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return out


def _package_of(module: str, tree: ast.Module, modules: dict[str, ast.Module]) -> str:
    """The package a module's relative imports start from."""
    is_package = module == NAME or (module + ".__init__") in modules
    return module if is_package else module.rpartition(".")[0]


def _imports(module: str, tree: ast.Module, modules: dict[str, ast.Module]) -> set[str]:
    """The package's modules ``module`` imports anywhere: at the top, inside functions, and
    under ``TYPE_CHECKING`` alike."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == NAME or alias.name.startswith(NAME + "."):
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, tree, modules)
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target != NAME and not target.startswith(NAME + "."):
                continue
            names = [f"{target}.{alias.name}" for alias in node.names]
            submodules = [n for n in names if n in modules]
            found.update(submodules)
            if len(submodules) < len(names):  # a name defined in ``target`` itself
                found.add(target)
    found.discard(module)
    return {name for name in found if name in modules}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as the list of its modules (first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_the_structure_walker_finds_a_cycle() -> None:
    """The cycle finder reports a cycle of three modules and none in a chain."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_the_package_modules() -> None:
    """No module imports, even lazily or for type checking only, one that imports it back."""
    modules = _modules()
    graph = {name: _imports(name, tree, modules) for name, tree in modules.items()}
    assert graph["streamfold._fold"], "the import graph was not read"
    # the package's __init__ imports its modules to re-export them; they must not import it
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined(tree: ast.Module) -> set[str]:
    """The private names a module defines: module-level names, class attributes and methods,
    and attributes assigned on ``self`` (or ``cls``) or named in ``__slots__``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.rpartition(".")[2])
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets)
            and isinstance(node.value, (ast.Tuple, ast.List))
        ):
            names.update(
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and type(e.value) is str
            )
    return {name for name in names if _private(name)}


def _foreign_private_uses(tree: ast.Module) -> list[tuple[int, str]]:
    """Each ``x._name`` read or written where ``x`` is not ``self``/``cls`` and ``_name`` is
    not defined in the module, as (line, text)."""
    defined = _defined(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not _private(node.attr):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        if node.attr not in defined:
            out.append((node.lineno, ast.unparse(node)))
    return out


def test_the_private_field_finder_sees_a_foreign_field() -> None:
    """A private attribute of another module's object is reported; our own and self's are not."""
    tree = ast.parse(
        "class A:\n"
        "    def __init__(self):\n"
        "        self._mine = 1\n"
        "    def f(self, acc):\n"
        "        return acc._choices, other._mine, self._gone, acc.__dict__\n"
    )
    assert _foreign_private_uses(tree) == [(5, "acc._choices")]


def test_no_module_touches_another_modules_private_fields() -> None:
    """No module reads or writes ``x._name`` for a ``_name`` that another module defines."""
    found = [
        f"{name}:{line}: {text}"
        for name, tree in _modules().items()
        for line, text in _foreign_private_uses(tree)
    ]
    assert not found, "private fields used across modules:\n" + "\n".join(found)
