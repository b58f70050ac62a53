/*
 * Drives one link of geobed-linkem (link.c, queue.c, state.c) in virtual time, from a
 * script on stdin, so tests can make the emulator's events happen in any
 * order at exact times (the real emulator's order depends on when the
 * kernel wakes it). Node 0 sends over link 0 to node 1; the link's
 * per-packet log (Mahimahi's format, ms) goes to stdout. Commands:
 *   rate <bits/s> [<ns>]     the link's rate, from that time on (default 0)
 *   delay <us>               its propagation delay
 *   trace <ms> [<ms>...]     Mahimahi delivery opportunities instead of a rate (looped at the last), from 0
 *   stats <ms>               counter readings every that many ms from 0, printed as the emulator prints them
 *   arrive <ns> <bytes>      a packet for node 1 reaches the link at that time
 *   advance <ns>             the emulator wakes at that time and moves what is due (and the readings due)
 * Usage: link-replay < script
 */
#include <stdlib.h>
#include <string.h>
#include "linkem.h"

int main(void) {
  static int route0[2] = {-1, 0}, route1[2] = {-1, -1};
  started = 1;
  FILE *sink = fopen("/dev/null", "w");
  if (!sink) return 1;
  nodes[0] = (Node){.used = 1, .fd = -1, .address = 0xC6120001u, .route = route0};
  nodes[1] = (Node){.used = 1, .fd = fileno(sink), .address = 0xC6120002u, .route = route1};
  n_nodes_seen = 2;
  link_init(&links[0], 0, 0, 1);
  link_ids[n_links++] = 0;
  links[0].log = stdout;
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    char what[16];
    if (!strncmp(line, "trace ", 6)) {
      Opportunities *o = &links[0].trace;
      size_t cap = 16;
      o->times = malloc(cap * sizeof *o->times);
      o->n = 0;
      for (char *tok = strtok(line + 6, " \n"); tok; tok = strtok(NULL, " \n")) {
        if (o->n == cap) o->times = realloc(o->times, (cap *= 2) * sizeof *o->times);
        o->times[o->n++] = strtoull(tok, NULL, 10);
      }
      if (!o->n || !o->times[o->n - 1]) return 2;
      o->period_ms = o->times[o->n - 1];
      continue;
    }
    unsigned long long a = 0, b = 0;
    int n = sscanf(line, "%15s %llu %llu", what, &a, &b);
    if (n < 2) continue;
    if (!strcmp(what, "rate")) {
      link_set_rate(&links[0], a, n == 3 ? b : 0);
    } else if (!strcmp(what, "delay")) {
      links[0].delay.delay_ns = a * 1000ull;
    } else if (!strcmp(what, "arrive") && n == 3 && b >= 20 && b <= MTU) {
      Packet *p = calloc(1, sizeof *p + b);
      if (!p) return 1;
      p->len = (uint32_t)b;
      p->dst = nodes[1].address;
      p->flow = ((uint64_t)nodes[0].address << 32) | nodes[1].address;
      arrive(0, p, a);
    } else if (!strcmp(what, "stats")) {
      stats_interval_ns = a * 1000000ull;
      next_stats_ns = a ? next_stats_after(0) : NEVER;
    } else if (!strcmp(what, "advance")) {
      catch_up(a);
    } else {
      fprintf(stderr, "link-replay: cannot read \"%s\"\n", strtok(line, "\n"));
      return 2;
    }
  }
  return 0;
}
