/*
 * A packet's way over a directed link: seeded random loss, the link's queue
 * (queue.c), the wire (its rate, or Mahimahi delivery opportunities), the
 * delay line, then the next node, which delivers it to its TUN device or
 * hands it to its next link.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "linkem.h"

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, seedable, and the same sequence everywhere */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *state) {
  return (double)(next_random(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Each link's own random stream, from the run's seed. */
uint64_t link_seed(int id) {
  return seed ^ (0x5851f42d4c957f2dull * (uint64_t)(id + 1));
}

/* Signed: a departure due just before a "zero" may be logged just after it. */
double ms_since_start(uint64_t t) { return (double)(int64_t)(t - start_ns) / 1e6; }

int node_of_address(uint32_t address) {
  for (int i = 0; i < MAX_NODES; i++)
    if (nodes[i].used && nodes[i].address == address) return i;
  return -1;
}

void link_init(Link *l, int id, int from, int to) {
  memset(l, 0, sizeof *l);
  l->used = 1;
  l->from = from;
  l->to = to;
  l->wire_done = NEVER;
  l->rng = link_seed(id);
  l->queue.active_head = l->queue.active_tail = -1;
}

uint64_t queued_bytes(const Link *l) { return l->queue.bytes + (l->on_wire ? l->on_wire->len : 0); }
uint64_t queued_packets(const Link *l) { return l->queue.packets + (l->on_wire ? 1 : 0); }

static int over_limit(const Link *l, uint32_t extra) {
  const Queue *q = &l->queue;
  if (!q->limit) return 0;
  return q->limit_in_bytes ? queued_bytes(l) + extra > q->limit : queued_packets(l) + (extra ? 1 : 0) > q->limit;
}

static uint64_t wire_time_ns(const Link *l, uint32_t bytes) {
  if (l->rate_bps == 0) return NEVER;
  return (uint64_t)((double)bytes * 8.0 * 1e9 / (double)l->rate_bps);
}

/* The time of the next delivery opportunity at or after t (Mahimahi mode). */
static uint64_t opportunity_at_or_after(Opportunities *o, uint64_t t) {
  for (;;) {
    if (o->next >= o->n) {
      o->next = 0;
      o->period_start_ns += o->period_ms * 1000000ull;
    }
    uint64_t at = o->period_start_ns + o->times[o->next] * 1000000ull;
    if (at >= t) return at;
    o->next++;
  }
}

/*
 * Mahimahi: each opportunity delivers up to 1504 bytes, whole packets or
 * parts, a packet counting its TUN header (linkem.h); it leaves at the
 * opportunity that carries its last byte.
 */
static uint64_t opportunity_done(Opportunities *o, uint32_t bytes, uint64_t now) {
  uint32_t remaining = bytes;
  if (o->used_at != now) o->left = 0; /* an opportunity unused when it came is gone */
  for (;;) {
    uint32_t use = remaining < o->left ? remaining : o->left;
    remaining -= use;
    o->left -= use;
    if (remaining == 0) return o->used_at;
    o->used_at = opportunity_at_or_after(o, now);
    o->next++;
    o->left = OPPORTUNITY_BYTES;
  }
}

/*
 * Put the next packet on the wire if the wire is free. Its service starts
 * at max(now, its arrival): `now` may be an earlier departure's time that
 * is handled late, and a packet is never served before it came.
 */
void start_head(Link *l, uint64_t now) {
  if (l->on_wire || l->queue.packets == 0) return;
  Packet *p = queue_pop(&l->queue);
  if (!p) return;
  uint64_t at = p->arrived > now ? p->arrived : now;
  l->on_wire = p;
  if (l->trace.times) {
    l->wire_done = opportunity_done(&l->trace, p->len + TUN_HEADER_BYTES, at);
  } else {
    uint64_t t = wire_time_ns(l, p->len + ETHERNET_HEADER_BYTES);
    l->wire_done = t == NEVER ? WAITING_FOR_RATE : at + t;
    l->wire_bits_left = (double)(p->len + ETHERNET_HEADER_BYTES) * 8.0;
  }
}

/*
 * A new rate, at once: the packet on the wire sends its remaining bits at
 * it. At 0 the packet stays on the wire, its bits left kept, until a rate
 * above 0 (or a trace) comes back; the queue behind it waits. A trace no
 * longer applies.
 */
void link_set_rate(Link *l, uint64_t bps, uint64_t now) {
  if (l->on_wire && !l->trace.times) {
    if (l->wire_done != WAITING_FOR_RATE) /* sending at the old rate (above 0): what is left of it */
      l->wire_bits_left = (double)(l->wire_done > now ? l->wire_done - now : 0) * (double)l->rate_bps / 1e9;
    l->wire_done = bps ? now + (uint64_t)(l->wire_bits_left * 1e9 / (double)bps) : WAITING_FOR_RATE;
  }
  l->rate_bps = bps;
  free(l->trace.times);
  l->trace.times = NULL;
  start_head(l, now);
}

/* A trace replaces a rate of 0: the packet held on the wire sends what it has left at the trace's opportunities. */
void link_resume_on_trace(Link *l, uint64_t now) {
  if (!l->on_wire || l->wire_done != WAITING_FOR_RATE) return;
  double frame_bits = (double)(l->on_wire->len + ETHERNET_HEADER_BYTES) * 8.0;
  uint32_t bytes_left = (uint32_t)((l->on_wire->len + TUN_HEADER_BYTES) * (l->wire_bits_left / frame_bits) + 0.999);
  l->wire_done = opportunity_done(&l->trace, bytes_left ? bytes_left : 1, now);
}

static void drop(Link *l, Packet *p, uint64_t now, const char *why) {
  if (l->log) fprintf(l->log, "%.3f d %u %s\n", ms_since_start(now), p->len, why);
  free(p);
}

static void enqueue(int link_id, Packet *p, uint64_t now) {
  Link *l = &links[link_id];
  l->count.in_bytes += p->len;
  l->count.in_packets++;
  if (l->log) fprintf(l->log, "%.3f + %u\n", ms_since_start(now), p->len);
  if (l->loss > 0 && uniform(&l->rng) < l->loss) {
    l->count.loss_drops++;
    return drop(l, p, now, "loss");
  }
  if (!l->queue.fair && over_limit(l, p->len)) {
    l->count.queue_drops++;
    return drop(l, p, now, "queue");
  }
  p->arrived = now;
  queue_push(&l->queue, p);
  while (l->queue.fair && over_limit(l, 0)) {
    Packet *victim = queue_drop_longest(&l->queue);
    if (!victim) break;
    l->count.queue_drops++;
    drop(l, victim, now, "queue");
  }
  start_head(l, now);
}

/* Hand a packet to node v: its own TUN if it is for v, else the next link. */
void arrive(int v, Packet *p, uint64_t now) {
  int d = node_of_address(p->dst);
  if (d == v) {
    if (write(nodes[v].fd, p->data, p->len) < 0) { /* full or gone: the packet is lost, as on a wire */ }
    free(p);
    return;
  }
  int link_id = d < 0 ? -1 : nodes[v].route[d];
  if (link_id < 0) {
    free(p);
    return;
  }
  enqueue(link_id, p, now);
}

/* The packet on the wire has left (at `left`): into the delay line, and the next one onto the wire. */
static void finish_wire(Link *l) {
  uint64_t left = l->wire_done;
  Packet *p = l->on_wire;
  DelayLine *d = &l->delay;
  l->on_wire = NULL;
  l->wire_done = NEVER;
  l->count.out_bytes += p->len;
  l->count.out_packets++;
  p->due = left + d->delay_ns;
  if (d->jitter_ns) {
    double shift = (2.0 * uniform(&l->rng) - 1.0) * (double)d->jitter_ns;
    p->due = shift < 0 && (uint64_t)-shift > d->delay_ns ? left : (uint64_t)((int64_t)p->due + (int64_t)shift);
  }
  if (l->log) fprintf(l->log, "%.3f - %u %.3f\n", ms_since_start(left), p->len, (double)(int64_t)(left - p->arrived) / 1e6);
  if (l->pcap) pcap_write(l->pcap, p, left);
  if (d->reorder) {
    fifo_insert_by_due(&d->packets, p);
  } else {
    if (p->due < d->last_due) p->due = d->last_due;
    d->last_due = p->due;
    fifo_push(&d->packets, p);
  }
  start_head(l, left);
}

/* Move everything due by `now` along; return the next time anything is due. */
uint64_t advance(uint64_t now) {
  uint64_t next = NEVER;
  for (int k = 0; k < n_links; k++) {
    Link *l = &links[link_ids[k]];
    Fifo *line = &l->delay.packets;
    for (;;) {
      while (l->wire_done <= now && l->wire_done < WAITING_FOR_RATE) finish_wire(l);
      int moved = 0;
      while (line->head && line->head->due <= now) {
        arrive(l->to, fifo_pop(line), now);
        moved = 1;
      }
      if (!moved) break;
    }
    if (l->wire_done < WAITING_FOR_RATE && l->wire_done < next) next = l->wire_done;
    if (line->head && line->head->due < next) next = line->head->due;
  }
  return next;
}

/* Does any link replay a Mahimahi trace? */
int trace_links(void) {
  for (int k = 0; k < n_links; k++)
    if (links[link_ids[k]].trace.times) return 1;
  return 0;
}

/*
 * The first instant after `now` a whole number of stats intervals from the
 * run's epoch (start_ns, which may be ahead): readings fall on the run's
 * 100 ms grid, as the bins of the traces they are checked against.
 */
uint64_t next_stats_after(uint64_t now) {
  int64_t since = (int64_t)(now - start_ns), step = (int64_t)stats_interval_ns;
  int64_t k = since / step - (since % step != 0 && since < 0) + 1; /* floor(since / step) + 1 */
  return start_ns + (uint64_t)(k * step);
}

/*
 * Move everything due by `now`, printing each reading that fell due on the
 * way as of its own instant: the counters of packets that left before it
 * (one due exactly then counts in the next reading, as a trace's rate bin
 * [t, t + 1 ms) holds the opportunity at t), stamped with it. A reading's
 * time is when its counters held, however late the emulator woke; missed
 * readings give way to the latest. Returns the next time anything is due.
 */
uint64_t catch_up(uint64_t now) {
  if (next_stats_ns <= now) {
    uint64_t at = next_stats_ns;
    if (now - at >= stats_interval_ns) at += (now - at) / stats_interval_ns * stats_interval_ns;
    advance(at - 1);
    print_stats(at);
    next_stats_ns = at + stats_interval_ns;
  }
  return advance(now);
}

void print_stats(uint64_t now) {
  for (int i = 0; i < MAX_LINKS; i++) {
    Link *l = &links[i];
    if (!l->used) continue;
    Counters *c = &l->count;
    printf("stats %.3f %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
           ms_since_start(now), i, c->in_bytes, c->in_packets, c->out_bytes, c->out_packets, c->queue_drops, c->loss_drops,
           queued_bytes(l), queued_packets(l));
  }
}
