"""The sandbox: what a worker's guest may see of the host (:class:`SandboxGrants`), the WASI
context built from it, and the worker's private stream directory.

Nothing is granted by default: no host directories, environment variables, arguments, network or
outgoing HTTP. Granted directories are resolved and checked when the grants are made, so a bad
grant is refused with one line naming the path, never when the worker first runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import wasmtime

from ..component import LoadedComponent
from ..errors import GrantError, HotUpdateError, ResourceError


@dataclass(frozen=True)
class SandboxGrants:
    """What a worker may reach on the host. Everything is denied by default.

    Attributes:
        env: environment variables the guest sees (``wasi:cli/environment``, recorded).
        args: command-line arguments the guest sees.
        dirs: ``(host_path, guest_path, writable)`` directories to preopen.
        http: allow outgoing HTTP (``wasi:http/outgoing-handler``); otherwise requests are denied.
        network: allow sockets (``wasi:sockets``): refused with a clear error, as wasmtime-py
            50 cannot open WASI p2 sockets to a guest.
        config: the worker's configuration values (``wasi:config/store``, recorded).
        trap_unknown_imports: link every import that nothing provides to a function that fails
            the invocation calling it (naming the function), instead of refusing the component
            when the worker is created; the rest of the component can then be tested.
    """

    env: tuple[tuple[str, str], ...] = ()
    args: tuple[str, ...] = ()
    dirs: tuple[tuple[str, str, bool], ...] = ()
    http: bool = False
    network: bool = False
    config: tuple[tuple[str, str], ...] = ()
    trap_unknown_imports: bool = False

    def __post_init__(self) -> None:
        for host_path, guest_path, _writable in self.dirs:
            _check_grant_path(host_path, "host directory")
            _check_grant_path(guest_path, "guest path")
            if not os.path.isdir(host_path):
                what = "does not exist" if not os.path.lexists(host_path) else (
                    "is not a directory")
                raise GrantError(
                    f"cannot grant directory {host_path!r} (as {guest_path!r}): it {what}",
                    host_path)

    @classmethod
    def from_options(
        cls,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] | list[str] = (),
        dirs: Mapping[str, str] | None = None,
        http: bool = False,
        network: bool = False,
        config: Mapping[str, str] | None = None,
        trap_unknown_imports: bool = False,
    ) -> SandboxGrants:
        """Build grants from plain options (``dirs`` maps host path -> guest path, read-only).

        Each host directory is resolved (symbolic links followed) when the grant is made, so
        the worker gets the directory that was named, even if a link changes later.

        Raises:
            GrantError: a path with a NUL byte, or a host path that is not an existing directory.
        """
        return cls(
            env=tuple((env or {}).items()),
            args=tuple(args),
            dirs=tuple((_resolved(host), _checked(guest, "guest path"), False)
                       for host, guest in (dirs or {}).items()),
            http=http,
            network=network,
            config=config_items(config),
            trap_unknown_imports=trap_unknown_imports,
        )


def _check_grant_path(path: object, what: str) -> None:
    if not isinstance(path, str):
        raise GrantError(f"cannot grant directory: the {what} {path!r} is not a string")
    if "\0" in path:
        # wasmtime's C API takes NUL-terminated strings: "/srv/data\0/x" would grant /srv/data.
        raise GrantError(f"cannot grant directory: the {what} {path!r} contains a NUL byte", path)


def _checked(path: str, what: str) -> str:
    _check_grant_path(path, what)
    return path


def _resolved(host_path: str) -> str:
    path = os.fspath(host_path)
    _check_grant_path(path, "host directory")
    try:
        return os.path.realpath(path, strict=True)
    except OSError:
        return path  # __post_init__ names what is wrong with it


def config_items(config: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Configuration values as sorted ``(key, value)`` pairs; both must be strings."""
    items = []
    for key, value in (config or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"config values must map str to str, got {key!r}: {value!r}")
        items.append((key, value))
    return tuple(sorted(items))


def needs_stream_directory(component: LoadedComponent) -> bool:
    """Whether the component's Stores get a private stream directory (it imports a built-in
    function that hands the guest ``wasi:io`` streams; see :mod:`pytest_hotupdate.host.golem.wasi_io`)."""
    from .golem.wasi_io import needs_streams

    return needs_streams(component.imports)


def stream_directory(worker: Any) -> str:
    """The private stream directory of ``worker`` (a host path, removed with the worker)."""
    from .golem.wasi_io import stream_directory as directory_of

    return str(directory_of(worker))


def remove_stream_directory(worker: Any | None = None) -> None:
    """Remove ``worker``'s private stream directory, if it has one (its Stores closed first),
    and any whose removal failed before (``None``: only those)."""
    from .golem.wasi_io import remove_stream_directory as remove

    remove(worker)


def make_wasi_config(
    grants: SandboxGrants, stdout: Callable[[bytes], None], stderr: Callable[[bytes], None],
    streams: str | None = None,
) -> wasmtime.WasiConfig:
    """A WASI context that gives the guest nothing but what ``grants`` allows (and, with
    ``streams``, the emulator's private stream directory, which the guest cannot see).

    Raises :class:`ResourceError` if the stream directory cannot be opened (no descriptor
    left), :class:`HotUpdateError` for a grant that cannot be honoured."""
    config = wasmtime.WasiConfig()
    if streams is not None:
        from .golem.wasi_io import GUEST_PATH, why_unopenable

        try:
            config.preopen_dir(streams, GUEST_PATH, True)
        except wasmtime.WasmtimeError:
            raise ResourceError(f"cannot open its private stream directory: "
                                f"{why_unopenable(streams)}") from None
    if grants.env:
        config.env = [list(pair) for pair in grants.env]
    if grants.args:
        config.argv = list(grants.args)
    for host_path, guest_path, writable in grants.dirs:
        try:
            config.preopen_dir(host_path, guest_path, writable)
        except wasmtime.WasmtimeError:
            raise HotUpdateError(
                f"cannot grant directory {host_path} (as {guest_path}): not a readable directory"
            ) from None
    if grants.network:
        # wasmtime 50's C API passes these to WASI p2 for name lookup only: TCP connections are
        # still refused (the sandbox test checks both), so a network grant cannot be honoured.
        raise HotUpdateError(
            "a network grant is not supported: wasmtime-py 50 keeps WASI p2 sockets closed "
            "(outgoing HTTP can be granted with http=True)")
    config.stdout_custom = stdout
    config.stderr_custom = stderr
    return config
