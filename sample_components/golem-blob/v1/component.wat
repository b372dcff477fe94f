;; golem-blob v1: Golem's resource-based wasi:blobstore (unversioned) from WAT.
;;
;; Canonical ABI (wasm32) notes:
;; - `get-container: func(name) -> result<container, error>` (error = string) lowers to
;;   (ptr, len, retptr): {disc u8 @0, handle @4 | string ptr @4, len @8}.
;; - `[method]container.get-data(self, name, start: u64, end: u64) -> result<incoming-value,
;;   error>` lowers to (handle, ptr, len, i64, i64, retptr), same layout.
;; - `[method]incoming-value.incoming-value-consume-sync(self) -> result<list<u8>, error>`
;;   lowers to (handle, retptr): {disc @0, ptr @4, len @8} for both cases.
;; - `has-object` -> result<bool, error>: {disc @0, bool @4 | string @4, @8};
;;   `delete-object` -> result<_, error>: {disc @0, string @4, @8}.
;; - `[method]incoming-value.incoming-value-consume-async(self) -> result<input-stream, error>`
;;   lowers to (handle, retptr): {disc @0, handle @4 | string @4, @8};
;;   `[method]input-stream.blocking-read(self, len: u64) -> result<list<u8>, stream-error>` to
;;   (handle, i64, retptr): {disc @0, ptr @4, len @8}. Successive reads are allocated back to
;;   back (list<u8> has alignment 1), so `read-stream` gets one contiguous value.
;; - The exports return through one area at 96 with the layout of their result.
;;
;; Memory layout: [16, 28) container result; [32, 44) data result; [48, 60) bytes result;
;; [96, 108) export return area; [1024, ...) bump heap, reset when each export returns.
(module
  (import "wasi:blobstore/blobstore" "get-container" (func $get_container (param i32 i32 i32)))
  (import "wasi:blobstore/container" "[method]container.get-data"
    (func $get_data (param i32 i32 i32 i64 i64 i32)))
  (import "wasi:blobstore/container" "[method]container.has-object"
    (func $has_object (param i32 i32 i32 i32)))
  (import "wasi:blobstore/container" "[method]container.delete-object"
    (func $delete_object (param i32 i32 i32 i32)))
  (import "wasi:blobstore/container" "[resource-drop]container" (func $drop_container (param i32)))
  (import "wasi:blobstore/types" "[method]incoming-value.incoming-value-consume-sync"
    (func $consume (param i32 i32)))
  (import "wasi:blobstore/types" "[resource-drop]incoming-value" (func $drop_value (param i32)))
  (import "wasi:blobstore/container" "[method]container.write-data"
    (func $write_data (param i32 i32 i32 i32 i32)))
  (import "wasi:blobstore/types" "[static]outgoing-value.new-outgoing-value"
    (func $new_outgoing (result i32)))
  (import "wasi:blobstore/types" "[resource-drop]outgoing-value" (func $drop_outgoing (param i32)))
  (import "wasi:blobstore/types" "[method]outgoing-value.outgoing-value-write-body"
    (func $write_body (param i32 i32)))
  (import "wasi:io/streams@0.2.3" "[method]output-stream.blocking-write-and-flush"
    (func $write_and_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.3" "[resource-drop]output-stream" (func $drop_output (param i32)))
  (import "wasi:blobstore/types" "[method]incoming-value.incoming-value-consume-async"
    (func $consume_async (param i32 i32)))
  (import "wasi:io/streams@0.2.3" "[method]input-stream.blocking-read" (func $read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.3" "[resource-drop]input-stream" (func $drop_input (param i32)))

  (memory (export "memory") 1)
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  ;; Copies the 12-byte result at `from` to the export return area and returns the latter.
  (func $answer (param $from i32) (result i32)
    (i32.store8 (i32.const 96) (i32.load8_u (local.get $from)))
    (i32.store (i32.const 100) (i32.load offset=4 (local.get $from)))
    (i32.store (i32.const 104) (i32.load offset=8 (local.get $from)))
    (global.set $heap (global.get $heap_base))
    (i32.const 96))

  ;; The container handle (at 20) if `get-container` succeeded (the result at 16 is ok).
  (func $open (param $ptr i32) (param $len i32) (result i32)
    (call $get_container (local.get $ptr) (local.get $len) (i32.const 16))
    (i32.eqz (i32.load8_u (i32.const 16))))

  ;; read: func(container: string, object: string) -> result<list<u8>, string>
  (func (export "golem:blob/api#read")
      (param $cp i32) (param $cl i32) (param $op i32) (param $ol i32) (result i32)
    (local $container i32) (local $value i32)
    (if (i32.eqz (call $open (local.get $cp) (local.get $cl)))
      (then (return (call $answer (i32.const 16)))))
    (local.set $container (i32.load (i32.const 20)))
    (call $get_data (local.get $container) (local.get $op) (local.get $ol)
                    (i64.const 0) (i64.const -1) (i32.const 32))
    (call $drop_container (local.get $container))
    (if (i32.load8_u (i32.const 32))
      (then (return (call $answer (i32.const 32)))))
    (local.set $value (i32.load (i32.const 36)))
    (call $consume (local.get $value) (i32.const 48))
    (call $drop_value (local.get $value))
    (call $answer (i32.const 48)))

  ;; read-stream: func(container: string, object: string) -> result<list<u8>, string>
  (func (export "golem:blob/api#read-stream")
      (param $cp i32) (param $cl i32) (param $op i32) (param $ol i32) (result i32)
    (local $container i32) (local $value i32) (local $stream i32) (local $start i32)
    (local $total i32) (local $first i32)
    (if (i32.eqz (call $open (local.get $cp) (local.get $cl)))
      (then (return (call $answer (i32.const 16)))))
    (local.set $container (i32.load (i32.const 20)))
    (call $get_data (local.get $container) (local.get $op) (local.get $ol)
                    (i64.const 0) (i64.const -1) (i32.const 32))
    (call $drop_container (local.get $container))
    (if (i32.load8_u (i32.const 32))
      (then (return (call $answer (i32.const 32)))))
    (local.set $value (i32.load (i32.const 36)))
    (call $consume_async (local.get $value) (i32.const 48))
    (if (i32.load8_u (i32.const 48))
      (then (call $drop_value (local.get $value)) (return (call $answer (i32.const 48)))))
    (local.set $stream (i32.load (i32.const 52)))
    (local.set $first (i32.const 1))
    (block $closed
      (loop $more
        (call $read (local.get $stream) (i64.const 65536) (i32.const 48))
        (br_if $closed (i32.load8_u (i32.const 48)))
        (if (local.get $first)
          (then (local.set $start (i32.load (i32.const 52))) (local.set $first (i32.const 0))))
        (local.set $total (i32.add (local.get $total) (i32.load (i32.const 56))))
        (br $more)))
    (call $drop_input (local.get $stream))
    (call $drop_value (local.get $value))
    (i32.store8 (i32.const 48) (i32.const 0))
    (i32.store (i32.const 52) (local.get $start))
    (i32.store (i32.const 56) (local.get $total))
    (call $answer (i32.const 48)))

  ;; write: func(container: string, object: string) -> result<_, string>: the object's name as
  ;; its body, written through `outgoing-value-write-body` (result<output-stream>: {disc @0,
  ;; handle @4}) and committed with `container.write-data(name, borrow<outgoing-value>)`
  ;; (`(self, name ptr, len, value, retptr)`, result<_, error> like `delete-object`).
  (func (export "golem:blob/api#write")
      (param $cp i32) (param $cl i32) (param $op i32) (param $ol i32) (result i32)
    (local $container i32) (local $value i32)
    (if (i32.eqz (call $open (local.get $cp) (local.get $cl)))
      (then (return (call $answer (i32.const 16)))))
    (local.set $container (i32.load (i32.const 20)))
    (local.set $value (call $new_outgoing))
    (call $write_body (local.get $value) (i32.const 48))
    (if (i32.eqz (i32.load8_u (i32.const 48)))
      (then
        (call $write_and_flush (i32.load (i32.const 52)) (local.get $op) (local.get $ol)
                               (i32.const 64))
        (call $drop_output (i32.load (i32.const 52)))))
    (call $write_data (local.get $container) (local.get $op) (local.get $ol) (local.get $value)
                      (i32.const 32))
    (call $drop_outgoing (local.get $value))
    (call $drop_container (local.get $container))
    (call $answer (i32.const 32)))

  ;; has: func(container: string, object: string) -> result<bool, string>
  (func (export "golem:blob/api#has")
      (param $cp i32) (param $cl i32) (param $op i32) (param $ol i32) (result i32)
    (local $container i32)
    (if (i32.eqz (call $open (local.get $cp) (local.get $cl)))
      (then (return (call $answer (i32.const 16)))))
    (local.set $container (i32.load (i32.const 20)))
    (call $has_object (local.get $container) (local.get $op) (local.get $ol) (i32.const 32))
    (call $drop_container (local.get $container))
    (call $answer (i32.const 32)))

  ;; remove: func(container: string, object: string) -> result<_, string>
  (func (export "golem:blob/api#remove")
      (param $cp i32) (param $cl i32) (param $op i32) (param $ol i32) (result i32)
    (local $container i32)
    (if (i32.eqz (call $open (local.get $cp) (local.get $cl)))
      (then (return (call $answer (i32.const 16)))))
    (local.set $container (i32.load (i32.const 20)))
    (call $delete_object (local.get $container) (local.get $op) (local.get $ol) (i32.const 32))
    (call $drop_container (local.get $container))
    (call $answer (i32.const 32)))

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
