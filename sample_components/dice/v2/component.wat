;; dice v2: identical to v1 except that `roll` calls wall-clock `now` BEFORE
;; get-random-u64 (a different host-call sequence: replaying a v1 history that
;; contains `roll` diverges).
;;
;; Exports golem:dice/api {roll, total, now-seconds, consult, ponder}; imports
;; wasi:random/random@0.2.0, wasi:clocks/wall-clock@0.2.0 and golem:dice/oracle.
;;
;; Canonical ABI (wasm32) notes:
;; - Core imports are named (module = "<interface>", name = "<function>").
;; - `get-random-u64: func() -> u64` lowers to () -> i64.
;; - `now: func() -> datetime` returns a record {seconds: u64, nanoseconds: u32}:
;;   two flat values, so the lowered import takes a return pointer (i32) and
;;   the host writes the record there: seconds: u64 @0, nanoseconds: u32 @8.
;; - `ask: func(question: string) -> u64` lowers to (ptr, len) -> i64: the host
;;   reads the UTF-8 bytes from this module's memory.
;; - The exported `consult(question: string)` receives (ptr, len); the host
;;   first allocates the string here through `cabi_realloc`. `consult` resets
;;   the bump heap before returning (there is no `cabi_post_*`).
;;
;; Memory layout: [0, 16) datetime return area; [1024, ...) bump heap.
(module
  (import "wasi:random/random@0.2.0" "get-random-u64" (func $get_random_u64 (result i64)))
  (import "wasi:clocks/wall-clock@0.2.0" "now" (func $now (param i32)))
  (import "golem:dice/oracle" "ask" (func $ask (param i32 i32) (result i64)))

  (memory (export "memory") 1)

  (global $total (mut i64) (i64.const 0))
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; roll: func() -> u64   host calls: now, then get-random-u64 (v1: get-random-u64 only)
  (func (export "golem:dice/api#roll") (result i64)
    (local $die i64)
    (call $now (i32.const 0))      ;; new in v2; the time is not used
    (local.set $die
      (i64.add (i64.rem_u (call $get_random_u64) (i64.const 6)) (i64.const 1)))
    (global.set $total (i64.add (global.get $total) (local.get $die)))
    (local.get $die))

  ;; total: func() -> u64   no host calls
  (func (export "golem:dice/api#total") (result i64)
    (global.get $total))

  ;; now-seconds: func() -> u64   host calls: now
  (func (export "golem:dice/api#now-seconds") (result i64)
    (call $now (i32.const 0))      ;; datetime written at 0
    (i64.load (i32.const 0)))      ;; .seconds

  ;; consult: func(question: string) -> u64   host calls: ask
  (func (export "golem:dice/api#consult") (param $ptr i32) (param $len i32) (result i64)
    (local $answer i64)
    (local.set $answer (call $ask (local.get $ptr) (local.get $len)))
    (global.set $total (i64.add (global.get $total) (local.get $answer)))
    (global.set $heap (global.get $heap_base))   ;; free the question
    (local.get $answer))

  ;; ponder: func(question: string) -> u64   host calls: ask; returns the answer + 1000 (v2: a different result for the same host calls)
  (func (export "golem:dice/api#ponder") (param $ptr i32) (param $len i32) (result i64)
    (local $answer i64)
    (local.set $answer (call $ask (local.get $ptr) (local.get $len)))
    (global.set $heap (global.get $heap_base))   ;; free the question
    (i64.add (local.get $answer) (i64.const 1000)))

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
