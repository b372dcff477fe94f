"""The import contract: dependencies point one way (DESIGN.md's layout), host code never
reaches the worker, the update policies or the registry, the checker loads no runtime module
when it is imported, there are no import cycles, and no module reads another module's private
names."""
from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pytest_hotupdate"

#: Every module of the runtime and its layer, lowest first: a module may import modules of its
#: own layer or lower ones, never a higher one. A module missing here fails the test (place it).
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("names",),
    ("values", "modes", "atomic"),
    ("oplog",),
    ("component", "component.load", "component.footprint", "component.wasm_tools",
     "component.shims"),
    ("snapshot",),
    ("component.bulk", "history"),
    ("durable",),
    ("host.sdk",),
    ("host.golem",),
    ("host", "host.sandbox", "host.wasi", "host.linker"),
    ("engine", "engine.ffi", "engine.runtime"),
    ("failures", "incarnation"),
    ("replay",),
    ("worker",),
    ("update", "replayer"),
    ("registry",),
    ("assertions", "strategies", "golem"),
    ("plugin",),
    ("",),  # the package's __init__: the public surface
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer_of(module: str) -> int:
    """The layer of a module: its own entry, else its package's (``values.wave.parse`` is in
    ``values``)."""
    name = module.removeprefix(PACKAGE).removeprefix(".")
    while True:
        for rank, members in enumerate(LAYERS):
            if name in members:
                return rank
        if not name:
            raise LookupError(module)
        name = name.rpartition(".")[0]


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports(module: str) -> Iterator[tuple[str, int]]:
    """``(imported project module, line)`` for every import in ``module``, at any depth
    (lazy and ``TYPE_CHECKING`` imports included)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield _existing(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                sub = f"{target}.{alias.name}"
                yield (sub if sub in MODULES else _existing(target)), node.lineno


def _existing(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def test_every_module_has_a_layer() -> None:
    missing = []
    for module in MODULES:
        try:
            _layer_of(module)
        except LookupError:
            missing.append(module)
    assert not missing, f"place these modules in LAYERS: {missing}"


def test_dependencies_point_down() -> None:
    upward = []
    for module in MODULES:
        for imported, line in _imports(module):
            if _layer_of(imported) > _layer_of(module):
                upward.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {imported}")
    assert not upward, "imports of a higher layer:\n" + "\n".join(upward)


def test_host_code_never_imports_the_worker_the_policies_or_the_registry() -> None:
    forbidden = {f"{PACKAGE}.{name}" for name in ("worker", "update", "registry", "replay",
                                                  "replayer", "assertions", "plugin")}
    found = [f"{module} imports {imported}" for module in MODULES
             if module.startswith(f"{PACKAGE}.host")
             for imported, _ in _imports(module) if imported in forbidden]
    assert not found


def test_there_are_no_import_cycles() -> None:
    graph = {m: {i for i, _ in _imports(m) if i != m} for m in MODULES}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)


def _loaded_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join("
                          "sorted(m for m in sys.modules if m.startswith('pytest_hotupdate'))))"],
                         capture_output=True, text=True, check=True, timeout=120, cwd=ROOT)
    return out.stdout.split()


def test_importing_the_worker_does_not_import_the_update_policies() -> None:
    loaded = _loaded_after("import pytest_hotupdate.worker")
    assert "pytest_hotupdate.worker" in loaded
    assert not {"pytest_hotupdate.update", "pytest_hotupdate.registry",
                "pytest_hotupdate.replayer"} & set(loaded)


def test_importing_host_code_does_not_import_the_worker() -> None:
    host = [m for m in MODULES if m.startswith(f"{PACKAGE}.host")]
    loaded = _loaded_after("\n".join(f"import {m}" for m in host))
    assert set(host) <= set(loaded)
    assert "pytest_hotupdate.worker" not in loaded


def test_the_checker_imports_no_runtime_module() -> None:
    checker = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
                     for p in (ROOT / "checker").rglob("*.py") if p.name != "__main__.py")
    loaded = _loaded_after("\n".join(f"import {m.removesuffix('.__init__')}" for m in checker))
    assert loaded == []


def test_the_public_surface_loads_lazily() -> None:
    assert _loaded_after("import pytest_hotupdate") == ["pytest_hotupdate"]
    import pytest_hotupdate

    for name in pytest_hotupdate.__all__:
        assert getattr(pytest_hotupdate, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        pytest_hotupdate.nothing  # noqa: B018


# -- private names ------------------------------------------------------------------------

def _private_definitions(tree: ast.AST) -> set[str]:
    """Private names a module defines: functions, classes, assignments and attributes it
    sets (``self._x = ...``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {n for n in names if _private(n)}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_reads_another_modules_private_names() -> None:
    trees = {m: ast.parse(p.read_text(encoding="utf-8")) for m, p in MODULES.items()}
    own = {m: _private_definitions(t) for m, t in trees.items()}
    everyone = set().union(*own.values())
    found = []
    for module, tree in trees.items():
        where = MODULES[module].relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "")
                                                     .startswith(PACKAGE)):
                found += [f"{where}:{node.lineno} imports {a.name}" for a in node.names
                          if _private(a.name)]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                    node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) > 1 \
                    and isinstance(node.args[1], ast.Constant) and \
                    isinstance(node.args[1].value, str) and _private(node.args[1].value):
                found.append(f"{where}:{node.lineno} {node.func.id}(..., {node.args[1].value!r})")
            elif isinstance(node, ast.Attribute) and _private(node.attr) and \
                    node.attr in everyone and node.attr not in own[module]:
                found.append(f"{where}:{node.lineno} reads .{node.attr}")
    assert not found, "\n".join(found)


def test_every_module_states_its_job() -> None:
    undocumented = [str(path.relative_to(ROOT)) for path in
                    [*MODULES.values(), *sorted((ROOT / "checker").rglob("*.py"))]
                    if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert not undocumented, f"modules without a docstring: {undocumented}"
