;; golem-logconfig v2: like v1, but `note` also logs `noted` at level `debug` first (a log call
;; v1 never made: logs are hints, so an automatic update from v1 replays without divergence).
;;
;; v1 was: exports golem:logconfig/api {note, setting, setting-count}; imports
;; wasi:logging/logging (unversioned, as Golem's WIT has it) and wasi:config/store@0.2.0-draft.
;;
;; Canonical ABI (wasm32) notes:
;; - `log: func(level: level, context: string, message: string)` lowers to
;;   (level i32, ctx ptr, ctx len, msg ptr, msg len) -> (); `info` is case 2.
;; - `get: func(key: string) -> result<option<string>, error>` lowers to (ptr, len, retptr):
;;   the host writes {result disc u8 @0, option/error disc u8 @4, string ptr @8, len @12}.
;; - `get-all: func() -> result<list<tuple<string, string>>, error>` lowers to (retptr):
;;   {disc u8 @0, list ptr @4, list len @8}.
;; - The exported `setting` returns option<string> through a return area {disc u8 @0, ptr @4,
;;   len @8}; strings the host returns are allocated here through `cabi_realloc`.
;;
;; Memory layout: [16, 32) import return area; [32, 48) export return area;
;; [64, 73) "logconfig"; [1024, ...) bump heap, reset when each export returns.
(module
  (import "wasi:logging/logging" "log" (func $log (param i32 i32 i32 i32 i32)))
  (import "wasi:config/store@0.2.0-draft" "get" (func $get (param i32 i32 i32)))
  (import "wasi:config/store@0.2.0-draft" "get-all" (func $get_all (param i32)))

  (memory (export "memory") 1)
  (data (i32.const 64) "logconfig")
  (data (i32.const 80) "noted")

  (global $count (mut i32) (i32.const 0))
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; note: func(message: string) -> u32   host calls: log (debug "noted"), log (info message)
  (func (export "golem:logconfig/api#note") (param $ptr i32) (param $len i32) (result i32)
    (call $log (i32.const 1) (i32.const 64) (i32.const 9) (i32.const 80) (i32.const 5))
    (call $log (i32.const 2) (i32.const 64) (i32.const 9) (local.get $ptr) (local.get $len))
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (global.set $heap (global.get $heap_base))
    (global.get $count))

  ;; setting: func(key: string) -> option<string>   host calls: get
  (func (export "golem:logconfig/api#setting") (param $ptr i32) (param $len i32) (result i32)
    (call $get (local.get $ptr) (local.get $len) (i32.const 16))
    (if (i32.and (i32.eqz (i32.load8_u (i32.const 16)))
                 (i32.eq (i32.load8_u (i32.const 20)) (i32.const 1)))
      (then
        (i32.store8 (i32.const 32) (i32.const 1))
        (i32.store (i32.const 36) (i32.load (i32.const 24)))
        (i32.store (i32.const 40) (i32.load (i32.const 28))))
      (else (i32.store8 (i32.const 32) (i32.const 0))))
    (global.set $heap (global.get $heap_base))
    (i32.const 32))

  ;; setting-count: func() -> u32   host calls: get-all (an error counts as u32::MAX)
  (func (export "golem:logconfig/api#setting-count") (result i32)
    (call $get_all (i32.const 16))
    (global.set $heap (global.get $heap_base))
    (if (result i32) (i32.eqz (i32.load8_u (i32.const 16)))
      (then (i32.load (i32.const 24)))
      (else (i32.const -1))))

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
