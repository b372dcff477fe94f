;; golem-kvstream v1: wasi:keyvalue@0.1.0 values written and read through wasi:io streams.
;;
;; Canonical ABI (wasm32) notes:
;; - Results that flatten to more than one value are written at a return pointer passed last:
;;   result<handle, error> = {disc u8 @0, handle @4}; result<option<handle>, error> = {disc
;;   u8 @0, option disc u8 @4, handle @8}; result<list<u8>, stream-error> = {disc u8 @0, ptr
;;   @4, len @8}; result<_, E> = {disc u8 @0, ...}.
;; - get-directories writes list<tuple<own<descriptor>, string>> as (ptr, len) at the return
;;   pointer; each element is 12 bytes: handle @0, string ptr @4, len @8.
;; - The exported option<list<u8>> is returned through a return area {disc @0, ptr @4, len @8};
;;   list<string> through {ptr @0, len @4}, elements (ptr, len).
;;
;; Memory layout: [64, 96) import return area; [96, 112) export return area; [1024, ...) bump
;; heap, reset when each export starts. Successive reads of a stream are allocated back to back
;; (list<u8> has alignment 1), so `fetch` gets one contiguous value.
(module
  (import "wasi:keyvalue/types@0.1.0" "[static]bucket.open-bucket" (func $open_bucket (param i32 i32 i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]bucket" (func $drop_bucket (param i32)))
  (import "wasi:keyvalue/types@0.1.0" "[static]outgoing-value.new-outgoing-value"
    (func $new_outgoing (result i32)))
  (import "wasi:keyvalue/types@0.1.0" "[method]outgoing-value.outgoing-value-write-body-async"
    (func $write_body (param i32 i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]outgoing-value" (func $drop_outgoing (param i32)))
  (import "wasi:keyvalue/types@0.1.0" "[method]incoming-value.incoming-value-consume-async"
    (func $consume (param i32 i32)))
  (import "wasi:keyvalue/types@0.1.0" "[resource-drop]incoming-value" (func $drop_incoming (param i32)))
  (import "wasi:keyvalue/eventual@0.1.0" "set" (func $set (param i32 i32 i32 i32 i32)))
  (import "wasi:keyvalue/eventual@0.1.0" "get" (func $get (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.3" "[method]output-stream.blocking-write-and-flush"
    (func $write_and_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.3" "[resource-drop]output-stream" (func $drop_output (param i32)))
  (import "wasi:io/streams@0.2.3" "[method]input-stream.blocking-read" (func $read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.3" "[resource-drop]input-stream" (func $drop_input (param i32)))
  (import "wasi:filesystem/preopens@0.2.3" "get-directories" (func $get_directories (param i32)))
  (import "wasi:filesystem/types@0.2.3" "[resource-drop]descriptor" (func $drop_descriptor (param i32)))

  (memory (export "memory") 1)
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  (func $reset (global.set $heap (global.get $heap_base)))

  ;; the bucket named (ptr, len), or -1
  (func $bucket (param $ptr i32) (param $len i32) (result i32)
    (call $open_bucket (local.get $ptr) (local.get $len) (i32.const 64))
    (if (result i32) (i32.load8_u (i32.const 64))
      (then (i32.const -1))
      (else (i32.load (i32.const 68)))))

  (func (export "golem:kvstream/api#put")
      (param $bptr i32) (param $blen i32) (param $kptr i32) (param $klen i32)
      (param $vptr i32) (param $vlen i32) (result i32)
    (local $bucket i32) (local $value i32) (local $stream i32) (local $ok i32)
    (local $offset i32) (local $chunk i32)
    (local.set $bucket (call $bucket (local.get $bptr) (local.get $blen)))
    (if (i32.eq (local.get $bucket) (i32.const -1)) (then (return (i32.const 0))))
    (local.set $value (call $new_outgoing))
    (call $write_body (local.get $value) (i32.const 64))
    (local.set $ok (i32.eqz (i32.load8_u (i32.const 64))))
    (if (local.get $ok)
      (then
        (local.set $stream (i32.load (i32.const 68)))
        ;; blocking-write-and-flush takes at most 4096 bytes at a time
        (block $written
          (loop $more
            (br_if $written (i32.ge_u (local.get $offset) (local.get $vlen)))
            (local.set $chunk (i32.sub (local.get $vlen) (local.get $offset)))
            (if (i32.gt_u (local.get $chunk) (i32.const 4096))
              (then (local.set $chunk (i32.const 4096))))
            (call $write_and_flush (local.get $stream)
                                   (i32.add (local.get $vptr) (local.get $offset))
                                   (local.get $chunk) (i32.const 64))
            (if (i32.load8_u (i32.const 64))
              (then (local.set $ok (i32.const 0)) (br $written)))
            (local.set $offset (i32.add (local.get $offset) (local.get $chunk)))
            (br $more)))
        (call $drop_output (local.get $stream))))
    (if (local.get $ok)
      (then
        (call $set (local.get $bucket) (local.get $kptr) (local.get $klen) (local.get $value)
                   (i32.const 64))
        (local.set $ok (i32.eqz (i32.load8_u (i32.const 64))))))
    (call $drop_outgoing (local.get $value))
    (call $drop_bucket (local.get $bucket))
    (call $reset)
    (local.get $ok))

  (func (export "golem:kvstream/api#fetch")
      (param $bptr i32) (param $blen i32) (param $kptr i32) (param $klen i32) (result i32)
    (local $bucket i32) (local $value i32) (local $stream i32) (local $start i32)
    (local $total i32) (local $first i32)
    (call $reset)
    (i32.store8 (i32.const 96) (i32.const 0))  ;; none, unless a value is read
    (local.set $bucket (call $bucket (local.get $bptr) (local.get $blen)))
    (if (i32.eq (local.get $bucket) (i32.const -1)) (then (return (i32.const 96))))
    (call $get (local.get $bucket) (local.get $kptr) (local.get $klen) (i32.const 64))
    (call $drop_bucket (local.get $bucket))
    (if (i32.load8_u (i32.const 64)) (then unreachable))  ;; a store error
    (if (i32.eqz (i32.load8_u (i32.const 68))) (then (return (i32.const 96))))  ;; no such key
    (local.set $value (i32.load (i32.const 72)))
    (call $consume (local.get $value) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (local.set $stream (i32.load (i32.const 68)))
    (local.set $first (i32.const 1))
    (block $closed
      (loop $more
        (call $read (local.get $stream) (i64.const 65536) (i32.const 64))
        (br_if $closed (i32.load8_u (i32.const 64)))
        (if (local.get $first)
          (then (local.set $start (i32.load (i32.const 68))) (local.set $first (i32.const 0))))
        (local.set $total (i32.add (local.get $total) (i32.load (i32.const 72))))
        (br $more)))
    (call $drop_input (local.get $stream))
    (call $drop_incoming (local.get $value))
    (i32.store8 (i32.const 96) (i32.const 1))
    (i32.store (i32.const 100) (local.get $start))
    (i32.store (i32.const 104) (local.get $total))
    (i32.const 96))

  (func (export "golem:kvstream/api#directories") (result i32)
    (local $list i32) (local $count i32) (local $i i32) (local $names i32) (local $entry i32)
    (call $reset)
    (call $get_directories (i32.const 64))
    (local.set $list (i32.load (i32.const 64)))
    (local.set $count (i32.load (i32.const 68)))
    (local.set $names (call $alloc (i32.mul (local.get $count) (i32.const 8)) (i32.const 4)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $entry (i32.add (local.get $list) (i32.mul (local.get $i) (i32.const 12))))
        (call $drop_descriptor (i32.load (local.get $entry)))
        (i32.store (i32.add (local.get $names) (i32.mul (local.get $i) (i32.const 8)))
                   (i32.load offset=4 (local.get $entry)))
        (i32.store (i32.add (local.get $names) (i32.add (i32.mul (local.get $i) (i32.const 8))
                                                        (i32.const 4)))
                   (i32.load offset=8 (local.get $entry)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.store (i32.const 96) (local.get $names))
    (i32.store (i32.const 100) (local.get $count))
    (i32.const 96))

  (func $alloc (param $size i32) (param $align i32) (result i32)
    (call $realloc (i32.const 0) (i32.const 0) (local.get $align) (local.get $size)))

  ;; cabi_realloc(old_ptr, old_size, align, new_size) -> ptr: bump allocator
  ;; (see counter v3 for the commented version).
  (func $realloc (export "cabi_realloc")
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
