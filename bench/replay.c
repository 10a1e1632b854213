/*
 * Native baseline for `npm run bench`: replays a glibc mtrace log ("@ caller + PTR SIZE",
 * "@ caller - PTR", "@ caller < OLD" then "> NEW SIZE" for realloc) through the system malloc,
 * mapping the log's pointers to live blocks with an open-addressing hash table, and prints the
 * operations and nanoseconds per operation. emu's own code, written for this bench.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS (1u << 22) /* far more than the live pointers of the logs the bench makes */

static uint64_t keys[SLOTS];
static void *values[SLOTS];

static uint32_t slot_of(uint64_t key) {
  uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 42) & (SLOTS - 1);
  while (keys[i] != 0 && keys[i] != key) i = (i + 1) & (SLOTS - 1);
  return i;
}

static void put(uint64_t key, void *p) {
  uint32_t i = slot_of(key);
  keys[i] = key;
  values[i] = p;
}

/* Removes with backward-shift deletion, so probes stay short without tombstones. */
static void *take(uint64_t key) {
  uint32_t i = slot_of(key);
  if (keys[i] == 0) return NULL;
  void *p = values[i];
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & (SLOTS - 1);
    if (keys[j] == 0) break;
    uint32_t home = (uint32_t)((keys[j] * 0x9E3779B97F4A7C15ull) >> 42) & (SLOTS - 1);
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      keys[i] = keys[j];
      values[i] = values[j];
      i = j;
    }
  }
  keys[i] = 0;
  return p;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "r");
  if (!f) return 2;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  if (fread(text, 1, (size_t)n, f) != (size_t)n) return 2;
  text[n] = 0;
  fclose(f);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long ops = 0;
  uint64_t pending = 0; /* the block a "<" line releases to the ">" line after it */
  for (char *line = text; *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = 0;
    /* "@ CALLER KIND PTR [SIZE]": the caller has no spaces. */
    char *space = line[0] == '@' ? strchr(line + 2, ' ') : NULL;
    if (space && space[1] && space[2] == ' ') {
      char kind = space[1];
      char *rest = space + 3;
      uint64_t ptr = strtoull(rest, &rest, 16);
      if (kind == '+') {
        put(ptr, malloc(strtoull(rest, NULL, 16)));
        ops++;
      } else if (kind == '-') {
        free(take(ptr));
        ops++;
      } else if (kind == '<') {
        pending = ptr;
      } else if (kind == '>') {
        put(ptr, realloc(take(pending), strtoull(rest, NULL, 16)));
        ops++;
      }
    }
    if (!end) break;
    line = end + 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
  printf("{\"ops\": %ld, \"ns_per_op\": %.1f}\n", ops, ns / (double)ops);
  return 0;
}
