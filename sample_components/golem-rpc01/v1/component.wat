;; golem-rpc01 v1: golem:rpc/types@0.1.0 (a wasm-rpc resource addressed by a worker URI) from WAT.
;;
;; Canonical ABI (wasm32) notes:
;; - `[constructor]wasm-rpc(location: uri)`: uri { value: string } flattens to (ptr, len) and the
;;   handle comes back as i32.
;; - `[method]wasm-rpc.invoke-and-await(self, function-name, function-params: list<wit-value>)`
;;   lowers to (handle, name ptr, name len, list ptr, list len, retptr); the result<wit-value,
;;   rpc-error> there is {disc u8 @0, ok: nodes ptr @4, len @8 | err: rpc-error disc u8 @4,
;;   message ptr @8, len @12}.
;; - A wit-node is 24 bytes, align 8 (its largest case, handle(tuple<uri, u64>), is 16 bytes at
;;   offset 8); `prim-u64` is case 11 with the u64 at offset 8. Golem returns the results as a
;;   tuple in node 0, so a single result is node 1.
;; - The exported result<u64, string> is returned through {disc @0, u64 @8 | ptr @8, len @12}.
;;
;; Memory layout: [64, 80) import return area; [96, 112) export return area; [1024, ...) bump
;; heap, reset when each export starts.
(module
  (import "golem:rpc/types@0.1.0" "[constructor]wasm-rpc" (func $connect (param i32 i32) (result i32)))
  (import "golem:rpc/types@0.1.0" "[method]wasm-rpc.invoke-and-await"
    (func $invoke_and_await (param i32 i32 i32 i32 i32 i32)))
  (import "golem:rpc/types@0.1.0" "[resource-drop]wasm-rpc" (func $drop_rpc (param i32)))

  (memory (export "memory") 1)
  (global $heap_base i32 (i32.const 1024))
  (global $heap (mut i32) (i32.const 1024))

  (func (export "golem:rpc01/api#remote-get")
      (param $uptr i32) (param $ulen i32) (param $fptr i32) (param $flen i32) (result i32)
    (local $rpc i32) (local $node i32)
    (global.set $heap (global.get $heap_base))
    (local.set $rpc (call $connect (local.get $uptr) (local.get $ulen)))
    (call $invoke_and_await (local.get $rpc) (local.get $fptr) (local.get $flen)
                            (i32.const 0) (i32.const 0) (i32.const 64))
    (call $drop_rpc (local.get $rpc))
    (if (i32.load8_u (i32.const 64))
      (then  ;; the rpc-error's message
        (i32.store8 (i32.const 96) (i32.const 1))
        (i32.store (i32.const 104) (i32.load (i32.const 72)))
        (i32.store (i32.const 108) (i32.load (i32.const 76)))
        (return (i32.const 96))))
    (if (i32.lt_u (i32.load (i32.const 72)) (i32.const 2)) (then unreachable))  ;; no result
    (local.set $node (i32.add (i32.load (i32.const 68)) (i32.const 24)))
    (if (i32.ne (i32.load8_u (local.get $node)) (i32.const 11)) (then unreachable))  ;; not a u64
    (i32.store8 (i32.const 96) (i32.const 0))
    (i64.store (i32.const 104) (i64.load offset=8 (local.get $node)))
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
