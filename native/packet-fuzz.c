/*
 * Fuzzes geobed-linkem's packet parser: millions of random and mutated
 * buffers must never be read past their end (run it under valgrind or
 * -fsanitize=address to see), and the parser must accept exactly the
 * well-formed IPv4 headers. Prints "ok <cases>" or the first disagreement,
 * exit 1. Usage: packet-fuzz <cases> <seed>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "packet.h"

static unsigned long long state;
static unsigned rnd(void) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return (unsigned)(state >> 33);
}

/* The same rules, written the slow, obvious way. */
static int reference(const unsigned char *p, size_t len, unsigned *dst) {
  if (len < 20) return 0;
  int version = p[0] / 16, ihl = p[0] % 16;
  if (version != 4 || ihl < 5 || (size_t)ihl * 4 > len) return 0;
  size_t total = (size_t)p[2] * 256 + p[3];
  if (total != len || total < (size_t)ihl * 4) return 0;
  *dst = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
  return 1;
}

int main(int argc, char **argv) {
  long cases = argc > 1 ? atol(argv[1]) : 1000000;
  state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
  for (long i = 0; i < cases; i++) {
    size_t len = rnd() % 96;
    unsigned char *p = malloc(len ? len : 1); /* exactly len bytes: a sanitizer catches any overread */
    for (size_t j = 0; j < len; j++) p[j] = (unsigned char)rnd();
    if (len >= 4 && rnd() % 2) { /* often make it nearly valid */
      p[0] = (unsigned char)(0x40 | (5 + rnd() % 3));
      p[2] = (unsigned char)(len >> 8);
      p[3] = (unsigned char)(len - (rnd() % 4 == 0));
    }
    uint32_t got = 0;
    unsigned want = 0;
    int a = ipv4_destination(p, len, &got), b = reference(p, len, &want);
    if (a != b || (a && got != want)) {
      printf("disagree on case %ld (len %zu): parser %d, reference %d\n", i, len, a, b);
      return 1;
    }
    free(p);
  }
  printf("ok %ld\n", cases);
  return 0;
}
