/*
 * geobed-linkem: a packet-level WAN emulator for kernels without netem.
 *
 * One process holds a TUN device in each node's network namespace and
 * carries every packet between nodes itself, hop by hop over the directed
 * links of the scenario. Each link is a drop-tail queue served at a rate
 * (bits/s, changeable live) or by Mahimahi delivery opportunities, then a
 * delay line (propagation delay, optional jitter, without reordering unless
 * asked), with seeded random loss. The model is Mahimahi's link shell,
 * extended to a mesh.
 *
 * The files: queue.c (a link's waiting packets: one FIFO, or fair queueing
 * over flows), link.c (a packet's way over a link: loss, queue, wire, delay
 * line, the next hop), control.c (the commands on stdin), main.c (the event
 * loop), state.c (the shared state). The commands are listed in control.c.
 */
#ifndef GEOBED_LINKEM_H
#define GEOBED_LINKEM_H
#include <stdint.h>
#include <stdio.h>

#define MAX_NODES 1024
#define MAX_LINKS 8192
#define MTU 1500
/* A Mahimahi delivery opportunity: 1504 bytes of what Mahimahi reads from its TUN device, each IP packet behind
 * a 4-byte TUN header (Mahimahi opens it without IFF_NO_PI: src/util/netdevice.cc TunDevice; link_queue.cc counts
 * the bytes it read). So one opportunity carries one 1500-byte IP packet; geobed's TUN has no header, so each
 * packet is charged its length plus TUN_HEADER_BYTES against the opportunities. */
#define OPPORTUNITY_BYTES 1504
#define TUN_HEADER_BYTES 4
/* A rate counts Ethernet frames, as htb on a veth and the simulator do: each IP packet and a 14-byte header. */
#define ETHERNET_HEADER_BYTES 14
#define NEVER UINT64_MAX
#define DEFAULT_MODERATION_NS 500000ull
/* wire_done while the packet on the wire waits for a rate above 0 (its bits left: wire_bits_left) */
#define WAITING_FOR_RATE (NEVER - 1)
#define QUANTUM 1514
#define SMALL_FLOW UINT64_MAX /* packets under 128 bytes (ACKs): a flow of their own */

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

/* A link's waiting packets (queue.c): one FIFO, or one per flow served by deficit round-robin. */
typedef struct {
  int fair;
  Fifo fifo;          /* FIFO mode */
  Flow *flows;        /* fair mode: every flow seen, and the round-robin list of those with packets */
  int n_flows, cap_flows, active_head, active_tail;
  uint64_t bytes, packets;
  uint64_t limit;     /* 0 = unlimited */
  int limit_in_bytes; /* the limit counts bytes (1) or packets (0) */
} Queue;

/* Mahimahi delivery opportunities (ms, one period, looped); times == NULL: the link is served at its rate. */
typedef struct {
  uint64_t *times;
  size_t n, next;
  uint64_t period_ms, period_start_ns;
  uint64_t used_at;  /* the last opportunity used... */
  uint32_t left;     /* ...and its bytes not used yet (for a packet that starts at that instant) */
} Opportunities;

/* After the wire: the propagation delay, jitter, and the order packets leave in. */
typedef struct {
  uint64_t delay_ns, jitter_ns;
  int reorder;
  uint64_t last_due; /* without reorder, no packet is due before the one ahead of it */
  Fifo packets;      /* ordered by due time */
} DelayLine;

typedef struct {
  uint64_t in_bytes, in_packets, out_bytes, out_packets, queue_drops, loss_drops;
} Counters;

typedef struct {
  int used, from, to;
  double loss;
  uint64_t rng;
  Queue queue;
  uint64_t rate_bps;
  Opportunities trace;
  Packet *on_wire;    /* the packet being sent, done at wire_done */
  uint64_t wire_done; /* ns: when its last bit leaves; NEVER when nothing is on the wire */
  double wire_bits_left; /* while wire_done is WAITING_FOR_RATE: what the packet on the wire still has to send */
  DelayLine delay;
  FILE *log;
  FILE *pcap;         /* the packets that left the link's wire, in libpcap's format (pcap.c) */
  Counters count;
} Link;

typedef struct {
  int used, fd;
  uint32_t address;
  int *route; /* destination node index -> link id, -1 none */
} Node;

/* The emulator's state (state.c). */
extern Node nodes[MAX_NODES];
extern Link links[MAX_LINKS];
extern int link_ids[MAX_LINKS]; /* the links in use, so the hot loop skips the rest */
extern int n_links;
extern int n_nodes_seen;
extern uint64_t seed;
extern uint64_t start_ns, stats_interval_ns, next_stats_ns;
extern int started;
extern uint64_t moderation_ns; /* wake-up moderation under load (main.c): 0 = every event on time */
extern int64_t realtime_minus_monotonic_ns; /* for pcap timestamps (wall clock) from CLOCK_MONOTONIC times */

/* queue.c */
void fifo_push(Fifo *f, Packet *p);
Packet *fifo_pop(Fifo *f);
void fifo_insert_by_due(Fifo *f, Packet *p);
void queue_push(Queue *q, Packet *p);
Packet *queue_pop(Queue *q);
Packet *queue_drop_longest(Queue *q);

/* link.c */
uint64_t now_ns(void);
uint64_t link_seed(int id);
double ms_since_start(uint64_t t);
int node_of_address(uint32_t address);
void link_init(Link *l, int id, int from, int to);
uint64_t queued_bytes(const Link *l);
uint64_t queued_packets(const Link *l);
void start_head(Link *l, uint64_t now);
void link_set_rate(Link *l, uint64_t bps, uint64_t now);
void link_resume_on_trace(Link *l, uint64_t now);
void arrive(int v, Packet *p, uint64_t now);
uint64_t advance(uint64_t now);
void print_stats(uint64_t now);
int trace_links(void);
uint64_t next_stats_after(uint64_t now);
uint64_t catch_up(uint64_t now);

/* pcap.c */
FILE *pcap_open(const char *path);
void pcap_write(FILE *f, const Packet *p, uint64_t at_ns);

/* control.c */
void command(char *line, uint64_t now);
void reply_error(const char *why);

#endif
