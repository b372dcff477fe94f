"""The imports family: what the new revision needs from the host compared with the old one:
new imports the host may not provide (or only with new configuration), imports gone, and
imported functions added, removed or changed: recorded host calls must still line up."""

from __future__ import annotations

from collections.abc import Iterator

from ..hosts import Status
from ..model import Interface, signature_text
from ..pairs import function_pairs, interface_pairs
from .base import Change, Context, Rule, Severity, Verdict, iface_path, join
from .functions import same_signature

__all__ = ["RULES", "import_changes", "new_import"]


def import_changes(ctx: Context) -> Iterator[Change]:
    """Imported interfaces (and world-level function imports) added, removed, with a new
    version, or with functions added, removed or changed."""
    host = ctx.host
    for o, n in interface_pairs(ctx.old.imports, ctx.new.imports):
        if n is not None and o is None:
            path = iface_path("import", n)
            if n.id == "":
                for f in n.functions:
                    yield from new_import(ctx, join(path, f.label), f"function {f.item}", None)
                continue
            yield from new_import(ctx, path, n.qualified, n)
        elif o is not None and n is None:
            path = iface_path("import", o)
            if o.id == "":
                for f in o.functions:
                    yield Change(
                        "import-removed", join(path, f.label),
                        f"imported function {f.item} is gone: histories that recorded calls to "
                        "it diverge on replay",
                        signature_text(f), None,
                    )
                continue
            yield Change(
                "import-removed", path,
                f"import {o.qualified} is gone: histories that recorded calls to it diverge "
                "on replay",
                o.qualified, None,
            )
        elif o is not None and n is not None:
            path = iface_path("import", n)
            if o.version != n.version:
                support = host.lookup(n.id, n.version)
                if support.status is Status.NOT_PROVIDED:
                    yield Change(
                        "import-not-provided", path,
                        f"{support.note}: the new revision cannot be instantiated there",
                        o.qualified, n.qualified,
                    )
                else:
                    yield Change(
                        "import-version-changed", path,
                        f"import {o.id} changed version from {o.version or '(none)'} to "
                        f"{n.version or '(none)'}",
                        o.qualified, n.qualified,
                    )
                continue
            for fo, fn in function_pairs(o.functions, n.functions):
                fpath = join(path, (fo or fn).label)  # type: ignore[union-attr]
                if fo is None and fn is not None:
                    yield Change(
                        "import-function-added", fpath,
                        f"the new revision calls {n.qualified}.{{{fn.golem_name}}}: if old code "
                        "paths now call it, replay diverges",
                        None, signature_text(fn),
                    )
                elif fn is None and fo is not None:
                    yield Change(
                        "import-function-removed", fpath,
                        f"the new revision no longer imports {o.qualified}.{{{fo.golem_name}}}: "
                        "histories that recorded calls to it diverge",
                        signature_text(fo), None,
                    )
                elif fo is not None and fn is not None and not same_signature(ctx.deep, fo, fn):
                    yield Change(
                        "import-function-changed", fpath,
                        f"imported function {n.qualified}.{{{fn.golem_name}}} changed signature "
                        "without a version change: the host implements the old one",
                        signature_text(fo), signature_text(fn),
                    )


def new_import(
    ctx: Context, path: str, what: str, iface: Interface | None
) -> Iterator[Change]:
    """A new import at ``path`` (``iface`` ``None`` for a world-level function): provided by
    the host, provided only with new configuration, or not provided."""
    if iface is None:  # a world-level function import: only the embedder can provide it
        support_status, note = Status.NOT_PROVIDED, f"{ctx.host.display} does not provide {what}"
        if ctx.host.name == "wasmcloud":
            support_status = Status.NEEDS_CONFIG
            note = f"wasmCloud needs a new link for {what} (a full rollout, not a plain update)"
    else:
        support = ctx.host.lookup(iface.id, iface.version)
        support_status, note = support.status, support.note
    if support_status is Status.NOT_PROVIDED:
        yield Change(
            "import-not-provided", path,
            f"{note}: the new revision cannot be instantiated there", None, what,
        )
    elif support_status is Status.NEEDS_CONFIG:
        yield Change("import-needs-config", path, note, None, what)
    else:
        yield Change(
            "import-added", path,
            f"new import {what} ({note}): if old code paths now call it, replay meets host "
            "calls the oplog never recorded",
            None, what,
        )


RULES: tuple[Rule, ...] = (
    Rule(
        id="import-not-provided",
        severity=Severity.ERROR,
        family="imports",
        affects=(Verdict.AUTOMATIC, Verdict.MANUAL),
        breaks=(Verdict.AUTOMATIC, Verdict.MANUAL),
        summary="A new import that the target host does not provide.",
        explanation="The new revision cannot be instantiated on that host: neither an automatic nor a "
            "manual update can succeed (the worker stays on the old revision).",
        before="world w { }",
        after="world w { import acme:billing/ledger; }",
        check=new_import,
    ),
    Rule(
        id="import-needs-config",
        severity=Severity.WARNING,
        family="imports",
        affects=(Verdict.AUTOMATIC, Verdict.MANUAL),
        breaks=(),
        summary="A new import that the host provides only with new configuration.",
        explanation="On wasmCloud a new capability needs a new link (a full rollout, not a plain "
            "update); configure it before the update.",
        before="world w { }",
        after="world w { import wasi:keyvalue/store@0.2.0-draft; }",
        check=new_import,
    ),
    Rule(
        id="import-added",
        severity=Severity.WARNING,
        family="imports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A new import (provided by the host).",
        explanation="If code paths that old invocations take now call it, replay meets host calls the "
            "oplog never recorded and diverges; new code paths are fine.",
        before="world w { }",
        after="world w { import wasi:clocks/wall-clock@0.2.0; }",
        check=new_import,
    ),
    Rule(
        id="import-removed",
        severity=Severity.WARNING,
        family="imports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="An import is gone.",
        explanation="Histories that recorded calls to it now expect host calls the new code never makes: "
            "replay of those workers diverges.",
        before="world w { import wasi:random/random@0.2.0; }",
        after="world w { }",
        check=import_changes,
    ),
    Rule(
        id="import-function-added",
        severity=Severity.WARNING,
        family="imports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="An imported interface has a new function in use.",
        explanation="If old code paths now call it, replay meets unrecorded host calls and diverges.",
        before="interface oracle { ask: func(q: string) -> u64; }",
        after="interface oracle { ask: func(q: string) -> u64; hint: func() -> string; }",
        check=import_changes,
    ),
    Rule(
        id="import-function-removed",
        severity=Severity.WARNING,
        family="imports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="A function of an imported interface is no longer used.",
        explanation="Histories that recorded calls to it diverge on replay.",
        before="interface oracle { ask: func(q: string) -> u64; hint: func() -> string; }",
        after="interface oracle { ask: func(q: string) -> u64; }",
        check=import_changes,
    ),
    Rule(
        id="import-function-changed",
        severity=Severity.ERROR,
        family="imports",
        affects=(Verdict.AUTOMATIC, Verdict.MANUAL),
        breaks=(Verdict.AUTOMATIC, Verdict.MANUAL),
        summary="An imported function's signature changed (same interface and version).",
        explanation="The host implements the interface as it was: the new revision cannot link against "
            "it, and recorded host results no longer fit.",
        before="ask: func(q: string) -> u64;",
        after="ask: func(q: string, n: u32) -> u64;",
        check=import_changes,
    ),
    Rule(
        id="import-version-changed",
        severity=Severity.INFO,
        family="imports",
        affects=(Verdict.AUTOMATIC,),
        breaks=(),
        summary="An imported interface changed package version.",
        explanation="Hosts provide the versions they support side by side and record host calls by "
            "function name: usually harmless.",
        before="import wasi:clocks/wall-clock@0.2.0;",
        after="import wasi:clocks/wall-clock@0.2.3;",
        check=import_changes,
    ),
)
