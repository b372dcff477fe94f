;; golem-host15 v1: golem:api/host@1.5.0 called from WAT. Every export forwards its (flattened)
;; arguments to one host function and returns the host's answer, so the component-model
;; values cross the boundary twice, unchanged.
;;
;; Canonical ABI (wasm32) notes:
;; - agent-id { component-id { uuid { high-bits u64, low-bits u64 } }, agent-id: string } flattens
;;   to (i64, i64, i32, i32); promise-id { agent-id, oplog-idx u64 } to (i64, i64, i32, i32, i64).
;; - A result that flattens to more than one value is written by an import at a return pointer
;;   passed as its last parameter, and returned by an export as a pointer to the same layout, so
;;   an export returns the area its import filled.
;; - retry-policy { u32, u64, u64, f64, option<f64> } flattens to (i32, i64, i64, f64, i32, f64);
;;   persistence-level (variant without payloads) and update-mode (enum) to i32.
;;
;; Memory layout: [64, 192) return area; [1024, ...) bump heap (strings and lists the host
;; writes through `cabi_realloc`), reset when each export starts.
(module
  (import "golem:api/host@1.5.0" "get-self-metadata" (func $self (param i32)))
  (import "golem:api/host@1.5.0" "get-agent-metadata" (func $metadata (param i64 i64 i32 i32 i32)))
  (import "golem:api/host@1.5.0" "resolve-agent-id-strict"
    (func $resolve (param i32 i32 i32 i32 i32)))
  (import "golem:api/host@1.5.0" "get-oplog-index" (func $index (result i64)))
  (import "golem:api/host@1.5.0" "mark-begin-operation" (func $begin (result i64)))
  (import "golem:api/host@1.5.0" "mark-end-operation" (func $end (param i64)))
  (import "golem:api/host@1.5.0" "create-promise" (func $create (param i32)))
  (import "golem:api/host@1.5.0" "complete-promise"
    (func $complete (param i64 i64 i32 i32 i64 i32 i32) (result i32)))
  (import "golem:api/host@1.5.0" "get-promise"
    (func $get_promise (param i64 i64 i32 i32 i64) (result i32)))
  (import "golem:api/host@1.5.0" "[method]get-promise-result.get" (func $get (param i32 i32)))
  (import "golem:api/host@1.5.0" "[resource-drop]get-promise-result" (func $drop (param i32)))
  (import "golem:api/host@1.5.0" "[method]get-promise-result.subscribe"
    (func $subscribe (param i32) (result i32)))
  (import "wasi:io/poll@0.2.3" "[method]pollable.block" (func $block (param i32)))
  (import "wasi:io/poll@0.2.3" "[resource-drop]pollable" (func $drop_pollable (param i32)))
  (import "golem:api/host@1.5.0" "get-retry-policy" (func $get_retry (param i32)))
  (import "golem:api/host@1.5.0" "set-retry-policy" (func $set_retry (param i32 i64 i64 f64 i32 f64)))
  (import "golem:api/host@1.5.0" "get-oplog-persistence-level" (func $get_level (result i32)))
  (import "golem:api/host@1.5.0" "set-oplog-persistence-level" (func $set_level (param i32)))
  (import "golem:api/host@1.5.0" "get-idempotence-mode" (func $get_idem (result i32)))
  (import "golem:api/host@1.5.0" "set-idempotence-mode" (func $set_idem (param i32)))
  (import "golem:api/host@1.5.0" "generate-idempotency-key" (func $key (param i32)))
  (import "golem:api/host@1.5.0" "update-agent" (func $update (param i64 i64 i32 i32 i64 i32)))
  (import "golem:api/host@1.5.0" "fork" (func $fork (param i32)))

  (memory (export "memory") 1)
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))
  (global $area i32 (i32.const 64))

  (func $reset (global.set $heap (global.get $heap_base)))

  (func (export "golem:host15/api#whoami") (result i32)
    (call $reset) (call $self (global.get $area)) (global.get $area))

  (func (export "golem:host15/api#peer") (param i64 i64 i32 i32) (result i32)
    (call $reset)
    (call $metadata (local.get 0) (local.get 1) (local.get 2) (local.get 3) (global.get $area))
    (global.get $area))

  (func (export "golem:host15/api#resolve") (param i32 i32 i32 i32) (result i32)
    (call $resolve (local.get 0) (local.get 1) (local.get 2) (local.get 3) (global.get $area))
    (global.get $area))

  (func (export "golem:host15/api#index") (result i64) (call $index))

  (func (export "golem:host15/api#atomically") (result i64)
    (local $begin i64)
    (local.set $begin (call $begin))
    (call $end (local.get $begin))
    (local.get $begin))

  (func (export "golem:host15/api#new-promise") (result i32)
    (call $reset) (call $create (global.get $area)) (global.get $area))

  (func (export "golem:host15/api#complete-promise")
      (param i64 i64 i32 i32 i64 i32 i32) (result i32)
    (call $complete (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                    (local.get 5) (local.get 6)))

  (func (export "golem:host15/api#poll-promise") (param i64 i64 i32 i32 i64) (result i32)
    (local $handle i32)
    (local.set $handle
      (call $get_promise (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
    (call $get (local.get $handle) (global.get $area))
    (call $drop (local.get $handle))
    (global.get $area))

  ;; option<list<u8>> in the return area: disc u8 @0, ptr @4, len @8; the exported list<u8>
  ;; is returned as a pointer to its (ptr, len), i.e. area + 4.
  (func (export "golem:host15/api#await-promise") (param i64 i64 i32 i32 i64) (result i32)
    (local $handle i32) (local $pollable i32)
    (call $reset)
    (local.set $handle
      (call $get_promise (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
    (local.set $pollable (call $subscribe (local.get $handle)))
    (call $block (local.get $pollable))
    (call $drop_pollable (local.get $pollable))
    (call $get (local.get $handle) (global.get $area))
    (call $drop (local.get $handle))
    (if (i32.eqz (i32.load8_u (global.get $area))) (then unreachable))
    (i32.add (global.get $area) (i32.const 4)))

  (func (export "golem:host15/api#retry") (result i32)
    (call $get_retry (global.get $area)) (global.get $area))

  (func (export "golem:host15/api#set-retry") (param i32 i64 i64 f64 i32 f64)
    (call $set_retry (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                     (local.get 5)))

  (func (export "golem:host15/api#persistence") (result i32) (call $get_level))
  (func (export "golem:host15/api#set-persistence") (param i32) (call $set_level (local.get 0)))
  (func (export "golem:host15/api#idempotent") (result i32) (call $get_idem))
  (func (export "golem:host15/api#set-idempotent") (param i32) (call $set_idem (local.get 0)))

  (func (export "golem:host15/api#idempotency-key") (result i32)
    (call $key (global.get $area)) (global.get $area))

  (func (export "golem:host15/api#request-update") (param i64 i64 i32 i32 i64 i32)
    (call $update (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)
                  (local.get 5)))

  (func (export "golem:host15/api#fork") (call $fork (global.get $area)))

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
