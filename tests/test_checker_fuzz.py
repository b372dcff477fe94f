"""Fuzzing the static checker: the WIT JSON reader and the diff survive any input.

- :func:`checker.wit.world_from_json` on random JSON and on real ``wasm-tools component wit
  --json`` documents with keys dropped, values of the wrong type, indexes out of range or
  swapped: it returns a model or raises the checker's own :class:`~checker.errors.ToolError` /
  :class:`~checker.errors.InputError`, one line naming the source; every model it returns can be
  diffed.
- :func:`checker.diff.find_changes` on generated pairs of WIT models (interfaces, functions,
  params, records, variants, enums, flags, resources, aliases; renames, type changes, additions
  and removals), in both directions: it never raises and every finding has a known rule id, a
  severity, a non-empty one-line WIT path and its fingerprint; a world diffed against itself
  has no changes.

A short run is part of the default suite; the dedicated run uses 10,000 inputs per test:

    python -m pytest -m fuzz --hypothesis-profile=fuzz tests/test_checker_fuzz.py
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.api import Checker
from checker.config import Config, parse_config
from checker.diff import find_changes
from checker.errors import ConfigError, InputError, ToolError
from checker.findings import Finding, fingerprint
from checker.model import (
    PRIMITIVES,
    Case,
    Field,
    Function,
    FunctionKind,
    Handle,
    Interface,
    ListType,
    OptionType,
    OtherType,
    Param,
    Prim,
    Ref,
    ResultType,
    TupleType,
    Type,
    TypeDef,
    TypeKey,
    TypeKind,
    World,
)
from checker.rules import Severity, rule_ids
from checker.tool import wasm_tools_executable
from checker.wit import world_from_json
from sample_components.build import build

pytestmark = pytest.mark.fuzz

RULE_IDS = frozenset(rule_ids())
HOSTS = ("golem", "wasmcloud", "wasi")
SOURCE = "fuzz/input.wasm"

# Every named type kind, `use`, docs, a resource with a constructor, a method and a static
# function, handles, tuples, options, results, an inline import and a world-level export.
KINDS_WIT = """\
package fuzz:kinds@1.2.0;

/// Shapes and canvases.
interface shapes {
  /// A point.
  record point { x: s32, y: s32 }
  variant shape { circle(f64), square(point), empty }
  enum color { red, green, blue }
  flags perms { read, write }
  type points = list<point>;
  resource canvas {
    constructor(width: u32);
    /// Draws.
    draw: func(s: shape, c: option<color>) -> result<u32, string>;
    make: static func() -> canvas;
  }
  area: func(c: borrow<canvas>, p: tuple<point, perms>) -> points;
}

interface uses {
  use shapes.{point, color};
  nearest: func(ps: list<point>) -> option<color>;
}

world kinds {
  import clock: interface { now: func() -> u64; }
  export shapes;
  export uses;
  export tick: func(n: u8) -> result;
}
"""


def _wit_json(path: Path) -> dict[str, Any]:
    exe = wasm_tools_executable()
    assert exe is not None, "the checker's tests need wasm-tools"
    out = subprocess.run([exe, "component", "wit", "--json", str(path)], capture_output=True,
                         check=True, timeout=60).stdout
    doc: dict[str, Any] = json.loads(out)
    return doc


@functools.cache
def real_documents() -> tuple[tuple[str, bool, str], ...]:
    """(name, is_component, JSON text) of real wasm-tools outputs: two built samples' components
    and a WIT package with every kind of named type."""
    docs = [
        (f"{sample}-{rev}", True, json.dumps(_wit_json(build(sample, rev))))
        for sample, rev in (("counter", "v3"), ("dice", "v1"))
    ]
    with tempfile.TemporaryDirectory() as folder:
        wit = Path(folder) / "kinds.wit"
        wit.write_text(KINDS_WIT, encoding="utf-8")
        docs.append(("kinds-wit", False, json.dumps(_wit_json(wit))))
    return tuple(docs)


def check_findings(findings: list[Finding]) -> None:
    for f in findings:
        assert f.rule_id in RULE_IDS, f
        assert isinstance(f.severity, Severity), f
        assert isinstance(f.path, str) and f.path.strip() == f.path and f.path, f
        assert "\n" not in f.path and "\n" not in f.message and f.message, f
        assert f.fingerprint == fingerprint(f.rule_id, f.path), f


def diff_both_ways(old: World, new: World, host: str, *, well_formed: bool = True) -> None:
    """Diff in both directions (and each side against itself) and check every finding.

    A well-formed world (unique interface, function and member names, as WIT guarantees)
    diffed against itself has no changes; a mutated document the reader accepts need not be
    well-formed (two interfaces of the same name, say), so only the findings are checked."""
    for a, b in ((old, new), (new, old)):
        pair = Checker(host=host).compare(a, b)  # find_changes, then the verdicts
        check_findings(list(pair.findings))
        assert pair.automatic.value and pair.manual.value
    for w in (old, new):
        same = list(find_changes(w, w, host))
        check_findings(same)
        # An unsupported snapshot export is a property of the side, not a change.
        if well_formed:
            assert {f.rule_id for f in same} <= {"snapshot-export-unsupported"}, same


# --------------------------------------------------------------------------- (a) the JSON reader


_json_scalars = (
    st.none() | st.booleans() | st.integers(-3, 12) | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from(["", "u8", "string", "own", "record", "list", "root", "a:b/c@1.0.0",
                       "[method]x.y", "freestanding", "interface", "#0"])
    | st.text(max_size=8)
)
json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "kind", "type", "types", "id", "interface", "function",
                         "package", "owner", "fields", "cases", "flags", "ok", "err", "record",
                         "variant", "enum", "list", "option", "result", "tuple", "handle",
                         "own", "borrow", "method", "docs", "contents", "worlds", "exports",
                         "imports", "params", "result", "functions"]) | st.text(max_size=6),
        inner, max_size=4),
    max_leaves=10,
)
# Documents with the top-level keys wasm-tools prints and anything inside.
shaped_documents = st.fixed_dictionaries(
    {"worlds": json_values, "interfaces": json_values, "types": json_values,
     "packages": json_values})


def _nodes(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path below the root of a JSON document."""
    if path:
        yield path
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _nodes(value, (*path, index))


def _retyped(value: Any) -> Any:
    """The same information in another JSON type."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return int(value) if value.isdigit() else [value]
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


_JSON_OPS = st.sampled_from(["drop", "replace", "retype", "index", "swap", "duplicate"])


@st.composite
def mutated_documents(draw: st.DrawFn) -> tuple[str, bool, Any]:
    """A real wasm-tools document with one to four mutations."""
    name, is_component, text = draw(st.sampled_from(real_documents()))
    doc = json.loads(text)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_nodes(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        value = parent[key]
        op = draw(_JSON_OPS)
        if op == "drop":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(json_values)
        elif op == "retype":
            parent[key] = _retyped(value)
        elif op == "index":  # indexes out of range, negative, or another valid one
            size = len(doc.get("types", ())) if isinstance(doc.get("types"), list) else 3
            parent[key] = draw(st.sampled_from([-1, -100, size, size + 7, 2**31, 2**64])
                               | st.integers(0, max(size - 1, 0)))
        elif op == "swap":  # another node's value here (a type that refers to itself, ...)
            other = draw(st.sampled_from(paths))
            source: Any = doc
            for step in other:
                source = source[step]
            parent[key] = copy.deepcopy(source)
        elif isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
        else:
            parent[key] = [copy.deepcopy(value), copy.deepcopy(value)]
    return name, is_component, doc


@functools.cache
def _base_worlds() -> tuple[World, ...]:
    return tuple(world_of(json.loads(text), is_component)
                 for _, is_component, text in real_documents())


def world_of(doc: Any, is_component: bool = True, world: str | None = None) -> World:
    return world_from_json(doc, SOURCE, is_component=is_component, world=world)


def read_or_fail_cleanly(doc: Any, is_component: bool, world: str | None,
                         host: str) -> World | None:
    """The reader's contract: a usable model, or one line of its own error naming the source."""
    try:
        result = world_of(doc, is_component, world)
    except (ToolError, InputError) as error:
        message = str(error)
        assert "\n" not in message and message.startswith(f"{SOURCE}: "), message
        return None
    assert isinstance(result, World)
    for base in _base_worlds():
        diff_both_ways(base, result, host, well_formed=False)
    return result


def test_real_documents_are_read() -> None:
    for (name, is_component, text), w in zip(real_documents(), _base_worlds()):
        assert w.exports, name
        read_or_fail_cleanly(json.loads(text), is_component, None, "golem")
        for other in _base_worlds():
            diff_both_ways(w, other, "golem")  # real worlds are well-formed


_worlds_option = st.sampled_from([None, "root", "kinds", "nope"])


@given(doc=json_values | shaped_documents, is_component=st.booleans(), world=_worlds_option,
       host=st.sampled_from(HOSTS))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_reader_survives_random_json(doc: Any, is_component: bool, world: str | None,
                                     host: str) -> None:
    read_or_fail_cleanly(doc, is_component, world, host)


@given(mutated=mutated_documents(), world=_worlds_option, host=st.sampled_from(HOSTS))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_reader_survives_mutated_wasm_tools_json(
    mutated: tuple[str, bool, Any], world: str | None, host: str
) -> None:
    _, is_component, doc = mutated
    read_or_fail_cleanly(doc, is_component, world, host)


def test_reader_rejects_a_type_that_contains_itself() -> None:
    """Found by fuzzing: a record with a field of its own type (WIT has no recursive types)
    was accepted, and diffing it as an import recursed until RecursionError."""
    doc: dict[str, Any] = {
        "worlds": [{"name": "root", "imports": {"clock": {"interface": {"id": 0}}},
                    "exports": {}, "package": 0}],
        "interfaces": [{"name": "clock", "types": {"t": 0}, "package": 0,
                        "functions": {"now": {"name": "now", "kind": "freestanding",
                                              "params": [], "result": 0}}}],
        "types": [{"name": "t", "owner": {"interface": 0},
                   "kind": {"record": {"fields": [{"name": "next", "type": 1}]}}},
                  {"name": None, "owner": None, "kind": {"option": 0}}],
        "packages": [{"name": "a:b", "interfaces": {"clock": 0}, "worlds": {"root": 0}}],
    }
    with pytest.raises(ToolError, match=r"^fuzz/input.wasm: unexpected wasm-tools JSON "
                                        r"\(ValueError: type t contains itself\)$"):
        world_of(doc)
    doc["types"][1]["kind"] = {"option": "u8"}
    assert world_of(doc).imports[0].functions[0].name == "now"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d["worlds"][0].update(name=5), "TypeError: expected a name, got 5"),
        (lambda d: d["worlds"][0].pop("name"), "KeyError: 'name'"),
        (lambda d: d["worlds"][0].update(exports=[]),
         "AttributeError: 'list' object has no attribute 'items'"),
        (lambda d: d["interfaces"][0]["functions"]["get"].update(kind=7),
         "AttributeError: 'int' object has no attribute 'items'"),
        (lambda d: d["interfaces"][0]["functions"]["set"]["params"][0].update(name={}),
         "TypeError: expected a name, got {}"),
        (lambda d: d["types"][0].update(kind={"list": 0}), "RecursionError: maximum recursion"),
        (lambda d: d["interfaces"][0]["functions"]["get"].update(name=""),
         "TypeError: expected a name, got ''"),
        (lambda d: d["packages"][0].update(name="golem:counter\n"),
         "TypeError: expected a name, got 'golem:counter\\n'"),
    ],
)
def test_reader_errors_found_by_fuzzing(mutate: Callable[[dict[str, Any]], object],
                                        reason: str) -> None:
    """Found by fuzzing: these escaped as AttributeError, KeyError or RecursionError, or
    produced a model whose names were not strings (which the diff then tripped over) or were
    empty or held line breaks (findings with a blank or multi-line WIT path)."""
    doc = json.loads(real_documents()[0][2])  # counter v3
    mutate(doc)
    with pytest.raises(ToolError) as info:
        world_of(doc)
    assert str(info.value).startswith(f"{SOURCE}: unexpected wasm-tools JSON ({reason}")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- (b) the diff


# Small name pools, so that two generated sides share many names and pair up.
IFACE_IDS = ["golem:x/api", "golem:x/more", "acme:billing/ledger", "wasi:clocks/wall-clock",
             "wasi:keyvalue/store", "golem:api/save-snapshot", "golem:api/load-snapshot",
             "inline"]
VERSIONS = [None, "0.2.0", "0.2.3", "1.1.0", "1.5.0", "9.0.0"]
TYPE_NAMES = ["point", "shape", "color", "perms", "points", "canvas", "snapshot", "cart"]
FUNC_NAMES = ["get", "set", "add", "remove", "save", "load", "now", "roll"]
MEMBER_NAMES = ["x", "y", "red", "green", "payload", "mime-type", "self", "by", "value"]
DOCS = st.none() | st.sampled_from(["A doc.", "Another doc.", "  A doc.  "])
PRIM_NAMES = sorted(PRIMITIVES) + ["u128"]  # and one the checker does not know

_BYTES = ListType(Prim("u8"))
_LOAD_RESULT = ResultType(None, Prim("string"))


# Strategies built once (building them per draw costs more than the diff itself).
_PRIMS = st.sampled_from(PRIM_NAMES)
_OTHER_KINDS = st.sampled_from(["stream", "future"])
_KINDS = st.sampled_from(list(TypeKind))
_VERSIONS = st.sampled_from(VERSIONS)
_TYPE_NAMES = st.sampled_from(TYPE_NAMES)
_MEMBER_NAMES = st.sampled_from(MEMBER_NAMES)
_IFACE_IDS = st.sampled_from(IFACE_IDS)
_FUNC_NAMES = st.sampled_from(FUNC_NAMES)
_MEMBER_LISTS = st.lists(_MEMBER_NAMES, unique=True, max_size=4)
_PARAM_LISTS = st.lists(_MEMBER_NAMES, unique=True, max_size=3)
_FUNC_LISTS = st.lists(_FUNC_NAMES, unique=True, max_size=3)
_METHOD_LISTS = st.lists(_FUNC_NAMES, unique=True, max_size=2)
_IFACE_LISTS = st.lists(_IFACE_IDS, unique=True, max_size=5)
_TYPE_LISTS = st.lists(_TYPE_NAMES, unique=True, max_size=3)
_SHAPES = st.integers(0, 11)
_LEAVES = st.integers(0, 3)
_MODES = st.sampled_from(["own", "borrow"])


def _draw_type(draw: st.DrawFn, refs: list[TypeKey], resources: list[TypeKey],
               depth: int) -> Type:
    # Plain draws rather than st.recursive: a strategy is built per world, and building and
    # validating recursive strategies costs more than the diff itself.
    shape = draw(_SHAPES if depth else _LEAVES)
    if shape == 1:
        return _BYTES
    if shape in (2, 10, 11) and refs:
        return Ref(refs[draw(st.integers(0, len(refs) - 1))])
    if shape == 3 and resources:
        return Handle(draw(_MODES), resources[draw(st.integers(0, len(resources) - 1))])
    if shape == 4:
        return ListType(_draw_type(draw, refs, resources, depth - 1))
    if shape == 5:
        return OptionType(_draw_type(draw, refs, resources, depth - 1))
    if shape == 6:
        ok, err = (None if draw(st.booleans()) else _draw_type(draw, refs, resources, depth - 1)
                   for _ in range(2))
        return ResultType(ok, err)
    if shape == 7:
        return TupleType(tuple(_draw_type(draw, refs, resources, depth - 1)
                               for _ in range(draw(st.integers(1, 3)))))
    if shape == 8:
        return OtherType(draw(_OTHER_KINDS), tuple(
            _draw_type(draw, refs, resources, depth - 1) for _ in range(draw(st.integers(0, 1)))))
    return Prim(draw(_PRIMS))


@st.composite
def types(draw: st.DrawFn, refs: list[TypeKey], resources: list[TypeKey]) -> Type:
    """Types that may refer to the named types ``refs`` and the resources ``resources``."""
    return _draw_type(draw, refs, resources, 2)


@st.composite
def optional_types(draw: st.DrawFn, refs: list[TypeKey],
                   resources: list[TypeKey]) -> Type | None:
    return None if draw(st.booleans()) else _draw_type(draw, refs, resources, 2)


def _members(draw: st.DrawFn, element: Callable[[str], Any]) -> tuple[Any, ...]:
    names = draw(_MEMBER_LISTS)
    return tuple(element(n) for n in names)


@st.composite
def typedefs(draw: st.DrawFn, key: TypeKey, refs: list[TypeKey],
             resources: list[TypeKey]) -> TypeDef:
    kind = draw(_KINDS)
    inner, opt = types(refs, resources), optional_types(refs, resources)
    docs = draw(DOCS)
    if kind is TypeKind.RECORD:
        if key.name == "snapshot" and draw(st.booleans()):  # golem:api@1.5.0's record
            fields = (Field("payload", _BYTES), Field("mime-type", Prim("string")))
        else:
            fields = _members(draw, lambda n: Field(n, draw(inner), draw(DOCS)))
        return TypeDef(key, kind, fields=fields, docs=docs)
    if kind is TypeKind.VARIANT:
        cases = _members(draw, lambda n: Case(n, draw(opt), draw(DOCS)))
        return TypeDef(key, kind, cases=cases, docs=docs)
    if kind in (TypeKind.ENUM, TypeKind.FLAGS):
        return TypeDef(key, kind, cases=_members(draw, lambda n: Case(n, None, draw(DOCS))),
                       docs=docs)
    if kind is TypeKind.RESOURCE:
        return TypeDef(key, kind, docs=docs)
    return TypeDef(key, kind, target=draw(inner), docs=docs)


def _params(draw: st.DrawFn, inner: st.SearchStrategy[Type]) -> tuple[Param, ...]:
    names = draw(_PARAM_LISTS)
    return tuple(Param(n, draw(inner)) for n in names if n != "self")


@st.composite
def functions(draw: st.DrawFn, iface: Interface, world_types: dict[TypeKey, TypeDef],
              resources: list[TypeKey]) -> tuple[Function, ...]:
    refs = list(world_types)
    inner, opt = types(refs, resources), optional_types(refs, resources)
    out: list[Function] = []
    if iface.id == "golem:api/save-snapshot" and draw(st.booleans()):
        snap = [k for k in refs if k.name == "snapshot"]
        result = Ref(snap[0]) if snap and iface.version == "1.5.0" else _BYTES
        out.append(Function("save", FunctionKind.FREESTANDING, "save", (), result))
    elif iface.id == "golem:api/load-snapshot" and draw(st.booleans()):
        snap = [k for k in refs if k.name == "snapshot"]
        payload = Ref(snap[0]) if snap and iface.version == "1.5.0" else _BYTES
        out.append(Function("load", FunctionKind.FREESTANDING, "load",
                            (Param("bytes", payload),), _LOAD_RESULT))
    for name in draw(_FUNC_LISTS):
        if any(f.name == name for f in out):
            continue
        out.append(Function(name, FunctionKind.FREESTANDING, name, _params(draw, inner),
                            draw(opt), is_async=draw(st.booleans()),
                            docs=draw(DOCS)))
    own = [k for k in iface.types if world_types[k].kind is TypeKind.RESOURCE]
    for res in own:
        if draw(st.booleans()):
            out.append(Function(f"[constructor]{res.name}", FunctionKind.CONSTRUCTOR, "new",
                                _params(draw, inner), Handle("own", res), res.name))
        for item in draw(_METHOD_LISTS):
            if draw(st.booleans()):
                params = (Param("self", Handle("borrow", res)), *_params(draw, inner))
                out.append(Function(f"[method]{res.name}.{item}", FunctionKind.METHOD, item,
                                    params, draw(opt), res.name,
                                    docs=draw(DOCS)))
            else:
                out.append(Function(f"[static]{res.name}.{item}", FunctionKind.STATIC, item,
                                    _params(draw, inner), draw(opt), res.name))
    return tuple(out)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A world: exported and imported interfaces (ids unique across both), world-level
    functions, and named types that refer only to types defined before them."""
    ids = draw(_IFACE_LISTS)
    split = draw(st.integers(0, len(ids)))
    world_types: dict[TypeKey, TypeDef] = {}
    resources: list[TypeKey] = []
    shells: list[tuple[str, Interface]] = []
    for index, iface_id in enumerate(ids):
        version = None if iface_id == "inline" else draw(_VERSIONS)
        keys = []
        for name in draw(_TYPE_LISTS):
            key = TypeKey(iface_id, name, version)
            td = draw(typedefs(key, list(world_types), resources))
            world_types[key] = td
            keys.append(key)
            if td.kind is TypeKind.RESOURCE:
                resources.append(key)
        direction = "export" if index < split else "import"
        shells.append((direction, Interface(iface_id, version, (), tuple(keys), draw(DOCS))))
    exports: list[Interface] = []
    imports: list[Interface] = []
    for direction, shell in shells:
        funcs = draw(functions(shell, world_types, resources))
        (exports if direction == "export" else imports).append(
            dataclasses.replace(shell, functions=funcs))
    for side in (exports, imports):
        if draw(st.booleans()):  # world-level functions: the interface with id ""
            funcs = draw(functions(Interface("", None), world_types, resources))
            if funcs:
                side.insert(0, Interface("", None, funcs))
    return World(SOURCE, "root", tuple(exports), tuple(imports), world_types,
                 is_component=draw(st.booleans()))


# -- mutations of a world into a related one (what a new revision does to an old one)


def _map_type(ty: Type | None, fn: Callable[[Type], Type | None]) -> Type | None:
    """Apply ``fn`` to ``ty`` and to every type inside it (bottom-up)."""
    if ty is None:
        return None
    if isinstance(ty, ListType):
        ty = ListType(_map_type(ty.element, fn) or Prim("u8"))
    elif isinstance(ty, OptionType):
        ty = OptionType(_map_type(ty.inner, fn) or Prim("u8"))
    elif isinstance(ty, ResultType):
        ty = ResultType(_map_type(ty.ok, fn), _map_type(ty.err, fn))
    elif isinstance(ty, TupleType):
        ty = TupleType(tuple(_map_type(t, fn) or Prim("u8") for t in ty.items))
    elif isinstance(ty, OtherType):
        ty = OtherType(ty.kind, tuple(_map_type(t, fn) or Prim("u8") for t in ty.args))
    return fn(ty)


def _retype_world(w: World, fn: Callable[[Type], Type | None]) -> World:
    """``fn`` applied to every type of every signature and named type."""
    def func(f: Function) -> Function:
        params = tuple(Param(p.name, _map_type(p.type, fn) or p.type) for p in f.params)
        return dataclasses.replace(f, params=params, result=_map_type(f.result, fn))

    def iface(i: Interface) -> Interface:
        return dataclasses.replace(i, functions=tuple(func(f) for f in i.functions))

    def typedef(td: TypeDef) -> TypeDef:
        return dataclasses.replace(
            td,
            fields=tuple(dataclasses.replace(f, type=_map_type(f.type, fn) or f.type)
                         for f in td.fields),
            cases=tuple(dataclasses.replace(c, type=_map_type(c.type, fn)) for c in td.cases),
            target=_map_type(td.target, fn),
        )

    return dataclasses.replace(
        w, exports=tuple(iface(i) for i in w.exports), imports=tuple(iface(i) for i in w.imports),
        types={k: typedef(td) for k, td in w.types.items()})


def _exported_types(w: World) -> list[TypeKey]:
    """The named types reachable from exported functions."""
    found: list[TypeKey] = []
    todo: list[Type | None] = [t for i in w.exports for f in i.functions
                               for t in (f.result, *(p.type for p in f.params))]

    def visit(t: Type) -> Type:
        if isinstance(t, Ref) and t.key not in found and t.key in w.types:
            found.append(t.key)
            td = w.types[t.key]
            todo.append(td.target)
            todo.extend(f.type for f in td.fields)
            todo.extend(c.type for c in td.cases)
        return t

    while todo:
        _map_type(todo.pop(), visit)
    return found


_NUMBERS = st.sampled_from(["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64"])


def _other_type(draw: st.DrawFn, ty: Type | None, inner: st.SearchStrategy[Type]) -> Type:
    """A new type, or ``ty`` with its numbers of other widths (widened, narrowed, changed)."""
    if ty is None or draw(st.booleans()):
        return draw(inner)
    return _map_type(ty, lambda t: Prim(draw(_NUMBERS)) if isinstance(t, Prim) else t) or ty


def _with_interface(w: World, direction: str, index: int, new: Interface | None) -> World:
    side = list(w.exports if direction == "export" else w.imports)
    if new is None:
        del side[index]
    else:
        side[index] = new
    if direction == "export":
        return dataclasses.replace(w, exports=tuple(side))
    return dataclasses.replace(w, imports=tuple(side))


def _shuffle(draw: st.DrawFn, items: list[Any]) -> list[Any]:
    return list(draw(st.permutations(items))) if items else items


TYPE_OPS = ["rename-member", "add-member", "remove-member", "reorder-members", "member-type",
            "type-kind", "type-docs", "rename-type"]
INTERFACE_OPS = ["rename-interface", "version", "remove-interface", "interface-docs"]
FUNCTION_OPS = ["rename-function", "remove-function", "rename-param", "reorder-params",
                "add-param", "remove-param", "param-type", "result-type"]
WORLD_OPS = ["prim", "component"]
_OPS = st.sampled_from(TYPE_OPS + INTERFACE_OPS + FUNCTION_OPS + WORLD_OPS)


def _rename_type(draw: st.DrawFn, w: World, key: TypeKey) -> World:
    """``key`` renamed, everywhere it is used."""
    to = dataclasses.replace(key, name=draw(_TYPE_NAMES))
    if to in w.types:
        return w

    def rekey(t: Type) -> Type:
        if isinstance(t, Ref) and t.key == key:
            return Ref(to)
        if isinstance(t, Handle) and t.resource == key:
            return Handle(t.mode, to)
        return t

    def owned(i: Interface) -> Interface:
        return dataclasses.replace(i, types=tuple(to if k == key else k for k in i.types))

    w = _retype_world(w, rekey)
    renamed = {(to if k == key else k): dataclasses.replace(td, key=to if k == key else k)
               for k, td in w.types.items()}
    return dataclasses.replace(w, types=renamed, exports=tuple(map(owned, w.exports)),
                               imports=tuple(map(owned, w.imports)))


def _mutate_type(draw: st.DrawFn, w: World, op: str) -> World:
    """A change to one named type (preferably one the exports use)."""
    order = list(w.types)
    used = _exported_types(w)  # the types the diff looks at
    prefer_used = bool(used) and draw(st.booleans())
    key = draw(st.sampled_from(used if prefer_used else order))
    if op == "rename-type":
        return _rename_type(draw, w, key)
    td = w.types[key]
    earlier = order[:order.index(key)]  # refer only to earlier types: no cycles
    resources = [k for k, d in w.types.items() if d.kind is TypeKind.RESOURCE]
    inner, opt = types(earlier, resources), optional_types(earlier, resources)
    if op == "type-docs":
        td = dataclasses.replace(td, docs=draw(DOCS))
    elif op == "type-kind":
        td = draw(typedefs(key, earlier, resources))
    elif op == "member-type" and td.kind is TypeKind.ALIAS:
        td = dataclasses.replace(td, target=_other_type(draw, td.target, inner))
    elif td.kind is TypeKind.RECORD:
        fields = list(td.fields)
        names = {f.name for f in fields}
        name = draw(_MEMBER_NAMES)
        if op == "add-member" and name not in names:
            ty = draw(inner)
            fields.insert(draw(st.integers(0, len(fields))),
                          Field(name, OptionType(ty) if draw(st.booleans()) else ty))
        elif op == "reorder-members":
            fields = _shuffle(draw, fields)
        elif fields:
            i = draw(st.integers(0, len(fields) - 1))
            if op == "remove-member":
                del fields[i]
            elif op == "rename-member" and name not in names:
                fields[i] = dataclasses.replace(fields[i], name=name)
            elif op == "member-type":
                fields[i] = dataclasses.replace(
                    fields[i], type=_other_type(draw, fields[i].type, inner))
        td = dataclasses.replace(td, fields=tuple(fields))
    elif td.kind in (TypeKind.VARIANT, TypeKind.ENUM, TypeKind.FLAGS):
        cases = list(td.cases)
        names = {c.name for c in cases}
        name = draw(_MEMBER_NAMES)
        payload = td.kind is TypeKind.VARIANT
        if op == "add-member" and name not in names:
            cases.insert(draw(st.integers(0, len(cases))),
                         Case(name, draw(opt) if payload else None))
        elif op == "reorder-members":
            cases = _shuffle(draw, cases)
        elif cases:
            i = draw(st.integers(0, len(cases) - 1))
            if op == "remove-member":
                del cases[i]
            elif op == "rename-member" and name not in names:
                cases[i] = dataclasses.replace(cases[i], name=name)
            elif op == "member-type" and payload:
                cases[i] = dataclasses.replace(
                    cases[i], type=_other_type(draw, cases[i].type, inner))
        td = dataclasses.replace(td, cases=tuple(cases))
    return dataclasses.replace(w, types={**w.types, key: td})


def _mutate_interface(draw: st.DrawFn, w: World, op: str) -> World:
    """A change to one interface, or to one of its functions."""
    choices = [("export", i, x) for i, x in enumerate(w.exports)]
    choices += [("import", i, x) for i, x in enumerate(w.imports)]
    if not choices:
        return w
    direction, index, iface = draw(st.sampled_from(choices))
    if op == "remove-interface":
        return _with_interface(w, direction, index, None)
    if op == "rename-interface":
        to = draw(_IFACE_IDS)
        if not iface.id or any(i.id == to for i in (*w.exports, *w.imports)):
            return w
        return _with_interface(w, direction, index, dataclasses.replace(iface, id=to))
    if op == "version":
        version = draw(_VERSIONS)
        return _with_interface(w, direction, index, dataclasses.replace(iface, version=version))
    if op == "interface-docs":
        return _with_interface(w, direction, index, dataclasses.replace(iface, docs=draw(DOCS)))
    if not iface.functions:
        return w
    funcs = list(iface.functions)
    i = draw(st.integers(0, len(funcs) - 1))
    f = funcs[i]
    resources = [k for k, d in w.types.items() if d.kind is TypeKind.RESOURCE]
    inner, opt = types(list(w.types), resources), optional_types(list(w.types), resources)
    params = list(f.params)
    first = 1 if f.kind is FunctionKind.METHOD else 0  # keep a method's `self`
    name = draw(_MEMBER_NAMES)
    fresh = name != "self" and name not in {p.name for p in params}
    if op == "remove-function":
        del funcs[i]
    elif op == "rename-function":
        item = draw(_FUNC_NAMES)
        new_name = item if f.resource is None else f"{f.name.split(']')[0]}]{f.resource}.{item}"
        if f.kind is not FunctionKind.CONSTRUCTOR and new_name not in {g.name for g in funcs}:
            funcs[i] = dataclasses.replace(f, name=new_name, item=item)
    elif op == "result-type":
        result = _other_type(draw, f.result, inner) if draw(st.booleans()) else draw(opt)
        funcs[i] = dataclasses.replace(f, result=result)
    else:
        if op == "reorder-params":
            params[first:] = _shuffle(draw, params[first:])
        elif op == "add-param" and fresh:
            params.insert(draw(st.integers(first, len(params))), Param(name, draw(inner)))
        elif len(params) > first:
            j = draw(st.integers(first, len(params) - 1))
            if op == "remove-param":
                del params[j]
            elif op == "rename-param" and fresh:
                params[j] = Param(name, params[j].type)
            elif op == "param-type":
                params[j] = Param(params[j].name, _other_type(draw, params[j].type, inner))
        funcs[i] = dataclasses.replace(f, params=tuple(params))
    return _with_interface(w, direction, index, dataclasses.replace(iface, functions=tuple(funcs)))


@st.composite
def mutated(draw: st.DrawFn, w: World) -> World:
    """``w`` with one change a new revision might make."""
    op = draw(_OPS)
    if op == "component":
        return dataclasses.replace(w, is_component=not w.is_component)
    if op == "prim":  # widen, narrow or change one primitive type everywhere
        old, new = draw(_PRIMS), draw(_PRIMS)
        return _retype_world(w, lambda t: Prim(new) if t == Prim(old) else t)
    if op in TYPE_OPS:
        return _mutate_type(draw, w, op) if w.types else w
    return _mutate_interface(draw, w, op)


@st.composite
def related_pairs(draw: st.DrawFn) -> tuple[World, World]:
    """An old world and a new one made from it by one to five changes."""
    old = draw(worlds())
    new = old
    for _ in range(draw(st.integers(1, 5))):
        new = draw(mutated(new))
    return old, new


@given(pair=related_pairs(), host=st.sampled_from(HOSTS))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_diff_of_related_worlds(pair: tuple[World, World], host: str) -> None:
    diff_both_ways(*pair, host)


@given(old=worlds(), new=worlds(), host=st.sampled_from(HOSTS))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_diff_of_unrelated_worlds(old: World, new: World, host: str) -> None:
    diff_both_ways(old, new, host)


# --------------------------------------------------------------------------- configuration


_config_keys = st.sampled_from(["host", "fail-on", "severity", "ignore-rules", "ignore"])
_config_values = json_values | st.sampled_from(
    ["golem", "wasi", "error", "warning", "info", "never", "doc-changed", "import-added"]) | (
    st.dictionaries(st.sampled_from(["doc-changed", "import-added", "no-such-rule"]),
                    st.sampled_from(["error", "warning", "info", "fatal"]) | json_values,
                    max_size=2)) | st.lists(
    st.fixed_dictionaries({}, optional={"fingerprint": json_values, "reason": json_values,
                                        "extra": json_values}), max_size=2)


@given(table=st.dictionaries(_config_keys | st.text(max_size=6), _config_values, max_size=4))
def test_configuration_tables_raise_only_config_errors(table: dict[str, Any]) -> None:
    """Found by fuzzing: ``host = ["golem"]`` escaped as TypeError (unhashable list)."""
    try:
        config = parse_config(table, "fuzz/pyproject.toml")
    except ConfigError as error:
        message = str(error)
        assert "\n" not in message and message.startswith("fuzz/pyproject.toml: "), message
        return
    assert isinstance(config, Config)
    assert set(config.ignore_rules) <= RULE_IDS and set(config.severities) <= RULE_IDS
