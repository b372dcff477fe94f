"""WAVE, the WebAssembly Value Encoding: native values as text and back.

:mod:`.encode` writes the canonical text (:func:`~.encode.wave_encode`), :mod:`.parse` lexes and
parses text into an untyped tree, :mod:`.decode` converts that tree to the native value of a WIT
type (:func:`~.decode.wave_parse`), and :mod:`.floats` formats and reads floats exactly as Rust
does. Project extension: resource handles, which WAVE cannot represent, are written
``handle(N)`` for ``own<R>`` and ``borrow<R>`` and read back as
:class:`~pytest_hotupdate.values.native.Handle` ``(N)``.
"""
