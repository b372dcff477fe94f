"""golem:kinds v1: one echo function per WIT value kind (componentize-py).

Each function returns its argument unchanged. `result` parameters arrive as
`Ok(v)` / `Err(e)` and are returned the componentize-py way: `ok` by returning the
payload, `err` by raising `Err(payload)`.
"""
from wit_world import exports
from componentize_py_types import Err, Ok


def echo_result(x):
    if isinstance(x, Ok):
        return x.value
    raise Err(x.value)


class Api(exports.Api):
    def echo_bool(self, x):
        return x

    def echo_s8(self, x):
        return x

    def echo_s16(self, x):
        return x

    def echo_s32(self, x):
        return x

    def echo_s64(self, x):
        return x

    def echo_u8(self, x):
        return x

    def echo_u16(self, x):
        return x

    def echo_u32(self, x):
        return x

    def echo_u64(self, x):
        return x

    def echo_f32(self, x):
        return x

    def echo_f64(self, x):
        return x

    def echo_char(self, x):
        return x

    def echo_string(self, x):
        return x

    def echo_bytes(self, x):
        return x

    def echo_list(self, x):
        return x

    def echo_strings(self, x):
        return x

    def echo_tuple(self, x):
        return x

    def echo_record(self, x):
        return x

    def echo_variant(self, x):
        return x

    def echo_shape(self, x):
        return x

    def echo_enum(self, x):
        return x

    def echo_flags(self, x):
        return x

    def echo_option(self, x):
        return x

    def echo_option_option(self, x):
        return x

    def echo_result(self, x):
        return echo_result(x)

    def echo_result_same(self, x):
        return echo_result(x)

    def echo_result_unit(self, x):
        return echo_result(x)

    def echo_result_empty(self, x):
        return echo_result(x)

    def echo_nested(self, x):
        return x

    def echo_many(self, a, b, c):
        return (a, b, c)
