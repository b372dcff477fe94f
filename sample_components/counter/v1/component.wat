;; counter v1: increment + get, no snapshot exports.
;;
;; Canonical ABI (wasm32): a u64 parameter or result is one flat i64, so both
;; functions need no linear memory at all. Core exports are named
;; "<interface>#<function>"; `wasm-tools component embed` + `component new`
;; lift them into the component export `golem:counter/api`.
(module
  ;; The counter's whole state: one mutable global.
  (global $value (mut i64) (i64.const 0))

  ;; increment: func(by: u64) -> u64
  (func (export "golem:counter/api#increment") (param $by i64) (result i64)
    (global.set $value (i64.add (global.get $value) (local.get $by)))
    (global.get $value))

  ;; get: func() -> u64
  (func (export "golem:counter/api#get") (result i64)
    (global.get $value))
)
