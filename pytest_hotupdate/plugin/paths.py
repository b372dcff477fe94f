"""Update paths: what ``@pytest.mark.hotupdate`` parametrises a test over (older revision ->
newer revision, per update mode), read from the marker's arguments and the suite's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..errors import UpdateError
from ..modes import normalise_mode
from .settings import HotUpdateConfig

__all__ = ["UpdatePath", "marker_paths"]

#: The named kinds of ``paths=`` the marker accepts (or a list of (source, target) pairs).
_PATH_KINDS = ("to-latest", "adjacent", "all")


@dataclass(frozen=True)
class UpdatePath:
    """One update path of a test marked ``@pytest.mark.hotupdate``: update a worker of
    ``component`` from revision ``source`` to revision ``target`` in ``mode``.

    The ``hotupdate`` fixture deploys ``revisions`` (revision ``i`` = ``revisions[i]``) before
    the test runs, so ``hotupdate.worker(path.component, revision=path.source)`` works at once.
    """

    #: The component's name.
    component: str
    #: The revision the worker starts on.
    source: int
    #: The revision it is updated to.
    target: int
    #: ``automatic`` or ``manual``.
    mode: str
    #: The component's revision files, oldest first.
    revisions: tuple[Path, ...] = field(default=(), repr=False, compare=False)

    @property
    def id(self) -> str:
        """The test id part: ``counter-0-to-2-manual``."""
        return f"{self.component}-{self.source}-to-{self.target}-{self.mode}"

    def __str__(self) -> str:
        return f"{self.component} {self.source} -> {self.target} ({self.mode})"


def marker_paths(metafunc: pytest.Metafunc, marker: pytest.Mark,
                 settings: HotUpdateConfig) -> list[UpdatePath]:
    """The update paths ``marker`` (on the test ``metafunc`` generates) asks for; fails the
    test's collection with a readable message when the marker is wrong."""
    where = f"@pytest.mark.hotupdate on {metafunc.definition.nodeid}"
    args, kwargs = list(marker.args), dict(marker.kwargs)
    component = kwargs.pop("component", args.pop(0) if args else None)
    kind = kwargs.pop("paths", "to-latest")
    modes = kwargs.pop("modes", None)
    revisions = kwargs.pop("revisions", None)
    if args or kwargs:
        extra = ", ".join([repr(a) for a in args] + list(kwargs))
        pytest.fail(f"{where}: unexpected arguments {extra} (takes component, paths=, modes=, "
                    "revisions=)", pytrace=False)
    if component is None:
        if len(settings.components) != 1:
            configured = ", ".join(settings.components) or "none"
            pytest.fail(f"{where}: name the component (configured: {configured})",
                        pytrace=False)
        component = next(iter(settings.components))
    if revisions is None:
        files = settings.revisions(component)
        if not files:
            pytest.fail(
                f"{where}: component {component!r} has no revisions: give revisions=[...] or "
                f"configure them (--hotupdate-component {component}=OLD.wasm,NEW.wasm or the "
                "hotupdate_components ini setting)", pytrace=False)
    else:
        base = Path(str(metafunc.definition.path)).parent
        files = tuple(Path(f) if Path(f).is_absolute() else base / f for f in revisions)
    count = len(files)
    if count < 2:
        pytest.fail(f"{where}: component {component!r} needs at least 2 revisions, has {count}",
                    pytrace=False)
    if isinstance(kind, str):
        if kind == "to-latest":
            pairs = [(s, count - 1) for s in range(count - 1)]
        elif kind == "adjacent":
            pairs = [(s, s + 1) for s in range(count - 1)]
        elif kind == "all":
            pairs = [(s, t) for s in range(count) for t in range(s + 1, count)]
        else:
            pytest.fail(f"{where}: paths={kind!r}: use one of {', '.join(_PATH_KINDS)} or a "
                        "list of (source, target) pairs", pytrace=False)
    else:
        pairs = [tuple(p) for p in kind]
        for pair in pairs:
            if (len(pair) != 2 or not all(isinstance(r, int) and 0 <= r < count for r in pair)
                    or pair[0] == pair[1]):
                pytest.fail(f"{where}: bad update path {pair!r}: two different revisions in "
                            f"0..{count - 1}", pytrace=False)
    chosen = settings.modes if modes is None else tuple(
        [modes] if isinstance(modes, str) else modes)
    normalised = []
    for mode in chosen:
        try:
            normalised.append(normalise_mode(mode))
        except UpdateError as error:
            pytest.fail(f"{where}: {error}", pytrace=False)
    return [UpdatePath(component, s, t, m, files) for s, t in pairs for m in normalised]
