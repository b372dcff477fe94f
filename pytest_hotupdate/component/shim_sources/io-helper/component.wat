
(module
  (import "wasi:clocks/monotonic-clock@0.2.6" "subscribe-duration"
    (func $subscribe_duration (param i64) (result i32)))
  (import "wasi:filesystem/preopens@0.2.6" "get-directories" (func $get_directories (param i32)))
  (import "wasi:filesystem/types@0.2.6" "[method]descriptor.open-at"
    (func $open_at (param i32 i32 i32 i32 i32 i32 i32)))
  (import "wasi:filesystem/types@0.2.6" "[method]descriptor.write-via-stream"
    (func $write_via_stream (param i32 i64 i32)))
  (import "wasi:filesystem/types@0.2.6" "[method]descriptor.read-via-stream"
    (func $read_via_stream (param i32 i64 i32)))
  (import "wasi:filesystem/types@0.2.6" "[resource-drop]descriptor" (func $drop_descriptor (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (func (export "hotupdate:io/make#ready") (result i32)
    (call $subscribe_duration (i64.const 0)))

  (func (export "hotupdate:io/make#directories") (result i32)
    (global.set $heap (i32.const 1024))
    (call $get_directories (i32.const 64))
    (i32.const 64))

  ;; open `name` in `dir` with these flags, then a stream on it: (file, stream) at 96
  (func $open (param $dir i32) (param $ptr i32) (param $len i32) (param $open_flags i32)
      (param $descriptor_flags i32) (param $write i32) (result i32)
    (local $file i32)
    (call $open_at (local.get $dir) (i32.const 0) (local.get $ptr) (local.get $len)
      (local.get $open_flags) (local.get $descriptor_flags) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then unreachable))
    (local.set $file (i32.load (i32.const 68)))
    (if (local.get $write)
      (then (call $write_via_stream (local.get $file) (i64.const 0) (i32.const 80)))
      (else (call $read_via_stream (local.get $file) (i64.const 0) (i32.const 80))))
    (if (i32.load8_u (i32.const 80)) (then unreachable))
    (call $drop_descriptor (local.get $dir))
    (global.set $heap (i32.const 1024))
    (i32.store (i32.const 96) (local.get $file))
    (i32.store (i32.const 100) (i32.load (i32.const 84)))
    (i32.const 96))

  (func (export "hotupdate:io/make#open-write") (param i32 i32 i32) (result i32)
    (call $open (local.get 0) (local.get 1) (local.get 2) (i32.const 9) (i32.const 2) (i32.const 1)))

  (func (export "hotupdate:io/make#open-read") (param i32 i32 i32) (result i32)
    (call $open (local.get 0) (local.get 1) (local.get 2) (i32.const 0) (i32.const 1) (i32.const 0)))

