/*
 * geobed-linkem: a packet-level WAN emulator for kernels without netem.
 *
 * One process holds a TUN device in each node's network namespace and
 * carries every packet between nodes itself, hop by hop over the directed
 * links of the scenario. Each link is a drop-tail queue served at a rate
 * (bits/s, changeable live) or by Mahimahi delivery opportunities, then a
 * delay line (propagation delay, optional jitter, without reordering unless
 * asked), with seeded random loss. The model is Mahimahi's link shell, extended to a mesh.
 *
 * Control: one command per line on stdin, each answered on stdout by one
 * line, "ok" or "error <why>" (nothing changes on an error):
 *   seed <n>
 *   node <index> <namespace> <tun name> <ipv4>      open the TUN device in /run/netns/<namespace>
 *   link <id> <from index> <to index>
 *   route <node index> <destination ipv4> <link id> packets at the node for that address leave over the link
 *   set <link id> rate <bits/s> | delay <us> | jitter <us> | loss <probability> | queue <n> packets|bytes
 *                                          jitter: each packet's delay is uniform in delay +- jitter (not below 0)
 *   set <link id> reorder 0 | 1            1: packets leave the delay line when due, so jitter may reorder them;
 *                                          0 (default): never before the packet ahead (FIFO, as Mahimahi)
 *   set <link id> queueing fair | fifo     fair: deficit round-robin over (source, destination) pairs, packets
 *                                          under 128 bytes apart, drops from the longest flow; fifo: drop-tail
 *   set <link id> trace <file>                       Mahimahi delivery opportunities (ms, one per line, looped):
 *                                                    each delivers up to 1504 bytes; packets may span several
 *   log <link id> <file>                             per-packet log of that link, Mahimahi's format
 *   zero                                             count log and counter times from now
 *   stats <interval ms>                              print counters every interval (0: never)
 *   start                                            begin forwarding
 * Counters: "stats <ms since start> <link> <in bytes> <in packets> <out bytes> <out packets>
 * <queue drops> <loss drops> <queued bytes> <queued packets>".
 * It exits cleanly on end of stdin or SIGTERM/SIGINT; its TUN devices go with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "packet.h"

#define MAX_NODES 1024
#define MAX_LINKS 8192
#define MTU 1500
#define OPPORTUNITY_BYTES 1504
#define NEVER UINT64_MAX

typedef struct Packet {
  struct Packet *next;
  uint64_t arrived;  /* ns: entered the link's queue */
  uint64_t due;      /* ns: leaves the delay line */
  uint64_t flow;     /* (source, destination) pair, or SMALL_FLOW */
  uint32_t len;
  uint32_t dst;
  uint8_t data[];
} Packet;

typedef struct {
  Packet *head, *tail;
  uint64_t bytes, packets;
} Fifo;

/* A flow's queue in a fair link: packets of one (source, destination) pair. */
typedef struct {
  uint64_t key;
  Fifo queue;
  int64_t deficit;
  int active, next_active;
} Flow;

#define QUANTUM 1514
#define SMALL_FLOW UINT64_MAX /* packets under 128 bytes (ACKs): a flow of their own */

typedef struct {
  int used, from, to;
  uint64_t rate_bps;
  uint64_t delay_ns, jitter_ns;
  double loss;
  uint64_t queue_limit;
  int queue_in_bytes; /* queue_limit counts bytes (1) or packets (0); 0 = unlimited */
  int fair;           /* serve (source, destination) flows round-robin (DRR), else one FIFO */
  Fifo queue;         /* waiting (FIFO mode) */
  Flow *flows;        /* fair mode: every flow seen, and the round-robin list of those with packets */
  int n_flows, cap_flows, active_head, active_tail;
  uint64_t waiting_bytes, waiting_packets;
  Packet *on_wire;    /* the packet being sent, done at wire_done */
  uint64_t wire_done; /* ns: when its last bit leaves; NEVER when nothing is on the wire */
  Fifo delay_line;    /* ordered by due time */
  uint64_t last_due;  /* without reorder, no packet is due before the one ahead of it */
  int reorder;
  uint64_t rng;
  /* Mahimahi trace: opportunity times (ms) in one period */
  uint64_t *opportunities;
  size_t n_opportunities, next_opportunity;
  uint64_t period_ms, period_start_ns;
  uint64_t opportunity_at;     /* the last opportunity used... */
  uint32_t opportunity_left;   /* ...and its bytes not used yet (for a packet that starts at that instant) */
  FILE *log;
  uint64_t in_bytes, in_packets, out_bytes, out_packets, queue_drops, loss_drops;
} Link;

typedef struct {
  int used, fd;
  uint32_t address;
  int *route; /* destination node index -> link id, -1 none */
} Node;

static Node nodes[MAX_NODES];
static Link links[MAX_LINKS];
static int link_ids[MAX_LINKS]; /* the links in use, so the hot loop skips the rest */
static int n_links;
static int n_nodes_seen;
static uint64_t seed = 1;
static uint64_t start_ns, stats_interval_ns, next_stats_ns = NEVER;
static int started;

static uint64_t now_ns(void) {
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

static int node_of_address(uint32_t address) {
  for (int i = 0; i < MAX_NODES; i++)
    if (nodes[i].used && nodes[i].address == address) return i;
  return -1;
}

/* ---- links ---- */

static void fifo_push(Fifo *f, Packet *p) {
  p->next = NULL;
  if (f->tail) f->tail->next = p; else f->head = p;
  f->tail = p;
  f->bytes += p->len;
  f->packets++;
}

/* Into the delay line by due time (reorder mode); packets due at the same time keep their order. */
static void delay_line_insert(Fifo *f, Packet *p) {
  if (!f->tail || f->tail->due <= p->due) {
    fifo_push(f, p);
    return;
  }
  Packet **at = &f->head;
  while ((*at)->due <= p->due) at = &(*at)->next;
  p->next = *at;
  *at = p;
  f->bytes += p->len;
  f->packets++;
}

static Packet *fifo_pop(Fifo *f) {
  Packet *p = f->head;
  if (!p) return NULL;
  f->head = p->next;
  if (!f->head) f->tail = NULL;
  f->bytes -= p->len;
  f->packets--;
  return p;
}

/* Signed: a departure due just before a "zero" may be logged just after it. */
static double ms_since_start(uint64_t t) { return (double)(int64_t)(t - start_ns) / 1e6; }

static uint64_t wire_time_ns(const Link *l, uint32_t bytes) {
  if (l->rate_bps == 0) return NEVER;
  return (uint64_t)((double)bytes * 8.0 * 1e9 / (double)l->rate_bps);
}

/* The time of the next delivery opportunity at or after t (Mahimahi mode). */
static uint64_t opportunity_at_or_after(Link *l, uint64_t t) {
  for (;;) {
    if (l->next_opportunity >= l->n_opportunities) {
      l->next_opportunity = 0;
      l->period_start_ns += l->period_ms * 1000000ull;
    }
    uint64_t at = l->period_start_ns + l->opportunities[l->next_opportunity] * 1000000ull;
    if (at >= t) return at;
    l->next_opportunity++;
  }
}

static Flow *flow_for(Link *l, uint64_t key) {
  for (int i = 0; i < l->n_flows; i++)
    if (l->flows[i].key == key) return &l->flows[i];
  if (l->n_flows == l->cap_flows) {
    l->cap_flows = l->cap_flows ? 2 * l->cap_flows : 16;
    l->flows = realloc(l->flows, (size_t)l->cap_flows * sizeof *l->flows);
  }
  Flow *f = &l->flows[l->n_flows++];
  memset(f, 0, sizeof *f);
  f->key = key;
  f->next_active = -1;
  return f;
}

static void push_waiting(Link *l, Packet *p) {
  l->waiting_bytes += p->len;
  l->waiting_packets++;
  if (!l->fair) {
    fifo_push(&l->queue, p);
    return;
  }
  Flow *f = flow_for(l, p->flow);
  fifo_push(&f->queue, p);
  if (!f->active) {
    int index = (int)(f - l->flows);
    f->active = 1;
    f->deficit = 0;
    f->next_active = -1;
    if (l->active_tail >= 0) l->flows[l->active_tail].next_active = index; else l->active_head = index;
    l->active_tail = index;
  }
}

static void deactivate_head(Link *l) {
  Flow *f = &l->flows[l->active_head];
  l->active_head = f->next_active;
  if (l->active_head < 0) l->active_tail = -1;
  f->active = 0;
  f->next_active = -1;
}

/* The next packet to send: the FIFO's head, or deficit round-robin over the flows. */
static Packet *pop_waiting(Link *l) {
  Packet *p;
  if (!l->fair) {
    p = fifo_pop(&l->queue);
  } else {
    for (;;) {
      if (l->active_head < 0) return NULL;
      Flow *f = &l->flows[l->active_head];
      if (f->deficit < (int64_t)f->queue.head->len) {
        f->deficit += QUANTUM;
        if (l->active_head != l->active_tail) { /* to the back of the round */
          int index = l->active_head;
          deactivate_head(l);
          f->active = 1;
          l->flows[l->active_tail].next_active = index;
          l->active_tail = index;
        }
        continue;
      }
      p = fifo_pop(&f->queue);
      f->deficit -= p->len;
      if (!f->queue.head) deactivate_head(l);
      break;
    }
  }
  if (p) {
    l->waiting_bytes -= p->len;
    l->waiting_packets--;
  }
  return p;
}

/* Fair mode over its limit: drop the head of the longest flow (as fq_codel does). */
static void drop_from_longest(Link *l, uint64_t now) {
  Flow *longest = NULL;
  for (int i = l->active_head; i >= 0; i = l->flows[i].next_active)
    if (!longest || l->flows[i].queue.bytes > longest->queue.bytes) longest = &l->flows[i];
  if (!longest) return;
  Packet *p = fifo_pop(&longest->queue);
  l->waiting_bytes -= p->len;
  l->waiting_packets--;
  if (!longest->queue.head) {
    /* unlink it from the round */
    int index = (int)(longest - l->flows), prev = -1;
    for (int i = l->active_head; i >= 0 && i != index; i = l->flows[i].next_active) prev = i;
    if (prev < 0) l->active_head = longest->next_active; else l->flows[prev].next_active = longest->next_active;
    if (l->active_tail == index) l->active_tail = prev;
    longest->active = 0;
    longest->next_active = -1;
  }
  l->queue_drops++;
  if (l->log) fprintf(l->log, "%.3f d %u queue\n", ms_since_start(now), p->len);
  free(p);
}

static uint64_t queued_bytes(const Link *l) { return l->waiting_bytes + (l->on_wire ? l->on_wire->len : 0); }
static uint64_t queued_packets(const Link *l) { return l->waiting_packets + (l->on_wire ? 1 : 0); }

static int over_limit(const Link *l, uint32_t extra) {
  if (!l->queue_limit) return 0;
  return l->queue_in_bytes ? queued_bytes(l) + extra > l->queue_limit : queued_packets(l) + (extra ? 1 : 0) > l->queue_limit;
}

/* Put the next packet on the wire if the wire is free. */
static void start_head(Link *l, uint64_t now) {
  if (l->on_wire || l->waiting_packets == 0) return;
  Packet *p = pop_waiting(l);
  if (!p) return;
  l->on_wire = p;
  if (l->opportunities) {
    /* Mahimahi: each opportunity delivers up to 1504 bytes, whole packets or
       parts; a packet leaves at the opportunity that carries its last byte. */
    uint32_t remaining = p->len;
    if (l->opportunity_at != now) l->opportunity_left = 0; /* an opportunity unused when it came is gone */
    for (;;) {
      uint32_t use = remaining < l->opportunity_left ? remaining : l->opportunity_left;
      remaining -= use;
      l->opportunity_left -= use;
      if (remaining == 0) break;
      l->opportunity_at = opportunity_at_or_after(l, now);
      l->next_opportunity++;
      l->opportunity_left = OPPORTUNITY_BYTES;
    }
    l->wire_done = l->opportunity_at;
  } else {
    uint64_t t = wire_time_ns(l, p->len);
    l->wire_done = t == NEVER ? NEVER - 1 : now + t; /* NEVER-1: waiting for a rate */
  }
}

static void enqueue(int link_id, Packet *p, uint64_t now) {
  Link *l = &links[link_id];
  l->in_bytes += p->len;
  l->in_packets++;
  if (l->log) fprintf(l->log, "%.3f + %u\n", ms_since_start(now), p->len);
  if (l->loss > 0 && uniform(&l->rng) < l->loss) {
    l->loss_drops++;
    if (l->log) fprintf(l->log, "%.3f d %u loss\n", ms_since_start(now), p->len);
    free(p);
    return;
  }
  if (!l->fair && over_limit(l, p->len)) {
    l->queue_drops++;
    if (l->log) fprintf(l->log, "%.3f d %u queue\n", ms_since_start(now), p->len);
    free(p);
    return;
  }
  p->arrived = now;
  push_waiting(l, p);
  while (l->fair && over_limit(l, 0)) drop_from_longest(l, now);
  start_head(l, now);
}

/* Hand a packet to node v: its own TUN if it is for v, else the next link. */
static void arrive(int v, Packet *p, uint64_t now) {
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

/* Move everything due by `now` along; return the next time anything is due. */
static uint64_t advance(uint64_t now) {
  uint64_t next = NEVER;
  for (int k = 0; k < n_links; k++) {
    Link *l = &links[link_ids[k]];
    for (;;) {
      while (l->wire_done <= now && l->wire_done < NEVER - 1) {
        uint64_t left = l->wire_done;
        Packet *p = l->on_wire;
        l->on_wire = NULL;
        l->wire_done = NEVER;
        l->out_bytes += p->len;
        l->out_packets++;
        p->due = left + l->delay_ns;
        if (l->jitter_ns) {
          double shift = (2.0 * uniform(&l->rng) - 1.0) * (double)l->jitter_ns;
          p->due = shift < 0 && (uint64_t)-shift > l->delay_ns ? left : (uint64_t)((int64_t)p->due + (int64_t)shift);
        }
        if (l->log) fprintf(l->log, "%.3f - %u %.3f\n", ms_since_start(left), p->len, (double)(left - p->arrived) / 1e6);
        if (l->reorder) {
          delay_line_insert(&l->delay_line, p);
        } else {
          if (p->due < l->last_due) p->due = l->last_due;
          l->last_due = p->due;
          fifo_push(&l->delay_line, p);
        }
        start_head(l, left);
      }
      int moved = 0;
      while (l->delay_line.head && l->delay_line.head->due <= now) {
        arrive(l->to, fifo_pop(&l->delay_line), now);
        moved = 1;
      }
      if (!moved) break;
    }
    if (l->wire_done < NEVER - 1 && l->wire_done < next) next = l->wire_done;
    if (l->delay_line.head && l->delay_line.head->due < next) next = l->delay_line.head->due;
  }
  return next;
}

/* ---- control ---- */

static int open_tun(const char *namespace, const char *name, char *why, size_t why_len) {
  char path[512];
  snprintf(path, sizeof path, "/run/netns/%s", namespace);
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (home < 0 || target < 0) {
    snprintf(why, why_len, "no namespace %s", namespace);
    if (home >= 0) close(home);
    if (target >= 0) close(target);
    return -1;
  }
  int fd = -1;
  if (setns(target, CLONE_NEWNET) < 0) {
    snprintf(why, why_len, "cannot enter %s: %s", namespace, strerror(errno));
  } else {
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
      snprintf(why, why_len, "cannot open TUN %s in %s: %s", name, namespace, strerror(errno));
      if (fd >= 0) close(fd);
      fd = -1;
    }
    if (setns(home, CLONE_NEWNET) < 0) {
      fprintf(stderr, "geobed-linkem: cannot return to its own namespace: %s\n", strerror(errno));
      exit(1);
    }
  }
  close(home);
  close(target);
  return fd;
}

static int parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s) return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || s[0] == '-') return 0;
  *out = v;
  return 1;
}

static int parse_index(const char *s, int limit, int *out) {
  uint64_t v;
  if (!parse_u64(s, &v) || v >= (uint64_t)limit) return 0;
  *out = (int)v;
  return 1;
}

static int load_trace(Link *l, const char *file, char *why, size_t why_len) {
  FILE *f = fopen(file, "r");
  if (!f) {
    snprintf(why, why_len, "cannot read %s", file);
    return 0;
  }
  size_t cap = 1024, n = 0;
  uint64_t *times = malloc(cap * sizeof *times);
  char line[128];
  int line_no = 0;
  while (fgets(line, sizeof line, f)) {
    line_no++;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) continue;
    uint64_t ms;
    if (!parse_u64(line, &ms) || (n > 0 && ms < times[n - 1])) {
      snprintf(why, why_len, "%s:%d: expected a time in ms, not before the previous one", file, line_no);
      free(times);
      fclose(f);
      return 0;
    }
    if (n == cap) times = realloc(times, (cap *= 2) * sizeof *times);
    times[n++] = ms;
  }
  fclose(f);
  if (n == 0 || times[n - 1] == 0) {
    snprintf(why, why_len, "%s: no opportunities, or all at 0 ms", file);
    free(times);
    return 0;
  }
  free(l->opportunities);
  l->opportunities = times;
  l->n_opportunities = n;
  l->period_ms = times[n - 1];
  l->next_opportunity = 0;
  l->opportunity_left = 0;
  l->period_start_ns = started ? now_ns() : 0;
  return 1;
}

static void reply_error(const char *why) { printf("error %s\n", why); }

/* One command line; answers "ok" or "error ...". */
static void command(char *line, uint64_t now) {
  char *argv[8];
  int argc = 0;
  for (char *tok = strtok(line, " \t"); tok && argc < 8; tok = strtok(NULL, " \t")) argv[argc++] = tok;
  char why[300] = "";
  if (argc == 0) return;
  const char *cmd = argv[0];
  if (!strcmp(cmd, "seed") && argc == 2) {
    if (!parse_u64(argv[1], &seed)) return reply_error("seed: expected a non-negative integer");
    for (int i = 0; i < MAX_LINKS; i++) links[i].rng = seed ^ (0x5851f42d4c957f2dull * (uint64_t)(i + 1));
  } else if (!strcmp(cmd, "node") && argc == 5) {
    int v;
    struct in_addr a;
    if (!parse_index(argv[1], MAX_NODES, &v)) return reply_error("node: index out of range");
    if (nodes[v].used) return reply_error("node: index already in use");
    if (inet_pton(AF_INET, argv[4], &a) != 1) return reply_error("node: expected an IPv4 address");
    int fd = open_tun(argv[2], argv[3], why, sizeof why);
    if (fd < 0) return reply_error(why);
    nodes[v].used = 1;
    nodes[v].fd = fd;
    nodes[v].address = ntohl(a.s_addr);
    nodes[v].route = malloc(MAX_NODES * sizeof(int));
    for (int i = 0; i < MAX_NODES; i++) nodes[v].route[i] = -1;
    if (v + 1 > n_nodes_seen) n_nodes_seen = v + 1;
  } else if (!strcmp(cmd, "link") && argc == 4) {
    int id, from, to;
    if (!parse_index(argv[1], MAX_LINKS, &id)) return reply_error("link: id out of range");
    if (!parse_index(argv[2], MAX_NODES, &from) || !parse_index(argv[3], MAX_NODES, &to) || !nodes[from].used || !nodes[to].used || from == to)
      return reply_error("link: expected two different nodes declared before");
    if (links[id].used) return reply_error("link: id already in use");
    Link *l = &links[id];
    uint64_t rng = seed ^ (0x5851f42d4c957f2dull * (uint64_t)(id + 1));
    memset(l, 0, sizeof *l);
    l->used = 1;
    l->from = from;
    l->to = to;
    l->wire_done = NEVER;
    l->rng = rng;
    l->active_head = l->active_tail = -1;
    link_ids[n_links++] = id;
  } else if (!strcmp(cmd, "route") && argc == 4) {
    int v, id;
    struct in_addr a;
    if (!parse_index(argv[1], MAX_NODES, &v) || !nodes[v].used) return reply_error("route: unknown node");
    if (inet_pton(AF_INET, argv[2], &a) != 1) return reply_error("route: expected an IPv4 address");
    int d = node_of_address(ntohl(a.s_addr));
    if (d < 0) return reply_error("route: no node has that address");
    if (!parse_index(argv[3], MAX_LINKS, &id) || !links[id].used || links[id].from != v) return reply_error("route: the link must leave that node");
    nodes[v].route[d] = id;
  } else if (!strcmp(cmd, "set") && argc >= 4) {
    int id;
    if (!parse_index(argv[1], MAX_LINKS, &id) || !links[id].used) return reply_error("set: unknown link");
    Link *l = &links[id];
    const char *what = argv[2];
    uint64_t v;
    if (!strcmp(what, "rate") && argc == 4 && parse_u64(argv[3], &v)) {
      /* The head on the wire finishes its remaining bits at the new rate. */
      if (l->wire_done < NEVER - 1 && l->rate_bps > 0 && !l->opportunities) {
        double bits_left = (double)(l->wire_done > now ? l->wire_done - now : 0) * (double)l->rate_bps / 1e9;
        l->wire_done = v ? now + (uint64_t)(bits_left * 1e9 / (double)v) : NEVER - 1;
      } else if (l->wire_done == NEVER - 1) {
        l->wire_done = NEVER;
      }
      l->rate_bps = v;
      free(l->opportunities);
      l->opportunities = NULL;
      start_head(l, now);
    } else if (!strcmp(what, "delay") && argc == 4 && parse_u64(argv[3], &v)) {
      l->delay_ns = v * 1000;
    } else if (!strcmp(what, "jitter") && argc == 4 && parse_u64(argv[3], &v)) {
      l->jitter_ns = v * 1000;
    } else if (!strcmp(what, "reorder") && argc == 4 && (!strcmp(argv[3], "0") || !strcmp(argv[3], "1"))) {
      l->reorder = argv[3][0] == '1';
      /* From now on: what is in the delay line already stays in order, and new packets follow it without reorder */
      l->last_due = l->delay_line.tail ? l->delay_line.tail->due : 0;
    } else if (!strcmp(what, "loss") && argc == 4) {
      char *end;
      double p = strtod(argv[3], &end);
      if (*end || !(p >= 0 && p <= 1)) return reply_error("set loss: expected a probability in [0, 1]");
      l->loss = p;
    } else if (!strcmp(what, "queue") && argc == 5 && parse_u64(argv[3], &v) && (!strcmp(argv[4], "packets") || !strcmp(argv[4], "bytes"))) {
      l->queue_limit = v;
      l->queue_in_bytes = !strcmp(argv[4], "bytes");
    } else if (!strcmp(what, "queueing") && argc == 4 && (!strcmp(argv[3], "fair") || !strcmp(argv[3], "fifo"))) {
      if (queued_packets(l) > 0) return reply_error("set queueing: only while the link holds no packets");
      l->fair = !strcmp(argv[3], "fair");
    } else if (!strcmp(what, "trace") && argc == 4) {
      if (!load_trace(l, argv[3], why, sizeof why)) return reply_error(why);
      if (started && l->wire_done == NEVER - 1) l->wire_done = NEVER;
      if (started) {
        l->period_start_ns = now;
        start_head(l, now);
      }
    } else {
      return reply_error("set: expected rate <bits/s>, delay <us>, jitter <us>, reorder 0|1, loss <p>, queue <n> packets|bytes, queueing fair|fifo or trace <file>");
    }
  } else if (!strcmp(cmd, "log") && argc == 3) {
    int id;
    if (!parse_index(argv[1], MAX_LINKS, &id) || !links[id].used) return reply_error("log: unknown link");
    FILE *f = fopen(argv[2], "w");
    if (!f) return reply_error("log: cannot write the file");
    if (links[id].log) fclose(links[id].log);
    links[id].log = f;
    if (started) fprintf(f, "# base timestamp: 0\n");
  } else if (!strcmp(cmd, "zero") && argc == 1) {
    if (!started) return reply_error("zero: not started");
    start_ns = now;
  } else if (!strcmp(cmd, "stats") && argc == 2) {
    uint64_t ms;
    if (!parse_u64(argv[1], &ms)) return reply_error("stats: expected an interval in ms");
    stats_interval_ns = ms * 1000000ull;
    next_stats_ns = ms && started ? now + stats_interval_ns : NEVER;
  } else if (!strcmp(cmd, "start") && argc == 1) {
    if (started) return reply_error("start: already started");
    started = 1;
    start_ns = now;
    for (int i = 0; i < MAX_LINKS; i++) {
      if (links[i].used && links[i].opportunities) links[i].period_start_ns = now;
      if (links[i].used && links[i].log) fprintf(links[i].log, "# base timestamp: 0\n");
    }
    if (stats_interval_ns) next_stats_ns = now + stats_interval_ns;
  } else {
    return reply_error("unknown command or wrong number of arguments");
  }
  printf("ok\n");
}

static void print_stats(uint64_t now) {
  for (int i = 0; i < MAX_LINKS; i++) {
    Link *l = &links[i];
    if (!l->used) continue;
    printf("stats %.3f %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
           ms_since_start(now), i, l->in_bytes, l->in_packets, l->out_bytes, l->out_packets, l->queue_drops, l->loss_drops,
           queued_bytes(l), queued_packets(l));
  }
}

/* Read every packet a node's TUN has for us. */
static void drain_tun(int v, uint64_t now) {
  uint8_t buffer[65536];
  for (;;) {
    ssize_t n = read(nodes[v].fd, buffer, sizeof buffer);
    if (n <= 0) return;
    uint32_t dst;
    if (!started || !ipv4_destination(buffer, (size_t)n, &dst)) continue; /* not a packet we carry */
    Packet *p = malloc(sizeof *p + (size_t)n);
    if (!p) continue;
    memcpy(p->data, buffer, (size_t)n);
    p->len = (uint32_t)n;
    p->dst = dst;
    uint32_t src = ((uint32_t)buffer[12] << 24) | ((uint32_t)buffer[13] << 16) | ((uint32_t)buffer[14] << 8) | buffer[15];
    p->flow = n < 128 ? SMALL_FLOW : ((uint64_t)src << 32) | dst;
    arrive(v, p, now);
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  prctl(PR_SET_TIMERSLACK, 1UL); /* wake at the nanosecond asked, not 50 us later */
  for (int i = 0; i < MAX_LINKS; i++) links[i].rng = seed ^ (0x5851f42d4c957f2dull * (uint64_t)(i + 1));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int signals = signalfd(-1, &mask, SFD_CLOEXEC);
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u64 = (uint64_t)-1; epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
  ev.data.u64 = (uint64_t)-2; epoll_ctl(ep, EPOLL_CTL_ADD, signals, &ev);
  ev.data.u64 = (uint64_t)-3; epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev);
  int registered[MAX_NODES] = {0};
  char input[8192];
  size_t input_len = 0;

  for (;;) {
    uint64_t now = now_ns();
    uint64_t next = started ? advance(now) : NEVER;
    if (started && next_stats_ns <= now) {
      print_stats(now);
      next_stats_ns = now + stats_interval_ns;
    }
    if (next_stats_ns < next) next = next_stats_ns;
    struct itimerspec its = {0};
    if (next != NEVER) {
      uint64_t at = next > now ? next : now + 1;
      its.it_value.tv_sec = (time_t)(at / 1000000000ull);
      its.it_value.tv_nsec = (long)(at % 1000000000ull);
    }
    timerfd_settime(timer, TFD_TIMER_ABSTIME, &its, NULL);
    for (int v = 0; v < n_nodes_seen; v++) {
      if (nodes[v].used && !registered[v]) {
        struct epoll_event e = {.events = EPOLLIN};
        e.data.u64 = (uint64_t)v;
        epoll_ctl(ep, EPOLL_CTL_ADD, nodes[v].fd, &e);
        registered[v] = 1;
      }
    }
    struct epoll_event events[64];
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno != EINTR) return 1;
    now = now_ns();
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == (uint64_t)-1) {
        ssize_t r = read(STDIN_FILENO, input + input_len, sizeof input - 1 - input_len);
        if (r <= 0) return 0; /* stdin closed: done */
        input_len += (size_t)r;
        char *start = input, *nl;
        while ((nl = memchr(start, '\n', input_len - (size_t)(start - input)))) {
          *nl = 0;
          command(start, now);
          start = nl + 1;
        }
        input_len -= (size_t)(start - input);
        memmove(input, start, input_len);
        if (input_len == sizeof input - 1) {
          reply_error("line too long");
          input_len = 0;
        }
      } else if (tag == (uint64_t)-2) {
        return 0;
      } else if (tag == (uint64_t)-3) {
        uint64_t expirations;
        if (read(timer, &expirations, sizeof expirations) < 0) { /* nothing to do */ }
      } else {
        drain_tun((int)tag, now);
      }
    }
  }
}
