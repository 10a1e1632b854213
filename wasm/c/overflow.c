/*
 * overflow.wat in C: a component with an off-by-one overflow. A table of 64 words ends exactly at the
 * end of the module's memory (one 64 KiB page, so at the end of its segment when the segment is
 * 64 KiB); the loop that fills it runs while i <= count instead of i < count, so fill(64) writes one
 * word past it, into the guard after the segment. fill(63) stays inside and returns the table's sum.
 */
#define TABLE_WORDS 64
#define MEMORY_BYTES 65536

static unsigned *const table = (unsigned *)(MEMORY_BYTES - TABLE_WORDS * 4);

__attribute__((export_name("fill"))) unsigned fill(unsigned count) {
  for (unsigned i = 0; i <= count; i++) /* the bug: <= */
    table[i] = i * i;
  unsigned sum = 0;
  for (unsigned i = 0; i < TABLE_WORDS; i++) sum += table[i];
  return sum;
}
