;; counter v4: v3's API; exports ONLY golem:api/load-snapshot@1.1.0, and its
;; `load` always fails with err("v4 cannot load snapshots").
;;
;; Canonical ABI (wasm32) notes:
;; - `load: func(bytes: list<u8>) -> result<_, string>`: the list parameter
;;   arrives as (ptr, len), allocated by the host through `cabi_realloc`; the
;;   result is returned through a return area
;;   {disc: u8 @0 (0 = ok, 1 = err), ptr: i32 @4, len: i32 @8}.
;; - No `cabi_post_*`: `load` resets the bump heap itself before returning.
;;
;; Memory layout: [0, 12) return area; [32, 56) error message;
;; [1024, ...) bump heap for cabi_realloc.
(module
  (memory (export "memory") 1)

  (global $value (mut i64) (i64.const 0))
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 32) "v4 cannot load snapshots")  ;; 24 bytes

  ;; get: func() -> u64
  (func (export "golem:counter/api#get") (result i64)
    (global.get $value))

  ;; set: func(value: u64)
  (func (export "golem:counter/api#set") (param $v i64)
    (global.set $value (local.get $v)))

  ;; load: func(bytes: list<u8>) -> result<_, string>   always err
  (func (export "golem:api/load-snapshot@1.1.0#load") (param $ptr i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 0) (i32.const 1))   ;; disc = err
    (i32.store (i32.const 4) (i32.const 32))   ;; string ptr
    (i32.store (i32.const 8) (i32.const 24))   ;; string len
    (global.set $heap (global.get $heap_base)) ;; free the parameter bytes
    (i32.const 0))

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
