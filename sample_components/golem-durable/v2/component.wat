;; golem-durable v2: like v1, but the live answer is three times `n`. An automatic update from v1
;; replays v1's answers from the oplog (read-persisted...), so the update succeeds.
;;
;; Canonical ABI (wasm32) notes:
;; - durable-function-type (= golem:api/oplog wrapped-function-type) flattens to
;;   (case i32, option disc i32, oplog index i64); `read-remote` is case 2.
;; - `begin-durable-function: func(function-type) -> oplog-index`: (i32, i32, i64) -> i64;
;;   `end-durable-function(function-type, begin-index, forced-commit)`: (i32, i32, i64, i64, i32).
;; - `current-durable-execution-state: func() -> record { is-live: bool, persistence-level }`
;;   lowers to (retptr): is-live u8 @0, persistence-level u8 @1.
;; - `persist-durable-function-invocation(function-name: string, request: list<u8>,
;;   response: list<u8>, function-type)` is passed flat: three (ptr, len) pairs, then the type.
;; - `read-persisted-durable-function-invocation: func() -> persisted-durable-function-invocation`
;;   lowers to (retptr); the record (align 8): timestamp @0 (16 bytes), function-name @16,
;;   response {ptr @24, len @28}, function-type @32 (24 bytes), entry-version @56.
;; The request and response are 8-byte little-endian u64s.
;;
;; Memory layout: [16, 24) state; [32, 40) request; [40, 48) response; [64, 72) "remember";
;; [128, 192) persisted record; [1024, ...) bump heap, reset when each export returns.
(module
  (import "golem:durability/durability@1.2.1" "begin-durable-function"
    (func $begin (param i32 i32 i64) (result i64)))
  (import "golem:durability/durability@1.2.1" "end-durable-function"
    (func $end (param i32 i32 i64 i64 i32)))
  (import "golem:durability/durability@1.2.1" "current-durable-execution-state"
    (func $state (param i32)))
  (import "golem:durability/durability@1.2.1" "persist-durable-function-invocation"
    (func $persist (param i32 i32 i32 i32 i32 i32 i32 i32 i64)))
  (import "golem:durability/durability@1.2.1" "read-persisted-durable-function-invocation"
    (func $read (param i32)))

  (memory (export "memory") 1)
  (data (i32.const 64) "remember")

  (global $total (mut i64) (i64.const 0))
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; The live computation of the "remote" answer.
  (func $compute (param $n i64) (result i64)
    (i64.mul (local.get $n) (i64.const 3)))

  ;; remember: func(n: u64) -> u64
  (func (export "golem:durable/api#remember") (param $n i64) (result i64)
    (local $begin i64) (local $answer i64)
    (local.set $begin (call $begin (i32.const 2) (i32.const 0) (i64.const 0)))
    (call $state (i32.const 16))
    (if (i32.load8_u (i32.const 16))
      (then
        (local.set $answer (call $compute (local.get $n)))
        (i64.store (i32.const 32) (local.get $n))
        (i64.store (i32.const 40) (local.get $answer))
        (call $persist (i32.const 64) (i32.const 8) (i32.const 32) (i32.const 8)
                       (i32.const 40) (i32.const 8) (i32.const 2) (i32.const 0) (i64.const 0)))
      (else
        (call $read (i32.const 128))
        (local.set $answer (i64.load (i32.load (i32.const 152))))))
    (call $end (i32.const 2) (i32.const 0) (i64.const 0) (local.get $begin) (i32.const 0))
    (global.set $total (i64.add (global.get $total) (local.get $answer)))
    (global.set $heap (global.get $heap_base))
    (local.get $answer))

  ;; total: func() -> u64
  (func (export "golem:durable/api#total") (result i64) (global.get $total))

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
