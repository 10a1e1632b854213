;; Physics for the psp-game-wasm scenario: bodies under gravity bouncing on the floor, in 16.16 fixed
;; point. The bodies live in the module's own memory (its segment); each step publishes every body's
;; position (x, y: 8 bytes) into the buffer it is given, the shared region phys2render, which physics
;; may only write. Memory: one 64 KiB page; the bodies start at 0x1000, 16 bytes each (x, y, vx, vy),
;; at most 1024 of them.
(module
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))

  ;; Sets up n bodies (at most 1024) at deterministic positions and speeds; returns n.
  (func $init (export "init") (param $n i32) (result i32)
    (local $i i32) (local $p i32)
    (if (i32.gt_u (local.get $n) (i32.const 1024)) (then (local.set $n (i32.const 1024))))
    (global.set $count (local.get $n))
    (local.set $p (i32.const 0x1000))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store offset=0 (local.get $p) (i32.shl (i32.mul (local.get $i) (i32.const 3)) (i32.const 16)))
        (i32.store offset=4 (local.get $p) (i32.shl (i32.add (i32.const 100) (i32.rem_u (i32.mul (local.get $i) (i32.const 37)) (i32.const 200))) (i32.const 16)))
        (i32.store offset=8 (local.get $p) (i32.sub (i32.rem_u (i32.mul (local.get $i) (i32.const 7919)) (i32.const 0x20000)) (i32.const 0x10000)))
        (i32.store offset=12 (local.get $p) (i32.const 0))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; One step of every body: gravity, motion, a bounce on y = 0 losing a quarter of the speed. Writes
  ;; (x, y) of body i at out + 8i and returns a checksum of the positions.
  (func $step (export "step") (param $out i32) (result i32)
    (local $i i32) (local $p i32) (local $x i32) (local $y i32) (local $vy i32) (local $sum i32)
    (local.set $p (i32.const 0x1000))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $count)))
        (local.set $vy (i32.sub (i32.load offset=12 (local.get $p)) (i32.const 0x4000)))
        (local.set $x (i32.add (i32.load offset=0 (local.get $p)) (i32.load offset=8 (local.get $p))))
        (local.set $y (i32.add (i32.load offset=4 (local.get $p)) (local.get $vy)))
        (if (i32.lt_s (local.get $y) (i32.const 0))
          (then
            (local.set $y (i32.sub (i32.const 0) (local.get $y)))
            (local.set $vy (i32.sub (i32.const 0) (i32.sub (local.get $vy) (i32.shr_s (local.get $vy) (i32.const 2)))))))
        (i32.store offset=0 (local.get $p) (local.get $x))
        (i32.store offset=4 (local.get $p) (local.get $y))
        (i32.store offset=12 (local.get $p) (local.get $vy))
        (i32.store offset=0 (local.get $out) (local.get $x))
        (i32.store offset=4 (local.get $out) (local.get $y))
        (local.set $sum (i32.add (i32.rotl (local.get $sum) (i32.const 5)) (i32.xor (local.get $x) (local.get $y))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum))
)
