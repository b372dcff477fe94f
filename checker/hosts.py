"""What each host provides to a component's imports: ``golem`` (default), ``wasmcloud``, ``wasi``.

A :class:`HostProfile` answers :meth:`~HostProfile.lookup` for an imported interface with a
:class:`Support`: provided, provided only with new configuration (wasmCloud links), or not
provided at all, and a sentence to say so ("Golem does not provide acme:billing/ledger").
The lists follow the hosts' published worlds: Golem's worker executor (WASI 0.2 plus its own
`golem:*` packages, key-value and blob store), wasmCloud's host (built-in WASI and logging/config,
every other capability through a link), and a plain WASI 0.2 host such as ``wasmtime run``.
"""

from __future__ import annotations

import enum
import fnmatch
from dataclasses import dataclass

__all__ = ["HOSTS", "HostProfile", "Provision", "Status", "Support", "get_host"]


class Status(str, enum.Enum):
    PROVIDED = "provided"
    NEEDS_CONFIG = "needs-config"
    NOT_PROVIDED = "not-provided"


@dataclass(frozen=True)
class Support:
    """The answer for one import: its status and a sentence naming the host and the import."""

    status: Status
    note: str


@dataclass(frozen=True)
class Provision:
    """A group of interfaces a host provides.

    Attributes:
        pattern: ``fnmatch`` pattern over ``namespace:package/interface``.
        versions: version prefixes accepted (``("0.2.",)``); empty = any version.
        status: provided, or provided only with new configuration.
    """

    pattern: str
    versions: tuple[str, ...] = ()
    status: Status = Status.PROVIDED

    def matches(self, iface_id: str, version: str | None) -> bool:
        if not fnmatch.fnmatchcase(iface_id, self.pattern):
            return False
        if not self.versions:
            return True
        return version is not None and any(version.startswith(v) for v in self.versions)


@dataclass(frozen=True)
class HostProfile:
    """A host world: what it provides, and what it says about everything else.

    Attributes:
        name: the ``--host`` value.
        display: the host's name in messages.
        provisions: first match wins.
        otherwise: status of an interface matching no provision.
    """

    name: str
    display: str
    provisions: tuple[Provision, ...]
    otherwise: Status = Status.NOT_PROVIDED

    def lookup(self, iface_id: str, version: str | None) -> Support:
        """Whether (and how) this host provides the interface ``iface_id`` at ``version``."""
        qualified = f"{iface_id}@{version}" if version else iface_id
        status = self.otherwise
        for provision in self.provisions:
            if provision.matches(iface_id, version):
                status = provision.status
                break
        if status is Status.PROVIDED:
            note = f"{self.display} provides {qualified}"
        elif status is Status.NEEDS_CONFIG:
            if self.name == "wasmcloud":
                note = (f"wasmCloud needs a new link for {qualified} "
                        "(a full rollout, not a plain update)")
            else:
                note = f"{self.display} provides {qualified} only with new configuration"
        else:
            note = f"{self.display} does not provide {qualified}"
        return Support(status, note)


_WASI_P2 = ("0.2.",)
_WASI_CORE = tuple(
    Provision(f"wasi:{pkg}/*", _WASI_P2) for pkg in ("cli", "clocks", "random", "io")
)

GOLEM = HostProfile(
    "golem",
    "Golem",
    _WASI_CORE
    + (
        Provision("wasi:filesystem/*", _WASI_P2),
        Provision("wasi:sockets/*", _WASI_P2),
        Provision("wasi:http/*", _WASI_P2),
        Provision("wasi:logging/*"),
        Provision("wasi:keyvalue/*"),
        Provision("wasi:blobstore/*"),
        Provision("wasi:config/*"),
        Provision("golem:api/*"),
        Provision("golem:rpc/*"),
        Provision("golem:durability/*"),
        Provision("golem:agent/*"),
        Provision("golem:rdbms/*"),
    ),
)

WASMCLOUD = HostProfile(
    "wasmcloud",
    "wasmCloud",
    _WASI_CORE
    + (
        Provision("wasi:logging/*"),
        Provision("wasi:config/*"),
        Provision("wasi:http/types", _WASI_P2),
        Provision("wasmcloud:bus/*"),
        Provision("wasi:filesystem/*", status=Status.NOT_PROVIDED),
        Provision("wasi:sockets/*", status=Status.NOT_PROVIDED),
    ),
    otherwise=Status.NEEDS_CONFIG,  # any other capability: a link to a provider or component
)

WASI = HostProfile(
    "wasi",
    "A plain WASI 0.2 host",
    _WASI_CORE
    + (
        Provision("wasi:filesystem/*", _WASI_P2),
        Provision("wasi:sockets/*", _WASI_P2),
        Provision("wasi:http/*", _WASI_P2),
    ),
)

#: The profiles by ``--host`` name.
HOSTS: dict[str, HostProfile] = {h.name: h for h in (GOLEM, WASMCLOUD, WASI)}


def get_host(name: str) -> HostProfile:
    """The profile named ``name``; ``KeyError`` for an unknown one."""
    return HOSTS[name]
