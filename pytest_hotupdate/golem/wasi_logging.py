"""``pytest_hotupdate.golem.wasi_logging``: see :mod:`pytest_hotupdate.host.golem.wasi_logging`."""

from ..host.golem.wasi_logging import LogRecord, logs

__all__ = ["LogRecord", "logs"]
