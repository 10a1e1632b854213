;; A program whose allocations go through emu: a linked list of nodes from env.emu_malloc (12 bytes:
;; value, next, and a checksum word), walked and summed, then freed with env.emu_free. The list head
;; is kept in the module's memory (address 16), so it persists between calls. emu serves the calls
;; from the heap the scenario names (a TLSF heap placed in the component's segment, past the module's
;; own first page).
(module
  (import "env" "emu_malloc" (func $malloc (param i32) (result i32)))
  (import "env" "emu_free" (func $free (param i32)))
  (memory (export "memory") 1)

  ;; Pushes n nodes with values 1..n; returns how many were allocated (it stops at the first null).
  (func $build (export "build") (param $n i32) (result i32)
    (local $i i32) (local $node i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $node (call $malloc (i32.const 12)))
        (br_if $done (i32.eqz (local.get $node)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (i32.store offset=0 (local.get $node) (local.get $i))
        (i32.store offset=4 (local.get $node) (i32.load (i32.const 16)))
        (i32.store offset=8 (local.get $node) (i32.xor (local.get $i) (i32.const 0x5A5A5A5A)))
        (i32.store (i32.const 16) (local.get $node))
        (br $next)))
    (local.get $i))

  ;; The sum of the values in the list.
  (func $sum (export "sum") (result i32)
    (local $node i32) (local $sum i32)
    (local.set $node (i32.load (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $node)))
        (local.set $sum (i32.add (local.get $sum) (i32.load offset=0 (local.get $node))))
        (local.set $node (i32.load offset=4 (local.get $node)))
        (br $next)))
    (local.get $sum))

  ;; Frees every node; returns how many.
  (func $release (export "release") (result i32)
    (local $node i32) (local $next i32) (local $n i32)
    (local.set $node (i32.load (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $node)))
        (local.set $next (i32.load offset=4 (local.get $node)))
        (call $free (local.get $node))
        (local.set $node (local.get $next))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 16) (i32.const 0))
    (local.get $n))
)
