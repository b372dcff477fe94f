;; faulty v2: as v1, but increment adds `by` twice (a buggy revision whose replay diverges).
;; an embedder stops misbehaving guests (traps, deadlines, memory limits).
;;
;; Canonical ABI (wasm32) notes:
;; - u64 = one flat i64, u32 = one flat i32.
;; - `echo-bytes: func(data: list<u8>) -> list<u8>`: the parameter arrives as
;;   (ptr, len), allocated by the host through `cabi_realloc`; the result
;;   (ptr, len) is two flat values, so it goes through a return area
;;   {ptr: i32 @0, len: i32 @4}. The result points at the parameter bytes
;;   themselves. `echo-bytes` resets the bump heap before returning: the bytes
;;   stay in place until the next allocation, and the host lifts the result
;;   before any other guest code runs (no `cabi_post_*` needed).
;;
;; Memory layout: [0, 8) return area; [1024, ...) bump heap. Starts at 1 page.
(module
  (memory (export "memory") 1)

  (global $value (mut i64) (i64.const 0))
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; increment: func(by: u64) -> u64   -- v2's bug: adds `by` twice
  (func (export "golem:faulty/api#increment") (param $by i64) (result i64)
    (global.set $value (i64.add (global.get $value) (i64.mul (local.get $by) (i64.const 2))))
    (global.get $value))

  ;; get: func() -> u64
  (func (export "golem:faulty/api#get") (result i64)
    (global.get $value))

  ;; trap: func()
  (func (export "golem:faulty/api#trap")
    unreachable)

  ;; spin: func()   an infinite loop
  (func (export "golem:faulty/api#spin")
    (loop $forever
      (br $forever)))

  ;; recurse: func(depth: u32) -> u32   = 1 + recurse(depth - 1), recurse(0) = 0
  (func $recurse (export "golem:faulty/api#recurse") (param $depth i32) (result i32)
    (if (result i32) (i32.eqz (local.get $depth))
      (then (i32.const 0))
      (else
        (i32.add (i32.const 1)
          (call $recurse (i32.sub (local.get $depth) (i32.const 1)))))))

  ;; grow: func(pages: u32) -> u32
  (func (export "golem:faulty/api#grow") (param $pages i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $pages)))
        ;; memory.grow returns the old size, or -1 when the grow is refused
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
          (then unreachable))
        (local.set $pages (i32.sub (local.get $pages) (i32.const 1)))
        (br $again)))
    (memory.size))

  ;; echo-bytes: func(data: list<u8>) -> list<u8>
  (func (export "golem:faulty/api#echo-bytes") (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (global.set $heap (global.get $heap_base))
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
