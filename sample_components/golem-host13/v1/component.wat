;; golem-host13 v1: golem:api/host@1.3.0 (promise-id { agent-id, oplog-idx }, the
;; get-promise-result resource) called from WAT.
;;
;; Canonical ABI (wasm32) notes:
;; - promise-id { agent-id { component-id { uuid { high u64, low u64 } }, agent-id: string },
;;   oplog-idx: u64 } has align 8: high @0, low @8, string ptr @16, len @20, oplog-idx @24
;;   (32 bytes); flattened it is (i64, i64, i32, i32, i64).
;; - `create-promise: func() -> promise-id` lowers to (retptr): the host writes the record there
;;   (the agent-id string through `cabi_realloc`).
;; - `complete-promise: func(promise-id, data: list<u8>) -> bool` lowers to the flattened
;;   promise-id, then (ptr, len) -> i32.
;; - `get-promise: func(promise-id) -> get-promise-result` lowers to the flattened promise-id
;;   -> handle; `[method]get-promise-result.get` to (handle, retptr) with the result
;;   option<list<u8>> = {disc u8 @0, ptr @4, len @8}.
;; - The exported `roundtrip` returns option<string> through a return area of the same layout.
;;
;; Memory layout: [16, 48) promise-id; [64, 80) import return area; [96, 112) export return
;; area; [1024, ...) bump heap, reset when each export returns.
(module
  (import "golem:api/host@1.3.0" "create-promise" (func $create (param i32)))
  (import "golem:api/host@1.3.0" "complete-promise"
    (func $complete (param i64 i64 i32 i32 i64 i32 i32) (result i32)))
  (import "golem:api/host@1.3.0" "get-promise" (func $get_promise (param i64 i64 i32 i32 i64) (result i32)))
  (import "golem:api/host@1.3.0" "[method]get-promise-result.get" (func $get (param i32 i32)))
  (import "golem:api/host@1.3.0" "[resource-drop]get-promise-result" (func $drop (param i32)))
  (import "golem:api/host@1.3.0" "get-oplog-index" (func $index (result i64)))
  (import "golem:api/host@1.3.0" "set-oplog-index" (func $travel (param i64)))

  (memory (export "memory") 1)
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  (func (export "golem:host13/api#index") (result i64) (call $index))

  (func (export "golem:host13/api#roundtrip") (param $ptr i32) (param $len i32) (result i32)
    (local $handle i32)
    (call $create (i32.const 16))
    (drop (call $complete
      (i64.load (i32.const 16)) (i64.load (i32.const 24))
      (i32.load (i32.const 32)) (i32.load (i32.const 36)) (i64.load (i32.const 40))
      (local.get $ptr) (local.get $len)))
    (local.set $handle (call $get_promise
      (i64.load (i32.const 16)) (i64.load (i32.const 24))
      (i32.load (i32.const 32)) (i32.load (i32.const 36)) (i64.load (i32.const 40))))
    (call $get (local.get $handle) (i32.const 64))
    (call $drop (local.get $handle))
    (i32.store8 (i32.const 96) (i32.load8_u (i32.const 64)))
    (i32.store (i32.const 100) (i32.load (i32.const 68)))
    (i32.store (i32.const 104) (i32.load (i32.const 72)))
    (global.set $heap (global.get $heap_base))
    (i32.const 96))

  (func (export "golem:host13/api#travel") (call $travel (i64.const 0)))

  ;; cabi_realloc(old_ptr, old_size, align, new_size) -> ptr: bump allocator
  ;; (see counter v3 for the commented version).
  (func (export "cabi_realloc")
      (param $old_ptr i32) (param $old_size i32) (param $align i32) (param $new_size i32)
      (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old_ptr)
      (then (memory.copy (local.get $ptr) (local.get $old_ptr) (local.get $old_size))))
    (local.get $ptr))
)
