"""Who holds the bytes of the values in a registry's emulated stores, and each worker's budget.

The ``wasi:keyvalue`` buckets and ``wasi:blobstore`` containers of a registry are host memory
that a guest fills at will, so they count against the worker that filled them: each stored
value (a keyvalue value, a blob object) is attributed to the worker that wrote it last (set,
set-many, increment, compare-and-swap, write-data, the target of a copy or move), and a
worker's total, the sum of the sizes of the values attributed to it in every bucket and
container of its registry (value bytes only; keys and names are not counted), may not exceed
its ``WorkerLimits.memory_bytes``. A write that would exceed it raises
:class:`~pytest_hotupdate.errors.MemoryLimitExceeded` before anything is stored (the invocation
fails with kind ``memory`` and the call is not recorded). Overwriting or deleting a value gives
its bytes back to the worker it was attributed to; values put by the test itself
(:meth:`.wasi_blobstore.BlobStore.put`) belong to no worker.

Attribution changes only when a store operation runs live: on replay the operations are
answered from the oplog and never reach the store, so a recovery, a restart or an automatic
update keeps the worker's total. The values outlive a closed worker and stay attributed to its
name (worker names are unique in a registry).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import MemoryLimitExceeded
from ..sdk import registry_state

#: A stored value's place: ``("wasi:keyvalue", bucket, key)`` or
#: ``("wasi:blobstore", container, object)``.
Place = tuple[str, str, str]


class StoreBytes:
    """The owner and size of every attributed value of one registry's stores, thread-safe.

    The stores call it while holding their own lock (store lock, then this one, never the
    other way round).
    """

    def __init__(self) -> None:
        self._held: dict[Place, tuple[str, int]] = {}
        self._totals: dict[str, int] = {}
        self._lock = threading.Lock()

    def held_by(self, worker: str) -> int:
        """The bytes of the stored values attributed to the worker called ``worker``."""
        with self._lock:
            return self._totals.get(worker, 0)

    def charge(self, call: Any, writes: Mapping[Place, int],
               releasing: Iterable[Place] = ()) -> None:
        """Attribute the values about to be written at ``writes`` (place: size) to the calling
        worker, and give back those at ``releasing`` (a move's source), or raise
        MemoryLimitExceeded, changing nothing, if its total would exceed its limit."""
        worker, limit = call.worker.name, call.worker.limits.memory_bytes
        released = set(releasing)
        with self._lock:
            before = self._totals.get(worker, 0)
            freed = sum(size for place in released | set(writes)
                        for owner, size in [self._held.get(place, ("", 0))] if owner == worker)
            written = sum(writes.values())
            after = before - freed + written
            if after > limit and after > before:  # a write that shrinks the total always may
                raise MemoryLimitExceeded(
                    f"{call.name}: storing {written:,} bytes would make the values worker "
                    f"{worker!r} holds in the registry's stores {after:,} bytes (now "
                    f"{before:,}), more than its WorkerLimits.memory_bytes ({limit:,} bytes)")
            self._drop(released | set(writes))
            for place, size in writes.items():
                self._held[place] = (worker, size)
                self._totals[worker] = self._totals.get(worker, 0) + size

    def release(self, places: Iterable[Place]) -> None:
        """The values at ``places`` were deleted (or replaced by the test's own): give their
        bytes back to their owners."""
        with self._lock:
            self._drop(places)

    def _drop(self, places: Iterable[Place]) -> None:
        for place in places:
            owner, size = self._held.pop(place, ("", 0))
            if owner:
                self._totals[owner] -= size


def store_bytes_of(worker_or_registry: Any) -> StoreBytes:
    """The attribution of a registry's stored values (or of the registry of a worker)."""
    owner = getattr(worker_or_registry, "registry", None) or worker_or_registry
    return registry_state(owner, "store-bytes", StoreBytes)
