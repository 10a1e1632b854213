/*
 * physics.wat in C, for psp-game-wasm's physics component: bodies under gravity bouncing on the
 * floor, in 16.16 fixed point, kept in the module's own memory; each step publishes every body's
 * position (x, y: 8 bytes) into the buffer it is given (the shared region phys2render, which physics
 * may only write) and returns a checksum of the positions. No libc: the build is in build-c.mjs.
 */
#define MAX_BODIES 1024
#define EXPORT(name) __attribute__((export_name(name)))

struct body {
  int x, y, vx, vy;
};

static struct body bodies[MAX_BODIES];
static unsigned count;

/* Sets up n bodies (at most 1024) at deterministic positions and speeds; returns n. */
EXPORT("init") unsigned init(unsigned n) {
  if (n > MAX_BODIES) n = MAX_BODIES;
  count = n;
  for (unsigned i = 0; i < n; i++) {
    bodies[i].x = (int)((i * 3) << 16);
    bodies[i].y = (int)((100 + (i * 37) % 200) << 16);
    bodies[i].vx = (int)((i * 7919) % 0x20000) - 0x10000;
    bodies[i].vy = 0;
  }
  return n;
}

/* One step of every body: gravity, motion, a bounce on y = 0 losing a quarter of the speed. */
EXPORT("step") unsigned step(int *out) {
  unsigned sum = 0;
  for (unsigned i = 0; i < count; i++) {
    struct body *b = &bodies[i];
    int vy = b->vy - 0x4000;
    int x = (int)((unsigned)b->x + (unsigned)b->vx);
    int y = (int)((unsigned)b->y + (unsigned)vy);
    if (y < 0) {
      y = -y;
      vy = -(vy - (vy >> 2));
    }
    b->x = x;
    b->y = y;
    b->vy = vy;
    out[2 * i] = x;
    out[2 * i + 1] = y;
    sum = ((sum << 5) | (sum >> 27)) + ((unsigned)x ^ (unsigned)y);
  }
  return sum;
}
