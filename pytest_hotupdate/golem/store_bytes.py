"""``pytest_hotupdate.golem.store_bytes``: see :mod:`pytest_hotupdate.host.golem.store_bytes`."""

from ..host.golem.store_bytes import StoreBytes, store_bytes_of

__all__ = ["StoreBytes", "store_bytes_of"]
