"""The old home of Golem's host interfaces, which now live in :mod:`pytest_hotupdate.host.golem`.

The two modules the README named before they moved stay importable from here:
``pytest_hotupdate.golem.wasi_logging`` (``logs``) and ``pytest_hotupdate.golem.store_bytes``
(``store_bytes_of``).
"""
