"""``golem:rpc/types`` (0.2.x): worker-to-worker calls between the emulated workers of a registry.

See the ``wasm-rpc`` resource functions below. The helper functions of the interface
(``parse-uuid``, ``uuid-to-string``, ``extract-value``, ``extract-type``) are plain functions.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..values import Err, Ok
from . import ids
from ._base import Call, HostInterface

RPC = HostInterface(
    "golem:rpc/types",
    resources=("wasm-rpc", "future-invoke-result", "cancellation-token"),
    unsupported={
        "[method]future-invoke-result.subscribe": "the emulator cannot create wasi:io "
                                                  "pollables; poll with get",
        "*": "not emulated",
    },
)


@RPC.function("parse-uuid")
def parse_uuid(call: Call, text: str) -> Any:
    try:
        return Ok(ids.uuid_record(uuid.UUID(text)))
    except ValueError as error:
        return Err(str(error))


@RPC.function("uuid-to-string")
def uuid_to_string(call: Call, record: Any) -> str:
    return str(ids.uuid_of(record))


@RPC.function("extract-value")
def extract_value(call: Call, value_and_type: Any) -> Any:
    return value_and_type["value"]


@RPC.function("extract-type")
def extract_type(call: Call, value_and_type: Any) -> Any:
    return value_and_type["typ"]
