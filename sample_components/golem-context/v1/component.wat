;; golem-context v1: golem:api/context@1.1.7 from WAT.
;;
;; Canonical ABI (wasm32) notes:
;; - `start-span: func(name: string) -> span` lowers to (ptr, len) -> handle;
;;   `current-context: func() -> invocation-context` to () -> handle.
;; - `[method]span.set-attribute(self, name: string, value: attribute-value)`, where
;;   attribute-value is `variant { string(string) }`, lowers to
;;   (handle, name ptr, name len, case i32, value ptr, value len).
;; - `[method]invocation-context.get-attribute(self, key: string, inherited: bool)
;;   -> option<attribute-value>` lowers to (handle, ptr, len, bool, retptr):
;;   {option disc u8 @0, case u8 @4, string ptr @8, len @12}.
;; - `[method]invocation-context.trace-id(self) -> string` lowers to (handle, retptr):
;;   {ptr @0, len @4}.
;; - `traced` returns option<string> through {disc u8 @0, ptr @4, len @8}; `trace` a string
;;   through {ptr @0, len @4}.
;;
;; Memory layout: [16, 32) import return area; [96, 108) export return area; [64, 68) "work";
;; [1024, ...) bump heap, reset when each export returns.
(module
  (import "golem:api/context@1.1.7" "start-span" (func $start_span (param i32 i32) (result i32)))
  (import "golem:api/context@1.1.7" "current-context" (func $current (result i32)))
  (import "golem:api/context@1.1.7" "[method]span.set-attribute"
    (func $set_attribute (param i32 i32 i32 i32 i32 i32)))
  (import "golem:api/context@1.1.7" "[method]span.finish" (func $finish (param i32)))
  (import "golem:api/context@1.1.7" "[resource-drop]span" (func $drop_span (param i32)))
  (import "golem:api/context@1.1.7" "[method]invocation-context.get-attribute"
    (func $get_attribute (param i32 i32 i32 i32 i32)))
  (import "golem:api/context@1.1.7" "[method]invocation-context.trace-id"
    (func $trace_id (param i32 i32)))
  (import "golem:api/context@1.1.7" "[resource-drop]invocation-context"
    (func $drop_context (param i32)))

  (memory (export "memory") 1)
  (data (i32.const 64) "work")
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; traced: func(key: string, value: string) -> option<string>
  (func (export "golem:context/api#traced")
      (param $kp i32) (param $kl i32) (param $vp i32) (param $vl i32) (result i32)
    (local $span i32) (local $context i32)
    (local.set $span (call $start_span (i32.const 64) (i32.const 4)))
    (call $set_attribute (local.get $span) (local.get $kp) (local.get $kl)
                         (i32.const 0) (local.get $vp) (local.get $vl))
    (local.set $context (call $current))
    (call $get_attribute (local.get $context) (local.get $kp) (local.get $kl) (i32.const 1)
                         (i32.const 16))
    (call $drop_context (local.get $context))
    (call $finish (local.get $span))
    (call $drop_span (local.get $span))
    (i32.store8 (i32.const 96) (i32.load8_u (i32.const 16)))
    (i32.store (i32.const 100) (i32.load (i32.const 24)))
    (i32.store (i32.const 104) (i32.load (i32.const 28)))
    (global.set $heap (global.get $heap_base))
    (i32.const 96))

  ;; trace: func() -> string
  (func (export "golem:context/api#trace") (result i32)
    (local $context i32)
    (local.set $context (call $current))
    (call $trace_id (local.get $context) (i32.const 96))
    (call $drop_context (local.get $context))
    (global.set $heap (global.get $heap_base))
    (i32.const 96))

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
