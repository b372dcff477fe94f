"""The project's WIT values, one import away: this package re-exports the public names of
:mod:`.types` (the WIT type model), :mod:`.native` (native Python values, their checks and
equality), :mod:`.convert` (wasmtime-py lowering and lifting) and :mod:`.wave` (WAVE text:
writer, parser, Rust-exact floats), so ``from pytest_hotupdate.values import ...`` names
everything. Inside the package the dependencies point one way: ``types`` <- ``native`` <-
``convert``, and ``types``/``native`` <- ``wave.*``.
"""

from .convert import from_valtype, func_signature, lifter, lowerer, validate
from .native import INT_RANGES, Err, Handle, Ok, Some, Variant, values_equal
from .types import (
    PRIM_KINDS,
    EnumType,
    FlagsType,
    HandleType,
    ListType,
    OptionType,
    Prim,
    RecordType,
    ResultType,
    TupleType,
    VariantType,
    WitType,
    parse_wit,
)
from .wave.decode import wave_parse, wave_parse_params
from .wave.encode import wave_encode, wave_encode_params
from .wave.floats import format_float

__all__ = [
    "PRIM_KINDS",
    "WitType",
    "Prim",
    "ListType",
    "TupleType",
    "RecordType",
    "VariantType",
    "EnumType",
    "FlagsType",
    "OptionType",
    "ResultType",
    "HandleType",
    "parse_wit",
    "from_valtype",
    "func_signature",
    "Variant",
    "Some",
    "Ok",
    "Err",
    "Handle",
    "lowerer",
    "lifter",
    "validate",
    "values_equal",
    "format_float",
    "wave_encode",
    "wave_parse",
    "wave_encode_params",
    "wave_parse_params",
    "INT_RANGES",
]
