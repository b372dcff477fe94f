;; counter v2: v1's API and behaviour, plus `reset` and golem:api/save-snapshot@1.1.0.
;;
;; Canonical ABI (wasm32) notes:
;; - u64 params/results are one flat i64.
;; - `save: func() -> list<u8>` has two flat results (ptr, len), more than the
;;   single flat result allowed, so the core function returns a pointer to a
;;   "return area" in linear memory holding {ptr: i32 @0, len: i32 @4}.
;;   The host reads the area and the bytes right after the call returns.
;; - No list/string parameters, so no cabi_realloc is needed.
;;
;; Memory layout: [0, 8) return area; [16, 24) snapshot bytes.
(module
  (memory (export "memory") 1)

  (global $value (mut i64) (i64.const 0))

  ;; increment: func(by: u64) -> u64
  (func (export "golem:counter/api#increment") (param $by i64) (result i64)
    (global.set $value (i64.add (global.get $value) (local.get $by)))
    (global.get $value))

  ;; get: func() -> u64
  (func (export "golem:counter/api#get") (result i64)
    (global.get $value))

  ;; reset: func()
  (func (export "golem:counter/api#reset")
    (global.set $value (i64.const 0)))

  ;; save: func() -> list<u8>   (the counter as 8 bytes, little-endian)
  (func (export "golem:api/save-snapshot@1.1.0#save") (result i32)
    ;; wasm stores are little-endian: this writes the 8 snapshot bytes.
    (i64.store (i32.const 16) (global.get $value))
    (i32.store (i32.const 0) (i32.const 16))  ;; list ptr
    (i32.store (i32.const 4) (i32.const 8))   ;; list len
    (i32.const 0))                            ;; -> return area
)
