;; A component with an off-by-one overflow: a table of 64 words that ends exactly at the end of the
;; module's memory (one 64 KiB page, so at the end of its segment when the segment is 64 KiB), filled
;; by a loop that runs while i <= count instead of i < count. fill(64) writes one word past the table:
;; in the original module that is out of bounds (a trap); rebased, it lands in the guard after the
;; segment, where the target catches it (a canary on the PSP, found later; an MMU guard page on QNX,
;; at once). fill(63) stays inside and returns the table's sum.
(module
  (memory (export "memory") 1 1)

  (func $fill (export "fill") (param $count i32) (result i32)
    (local $i i32) (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (local.get $i) (local.get $count)))
        (i32.store offset=0xFF00 (i32.shl (local.get $i) (i32.const 2)) (i32.mul (local.get $i) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 64)))
        (local.set $sum (i32.add (local.get $sum) (i32.load offset=0xFF00 (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))
)
