"""Shim components for host functions that wasmtime-py 50 cannot receive.

wasmtime 50's C API cannot call a host function that takes two or more ``borrow<...>`` handles
of host resources: lifting the second handle stops the guest with "This is a bug in Wasmtime that
was not thought to be reachable" (``resources.rs:328``) before Python is reached. Golem's
``wasi:keyvalue@0.1.0`` has two such functions, ``eventual.set`` (a bucket and an outgoing
value) and ``eventual-batch.set-many``.

A component importing them is composed, when it is added to a registry, with a tiny WAT shim
(``wasm-tools compose``) that exports ``wasi:keyvalue/eventual@0.1.0`` and
``wasi:keyvalue/eventual-batch@0.1.0`` to it and forwards every call to the host interface
``hotupdate:shim/keyvalue``, turning each outgoing-value handle into its host id first (one
handle per host call). Golem's ``wasi:blobstore`` has one, ``container.write-data`` (a container
and an outgoing value); being a method of the ``container`` resource, its shim exports
``wasi:blobstore/container`` and ``wasi:blobstore/blobstore`` with resources of its own, each
wrapping a host resource of ``hotupdate:shim/blobstore``. Everything else about the component is
unchanged: the same exports, the same other imports, and calls recorded in the oplog under the
functions the guest called (``wasi:keyvalue/eventual.{set}``). Shims and composed components
are cached on disk.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ..component import default_cache_dir, read_component_file, write_atomically
from ..errors import ComponentLoadError
from ..wasm_tools import TOOL_ENV, wasm_tools_executable

__all__ = ["adapt", "build_wat_component", "needs_shim", "run_wasm_tools"]

#: Imported interfaces that make a component need the keyvalue shim.
KEYVALUE_TRIGGERS = (b"wasi:keyvalue/eventual@0.1.0", b"wasi:keyvalue/eventual-batch@0.1.0")

#: The interface a composed component imports (so it is never composed twice).
SHIM_MARKER = b"hotupdate:shim/keyvalue@"

#: ``cabi_realloc`` for the shims' and helpers' core modules: a bump allocator over the global
#: ``$heap`` (each export resets it), growing memory as needed and trapping when it cannot.
BUMP_ALLOCATOR_WAT = """  (func (export "cabi_realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                                      (i32.const 65535))
                                             (i32.const 16)))
                    (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old)
      (then (memory.copy (local.get $ptr) (local.get $old) (local.get $old_size))))
    (local.get $ptr))
"""

#: The parts of ``wasi:io@0.2.6`` the shims and helpers refer to (resources only; every item has
#: its standard WASI 0.2 type, so they link against any WASI 0.2.x host).
WASI_IO_WIT = """
package wasi:io@0.2.6;

interface error {
  resource error;
}

interface poll {
  resource pollable;
}

interface streams {
  use error.{error};
  use poll.{pollable};
  variant stream-error { last-operation-failed(error), closed }
  resource input-stream;
  resource output-stream;
}
"""

_KEYVALUE_WIT = {
    "deps/keyvalue/keyvalue.wit": """
package wasi:keyvalue@0.1.0;

interface wasi-keyvalue-error {
  resource error;
}

interface types {
  resource bucket;
  type key = string;
  use wasi-keyvalue-error.{error};
  resource outgoing-value;
  resource incoming-value;
}

interface eventual {
  use types.{bucket, error, incoming-value, key, outgoing-value};
  get: func(bucket: borrow<bucket>, key: key) -> result<option<incoming-value>, error>;
  set: func(bucket: borrow<bucket>, key: key, outgoing-value: borrow<outgoing-value>)
    -> result<_, error>;
  delete: func(bucket: borrow<bucket>, key: key) -> result<_, error>;
  exists: func(bucket: borrow<bucket>, key: key) -> result<bool, error>;
}

interface eventual-batch {
  use types.{bucket, error, key, incoming-value, outgoing-value};
  get-many: func(bucket: borrow<bucket>, keys: list<key>)
    -> result<list<option<incoming-value>>, error>;
  keys: func(bucket: borrow<bucket>) -> result<list<key>, error>;
  set-many: func(bucket: borrow<bucket>, key-values: list<tuple<key, borrow<outgoing-value>>>)
    -> result<_, error>;
  delete-many: func(bucket: borrow<bucket>, keys: list<key>) -> result<_, error>;
}
""",
    "shim.wit": """
package hotupdate:shim@0.1.0;

/// The host side of the keyvalue shim: `eventual` and `eventual-batch` with every
/// outgoing-value handle replaced by its host id.
interface keyvalue {
  use wasi:keyvalue/types@0.1.0.{bucket, error, incoming-value, key, outgoing-value};

  outgoing-value-id: func(value: borrow<outgoing-value>) -> u32;

  get: func(bucket: borrow<bucket>, key: key) -> result<option<incoming-value>, error>;
  set-by-id: func(bucket: borrow<bucket>, key: key, outgoing-value: u32) -> result<_, error>;
  delete: func(bucket: borrow<bucket>, key: key) -> result<_, error>;
  exists: func(bucket: borrow<bucket>, key: key) -> result<bool, error>;

  get-many: func(bucket: borrow<bucket>, keys: list<key>)
    -> result<list<option<incoming-value>>, error>;
  keys: func(bucket: borrow<bucket>) -> result<list<key>, error>;
  set-many-by-id: func(bucket: borrow<bucket>, key-values: list<tuple<key, u32>>)
    -> result<_, error>;
  delete-many: func(bucket: borrow<bucket>, keys: list<key>) -> result<_, error>;
}

world keyvalue-shim {
  import wasi:keyvalue/types@0.1.0;
  import keyvalue;
  export wasi:keyvalue/eventual@0.1.0;
  export wasi:keyvalue/eventual-batch@0.1.0;
}
""",
}

# Every export forwards its lowered arguments to the host import of the same shape, with one
# return area at 16 (results are lowered into this module's memory by the host and lifted from
# it by the caller); `set` and `set-many` first turn each outgoing-value handle into its host id
# (a list<tuple<key, borrow>> element and a list<tuple<key, u32>> one share the layout
# {key ptr @0, key len @4, handle/id @8}, 12 bytes). Every export resets the bump heap first: the
# previous call's results have been lifted, and this call's parameters (allocated before it ran)
# are read by the host before the host allocates its results.
_KEYVALUE_WAT = """
(module
  (import "hotupdate:shim/keyvalue@0.1.0" "outgoing-value-id" (func $id (param i32) (result i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "get" (func $get (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "set-by-id" (func $set (param i32 i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "delete" (func $delete (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "exists" (func $exists (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "get-many" (func $get_many (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "keys" (func $keys (param i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "set-many-by-id" (func $set_many (param i32 i32 i32 i32)))
  (import "hotupdate:shim/keyvalue@0.1.0" "delete-many" (func $delete_many (param i32 i32 i32 i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]bucket" (func $drop_bucket (param i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]outgoing-value" (func $drop_value (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $reset (global.set $heap (i32.const 1024)))
  ;; A borrowed handle must be dropped before the call that lent it returns.
  (func $value_id (param $handle i32) (result i32)
    (call $id (local.get $handle))
    (call $drop_value (local.get $handle)))
  (func (export "wasi:keyvalue/eventual@0.1.0#get") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $get (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual@0.1.0#set") (param i32 i32 i32 i32) (result i32)
    (call $reset)
    (call $set (local.get 0) (local.get 1) (local.get 2) (call $value_id (local.get 3))
               (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual@0.1.0#delete") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $delete (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual@0.1.0#exists") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $exists (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#get-many") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $get_many (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#keys") (param i32) (result i32)
    (call $reset)
    (call $keys (local.get 0) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#set-many")
      (param $bucket i32) (param $list i32) (param $len i32) (result i32)
    (local $at i32) (local $end i32)
    (call $reset)
    (local.set $at (i32.add (local.get $list) (i32.const 8)))
    (local.set $end (i32.add (local.get $list) (i32.mul (local.get $len) (i32.const 12))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (i32.store (local.get $at) (call $value_id (i32.load (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 12)))
        (br $next)))
    (call $set_many (local.get $bucket) (local.get $list) (local.get $len) (i32.const 16))
    (call $drop_bucket (local.get $bucket))
    (i32.const 16))
  (func (export "wasi:keyvalue/eventual-batch@0.1.0#delete-many") (param i32 i32 i32) (result i32)
    (call $reset)
    (call $delete_many (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (call $drop_bucket (local.get 0))
    (i32.const 16))
""" + BUMP_ALLOCATOR_WAT + ")\n"

#: Imports that make a component need the blobstore shim (both must be there).
BLOBSTORE_TRIGGERS = (b"wasi:blobstore/container", b"[method]container.write-data")

#: The interface a component composed with the blobstore shim imports.
BLOBSTORE_MARKER = b"hotupdate:shim/blobstore@"

_BLOBSTORE_WIT = {
    "deps/io/io.wit": WASI_IO_WIT,
    "deps/blobstore/types.wit": """
package wasi:blobstore;

interface types {
  use wasi:io/streams@0.2.6.{input-stream, output-stream};
  type container-name = string;
  type object-name = string;
  type timestamp = u64;
  type object-size = u64;
  type error = string;
  record container-metadata {
    name: container-name,
    created-at: timestamp,
  }
  record object-metadata {
    name: object-name,
    container: container-name,
    created-at: timestamp,
    size: object-size,
  }
  record object-id {
    container: container-name,
    object: object-name
  }
  type outgoing-value-body-async = output-stream;
  resource outgoing-value;
  type incoming-value-async-body = input-stream;
  type incoming-value-sync-body = list<u8>;
  resource incoming-value;
}

interface container {
  use types.{container-metadata, error, incoming-value, object-metadata, object-name,
             outgoing-value};

  resource container {
    name: func() -> result<string, error>;
    info: func() -> result<container-metadata, error>;
    get-data: func(name: object-name, start: u64, end: u64) -> result<incoming-value, error>;
    write-data: func(name: object-name, data: borrow<outgoing-value>) -> result<_, error>;
    list-objects: func() -> result<stream-object-names, error>;
    delete-object: func(name: object-name) -> result<_, error>;
    delete-objects: func(names: list<object-name>) -> result<_, error>;
    has-object: func(name: object-name) -> result<bool, error>;
    object-info: func(name: object-name) -> result<object-metadata, error>;
    clear: func() -> result<_, error>;
  }

  resource stream-object-names {
    read-stream-object-names: func(len: u64) -> result<tuple<list<object-name>, bool>, error>;
    skip-stream-object-names: func(num: u64) -> result<tuple<u64, bool>, error>;
  }
}

interface blobstore {
  use container.{container};
  use types.{error, container-name, object-id};

  create-container: func(name: container-name) -> result<container, error>;
  get-container: func(name: container-name) -> result<container, error>;
  delete-container: func(name: container-name) -> result<_, error>;
  container-exists: func(name: container-name) -> result<bool, error>;
  copy-object: func(src: object-id, dest: object-id) -> result<_, error>;
  move-object: func(src: object-id, dest: object-id) -> result<_, error>;
}
""",
    "shim.wit": """
package hotupdate:shim@0.1.0;

/// The host side of the blobstore shim: Golem's `wasi:blobstore` container and blobstore
/// functions with the resources under other names, and `write-data` taking the outgoing
/// value's host id instead of a second borrowed handle.
interface blobstore {
  use wasi:blobstore/types.{container-metadata, container-name, error, incoming-value,
                            object-id, object-metadata, object-name, outgoing-value};

  resource host-container {
    name: func() -> result<string, error>;
    info: func() -> result<container-metadata, error>;
    get-data: func(name: object-name, start: u64, end: u64) -> result<incoming-value, error>;
    write-data-by-id: func(name: object-name, data: u32) -> result<_, error>;
    list-objects: func() -> result<host-object-names, error>;
    delete-object: func(name: object-name) -> result<_, error>;
    delete-objects: func(names: list<object-name>) -> result<_, error>;
    has-object: func(name: object-name) -> result<bool, error>;
    object-info: func(name: object-name) -> result<object-metadata, error>;
    clear: func() -> result<_, error>;
  }

  resource host-object-names {
    read-stream-object-names: func(len: u64) -> result<tuple<list<object-name>, bool>, error>;
    skip-stream-object-names: func(num: u64) -> result<tuple<u64, bool>, error>;
  }

  outgoing-value-id: func(value: borrow<outgoing-value>) -> u32;
  create-container: func(name: container-name) -> result<host-container, error>;
  get-container: func(name: container-name) -> result<host-container, error>;
  delete-container: func(name: container-name) -> result<_, error>;
  container-exists: func(name: container-name) -> result<bool, error>;
  copy-object: func(src: object-id, dest: object-id) -> result<_, error>;
  move-object: func(src: object-id, dest: object-id) -> result<_, error>;
}

world blobstore-shim {
  import wasi:blobstore/types;
  import blobstore;
  export wasi:blobstore/container;
  export wasi:blobstore/blobstore;
}
""",
}

# The shim defines the guest's `container` and `stream-object-names` resources; each wraps the
# handle (in this module's table) of the host resource it stands for, which is its
# representation. A method receives its `self` as that representation and lends it to the host
# method; everything else is forwarded as lowered, with one return area at 16 (the largest
# result, result<object-metadata, error>, is 40 bytes: {disc @0, payload @8}). Results holding a
# new host container or name stream, {disc @0, handle @4}, are wrapped in a new shim resource
# first. `write-data` turns its borrowed outgoing value into its host id (and drops the borrow:
# a borrowed handle must be dropped before the call that lent it returns). Destructors drop the
# wrapped host handle. Every export resets the bump heap first (see the keyvalue shim).
_BLOBSTORE_WAT = """
(module
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.name" (func $name (param i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.info" (func $info (param i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.get-data"
    (func $get_data (param i32 i32 i32 i64 i64 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.write-data-by-id"
    (func $write_data (param i32 i32 i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.list-objects"
    (func $list_objects (param i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.delete-object"
    (func $delete_object (param i32 i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.delete-objects"
    (func $delete_objects (param i32 i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.has-object"
    (func $has_object (param i32 i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.object-info"
    (func $object_info (param i32 i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-container.clear" (func $clear (param i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[resource-drop]host-container"
    (func $drop_host_container (param i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-object-names.read-stream-object-names"
    (func $read_names (param i32 i64 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[method]host-object-names.skip-stream-object-names"
    (func $skip_names (param i32 i64 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "[resource-drop]host-object-names"
    (func $drop_host_names (param i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "outgoing-value-id" (func $id (param i32) (result i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "create-container" (func $create (param i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "get-container" (func $get (param i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "delete-container" (func $delete (param i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "container-exists" (func $exists (param i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "copy-object"
    (func $copy (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "hotupdate:shim/blobstore@0.1.0" "move-object"
    (func $move (param i32 i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:blobstore/types" "[resource-drop]outgoing-value" (func $drop_value (param i32)))
  (import "[export]wasi:blobstore/container" "[resource-new]container"
    (func $new_container (param i32) (result i32)))
  (import "[export]wasi:blobstore/container" "[resource-new]stream-object-names"
    (func $new_names (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $reset (global.set $heap (i32.const 1024)))

  ;; the result at 16 with an ok host handle at 20 wrapped by `$wrap` (a resource-new)
  (func $wrap_container (result i32)
    (if (i32.eqz (i32.load8_u (i32.const 16)))
      (then (i32.store (i32.const 20) (call $new_container (i32.load (i32.const 20))))))
    (i32.const 16))
  (func $wrap_names (result i32)
    (if (i32.eqz (i32.load8_u (i32.const 16)))
      (then (i32.store (i32.const 20) (call $new_names (i32.load (i32.const 20))))))
    (i32.const 16))

  (func (export "wasi:blobstore/container#[method]container.name") (param i32) (result i32)
    (call $reset) (call $name (local.get 0) (i32.const 16)) (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.info") (param i32) (result i32)
    (call $reset) (call $info (local.get 0) (i32.const 16)) (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.get-data")
      (param i32 i32 i32 i64 i64) (result i32)
    (call $reset)
    (call $get_data (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                    (i32.const 16))
    (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.write-data")
      (param i32 i32 i32 i32) (result i32)
    (local $id i32)
    (call $reset)
    (local.set $id (call $id (local.get 3)))
    (call $drop_value (local.get 3))
    (call $write_data (local.get 0) (local.get 1) (local.get 2) (local.get $id) (i32.const 16))
    (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.list-objects") (param i32) (result i32)
    (call $reset) (call $list_objects (local.get 0) (i32.const 16)) (call $wrap_names))
  (func (export "wasi:blobstore/container#[method]container.delete-object")
      (param i32 i32 i32) (result i32)
    (call $reset) (call $delete_object (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.delete-objects")
      (param i32 i32 i32) (result i32)
    (call $reset) (call $delete_objects (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.has-object")
      (param i32 i32 i32) (result i32)
    (call $reset) (call $has_object (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.object-info")
      (param i32 i32 i32) (result i32)
    (call $reset) (call $object_info (local.get 0) (local.get 1) (local.get 2) (i32.const 16))
    (i32.const 16))
  (func (export "wasi:blobstore/container#[method]container.clear") (param i32) (result i32)
    (call $reset) (call $clear (local.get 0) (i32.const 16)) (i32.const 16))
  (func (export "wasi:blobstore/container#[method]stream-object-names.read-stream-object-names")
      (param i32 i64) (result i32)
    (call $reset) (call $read_names (local.get 0) (local.get 1) (i32.const 16)) (i32.const 16))
  (func (export "wasi:blobstore/container#[method]stream-object-names.skip-stream-object-names")
      (param i32 i64) (result i32)
    (call $reset) (call $skip_names (local.get 0) (local.get 1) (i32.const 16)) (i32.const 16))
  (func (export "wasi:blobstore/container#[dtor]container") (param i32)
    (call $drop_host_container (local.get 0)))
  (func (export "wasi:blobstore/container#[dtor]stream-object-names") (param i32)
    (call $drop_host_names (local.get 0)))

  (func (export "wasi:blobstore/blobstore#create-container") (param i32 i32) (result i32)
    (call $reset) (call $create (local.get 0) (local.get 1) (i32.const 16)) (call $wrap_container))
  (func (export "wasi:blobstore/blobstore#get-container") (param i32 i32) (result i32)
    (call $reset) (call $get (local.get 0) (local.get 1) (i32.const 16)) (call $wrap_container))
  (func (export "wasi:blobstore/blobstore#delete-container") (param i32 i32) (result i32)
    (call $reset) (call $delete (local.get 0) (local.get 1) (i32.const 16)) (i32.const 16))
  (func (export "wasi:blobstore/blobstore#container-exists") (param i32 i32) (result i32)
    (call $reset) (call $exists (local.get 0) (local.get 1) (i32.const 16)) (i32.const 16))
  (func (export "wasi:blobstore/blobstore#copy-object")
      (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $reset)
    (call $copy (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                (local.get 5) (local.get 6) (local.get 7) (i32.const 16))
    (i32.const 16))
  (func (export "wasi:blobstore/blobstore#move-object")
      (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $reset)
    (call $move (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                (local.get 5) (local.get 6) (local.get 7) (i32.const 16))
    (i32.const 16))

""" + BUMP_ALLOCATOR_WAT + ")\n"

_LOCK = threading.Lock()


def _needs_keyvalue_shim(data: bytes) -> bool:
    return any(t in data for t in KEYVALUE_TRIGGERS) and SHIM_MARKER not in data


def _needs_blobstore_shim(data: bytes) -> bool:
    return all(t in data for t in BLOBSTORE_TRIGGERS) and BLOBSTORE_MARKER not in data


def _shims_needed(data: bytes) -> list[bytes]:
    """The shims a component (its bytes) needs and is not composed with yet."""
    return [build() for needed, build in _SHIMS if needed(data)]


def needs_shim(data: bytes) -> bool:
    """Whether a component (its bytes) imports a function wasmtime-py cannot serve directly
    (and is not composed with its shim already)."""
    return any(needed(data) for needed, _build in _SHIMS)


def adapt(source: str | os.PathLike[str] | bytes) -> str | os.PathLike[str] | bytes:
    """``source`` itself, or the bytes of it composed with the shims it needs.

    Anything that cannot be read is returned unchanged (loading it reports the problem).
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            data = read_component_file(Path(source))  # never a FIFO or /dev/zero
        except ComponentLoadError:
            return source
    if not data.startswith(b"\0asm") or not needs_shim(data):
        return source
    return compose(data, str(source) if not isinstance(source, (bytes, bytearray)) else "<bytes>")


def compose(data: bytes, label: str) -> bytes:
    """``data`` composed with the shims it needs (cached on disk by content)."""
    shims = _shims_needed(data)
    digest = hashlib.sha256(hashlib.sha256(data).digest())
    for shim in shims:
        digest.update(hashlib.sha256(shim).digest())
    out = _cache_dir() / f"composed-{digest.hexdigest()[:32]}.wasm"
    try:
        return out.read_bytes()
    except OSError:
        pass
    tool = _wasm_tools(label)
    with tempfile.TemporaryDirectory(prefix="hotupdate-shim-") as tmp:
        root, composed = Path(tmp) / "root.wasm", Path(tmp) / "out.wasm"
        root.write_bytes(data)
        args = ["compose", str(root)]
        for index, shim in enumerate(shims):
            shim_path = Path(tmp) / f"shim-{index}.wasm"
            shim_path.write_bytes(shim)
            args += ["-d", str(shim_path)]
        _run(tool, label, *args, "-o", str(composed))
        result = composed.read_bytes()
    write_atomically(out, result)
    return result


def _shim_bytes() -> bytes:
    return build_wat_component("the keyvalue shim", _KEYVALUE_WIT, _KEYVALUE_WAT,
                               "keyvalue-shim")


def _blobstore_shim_bytes() -> bytes:
    return build_wat_component("the blobstore shim", _BLOBSTORE_WIT, _BLOBSTORE_WAT,
                               "blobstore-shim")


#: (whether a component needs a shim, the shim's bytes), in composition order.
_SHIMS: tuple[tuple[Callable[[bytes], bool], Callable[[], bytes]], ...] = (
    (_needs_keyvalue_shim, _shim_bytes),
    (_needs_blobstore_shim, _blobstore_shim_bytes),
)


def build_wat_component(label: str, wit: dict[str, str], wat: str, world: str) -> bytes:
    """The component ``wasm-tools`` builds from ``wat`` and the WIT files ``wit`` (relative
    path -> text) for ``world``, cached on disk by content."""
    with _LOCK:
        digest = hashlib.sha256(
            ("".join(f"{k}\0{v}" for k, v in sorted(wit.items())) + world + wat).encode()
        ).hexdigest()
        path = _cache_dir() / f"{world}-{digest[:24]}.wasm"
        try:
            return path.read_bytes()
        except OSError:
            pass
        tool = _wasm_tools(label)
        with tempfile.TemporaryDirectory(prefix="hotupdate-shim-") as tmp:
            base = Path(tmp)
            for rel, text in wit.items():
                (base / "wit" / rel).parent.mkdir(parents=True, exist_ok=True)
                (base / "wit" / rel).write_text(text, encoding="utf-8")
            (base / "component.wat").write_text(wat, encoding="utf-8")
            _run(tool, label, "component", "embed", str(base / "wit"), "--world", world,
                 str(base / "component.wat"), "-o", str(base / "core.wasm"))
            _run(tool, label, "component", "new", str(base / "core.wasm"), "-o",
                 str(base / "component.wasm"))
            data = (base / "component.wasm").read_bytes()
        write_atomically(path, data)
        return data


def _cache_dir() -> Path:
    path = default_cache_dir() / "shims"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wasm_tools(label: str) -> str:
    tool = wasm_tools_executable()
    if tool is None:
        raise ComponentLoadError(f"{label}: wasm-tools is needed to build it and was not found",
                                 label)
    if shutil.which(tool) is None:  # $HOTUPDATE_WASM_TOOLS names no executable
        raise ComponentLoadError(f"{label}: wasm-tools {tool!r} (${TOOL_ENV}) is not an "
                                 "executable file", label)
    return tool


def _run(tool: str, label: str, *args: str) -> None:
    done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first = next((ln for ln in done.stderr.splitlines() if ln.strip()
                      and not ln.startswith("WARNING")), done.stderr.strip())
        raise ComponentLoadError(f"{label}: wasm-tools {args[0]} failed: {first}", label)


def run_wasm_tools(label: str, *args: str) -> None:
    """Run ``wasm-tools ARGS``; ComponentLoadError (naming ``label``) if it is missing or fails."""
    _run(_wasm_tools(label), label, *args)
