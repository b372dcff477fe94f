;; counter v3: changed API (get + set), save-snapshot and load-snapshot @1.1.0.
;;
;; Canonical ABI (wasm32) notes:
;; - u64 params/results are one flat i64.
;; - `save: func() -> list<u8>` returns a pointer to a return area
;;   {ptr: i32 @0, len: i32 @4} (two flat results are more than one).
;; - `load: func(bytes: list<u8>) -> result<_, string>`:
;;   * the list parameter arrives as (ptr, len); the host first allocates the
;;     bytes inside this module by calling the exported `cabi_realloc`;
;;   * the result flattens to (disc, ptr, len): three values, so again a
;;     return area: {disc: u8 @0 (0 = ok, 1 = err), ptr: i32 @4, len: i32 @8}.
;; - There is no `cabi_post_*` function: allocations are released by `load`
;;   itself (it resets the bump allocator before returning; nothing allocated
;;   is needed afterwards, the error message lives in a static buffer).
;;
;; Memory layout: [0, 12) return area; [16, 24) snapshot bytes;
;; [32, 96) error message buffer; [1024, ...) bump heap for cabi_realloc.
(module
  (memory (export "memory") 1)

  (global $value (mut i64) (i64.const 0))
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; The fixed prefix of the error message (22 bytes), digits are appended.
  (data (i32.const 32) "expected 8 bytes, got ")

  ;; get: func() -> u64
  (func (export "golem:counter/api#get") (result i64)
    (global.get $value))

  ;; set: func(value: u64)
  (func (export "golem:counter/api#set") (param $v i64)
    (global.set $value (local.get $v)))

  ;; save: func() -> list<u8>   (the counter as 8 bytes, little-endian)
  (func (export "golem:api/save-snapshot@1.1.0#save") (result i32)
    (i64.store (i32.const 16) (global.get $value))
    (i32.store (i32.const 0) (i32.const 16))  ;; list ptr
    (i32.store (i32.const 4) (i32.const 8))   ;; list len
    (i32.const 0))

  ;; load: func(bytes: list<u8>) -> result<_, string>
  ;; Accepts exactly 8 bytes (little-endian u64), else err("expected 8 bytes, got N").
  (func (export "golem:api/load-snapshot@1.1.0#load") (param $ptr i32) (param $len i32) (result i32)
    (if (i32.eq (local.get $len) (i32.const 8))
      (then
        (global.set $value (i64.load (local.get $ptr)))
        (i32.store8 (i32.const 0) (i32.const 0)))             ;; disc = ok
      (else
        (i32.store8 (i32.const 0) (i32.const 1))              ;; disc = err
        (i32.store (i32.const 4) (i32.const 32))              ;; string ptr
        (i32.store (i32.const 8)                              ;; string len
          (i32.add (i32.const 22)
            (call $write_u32 (local.get $len) (i32.const 54))))))
    ;; The parameter bytes are no longer needed: free the whole heap.
    (global.set $heap (global.get $heap_base))
    (i32.const 0))

  ;; Writes `n` in decimal at `dst`; returns the number of digits written.
  (func $write_u32 (param $n i32) (param $dst i32) (result i32)
    (local $t i32) (local $count i32) (local $i i32)
    ;; count the digits
    (local.set $t (local.get $n))
    (loop $count_digits
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $count_digits (local.get $t)))
    ;; write them from the last one backwards
    (local.set $t (local.get $n))
    (local.set $i (local.get $count))
    (loop $write_digits
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
        (i32.add (i32.const 48) (i32.rem_u (local.get $t) (i32.const 10))))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $write_digits (local.get $i)))
    (local.get $count))

  ;; cabi_realloc(old_ptr, old_size, align, new_size) -> ptr
  ;; A bump allocator: the host calls it to place list/string parameters in
  ;; this module's memory. Grows the memory when the heap runs out.
  (func (export "cabi_realloc")
      (param $old_ptr i32) (param $old_size i32) (param $align i32) (param $new_size i32)
      (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    ;; round the heap pointer up to `align` (a power of two)
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
    ;; realloc semantics: keep the old contents (the host never reallocates in practice)
    (if (local.get $old_ptr)
      (then (memory.copy (local.get $ptr) (local.get $old_ptr) (local.get $old_size))))
    (local.get $ptr))
)
