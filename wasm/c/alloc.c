/*
 * alloc.wat in C: a program whose allocations go through emu. A linked list of 12-byte nodes (value,
 * next, a checksum word) from env.emu_malloc, walked and summed, then freed with env.emu_free; the
 * list head lives in the module's memory, so it persists between calls. emu serves the calls from the
 * heap the scenario names.
 */
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("emu_malloc") void *emu_malloc(unsigned size);
IMPORT("emu_free") void emu_free(void *block);

struct node {
  unsigned value;
  struct node *next;
  unsigned check;
};

static struct node *head;

/* Pushes n nodes with values 1..n; returns how many were allocated (it stops at the first null). */
EXPORT("build") unsigned build(unsigned n) {
  unsigned i = 0;
  while (i < n) {
    struct node *node = emu_malloc(sizeof *node);
    if (!node) break;
    i++;
    node->value = i;
    node->next = head;
    node->check = i ^ 0x5A5A5A5Au;
    head = node;
  }
  return i;
}

/* The sum of the values in the list. */
EXPORT("sum") unsigned sum(void) {
  unsigned total = 0;
  for (struct node *node = head; node; node = node->next) total += node->value;
  return total;
}

/* Frees every node; returns how many. */
EXPORT("release") unsigned release(void) {
  unsigned n = 0;
  for (struct node *node = head, *next; node; node = next) {
    next = node->next;
    emu_free(node);
    n++;
  }
  head = 0;
  return n;
}
