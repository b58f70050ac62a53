/*
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
 *                                                    each delivers up to 1504 bytes, a packet counting its
 *                                                    4-byte TUN header (linkem.h); packets may span several
 *   log <link id> <file>                             per-packet log of that link, Mahimahi's format
 *   pcap <link id> <file>                            the packets that leave the link's wire, as a pcap file
 *                                                    (raw IP, nanosecond wall-clock times, 128 bytes of each)
 *   zero [<CLOCK_MONOTONIC ns>]                      the run's epoch, now or at that time (it may be ahead):
 *                                                    log and counter times count from it, and every Mahimahi
 *                                                    trace restarts at it (its first opportunity at epoch + t0)
 *   stats <interval ms>                              print counters now and every interval (0: never), at
 *                                                    whole intervals from the epoch, each as of its instant
 *   moderate <us>                                    wake-up moderation under load (main.c; default 500,
 *                                                    0: every event on time)
 *   start                                            begin forwarding
 * Counters: "stats <ms since start> <link> <in bytes> <in packets> <out bytes> <out packets>
 * <queue drops> <loss drops> <queued bytes> <queued packets>".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "linkem.h"

#define WHY_BYTES 300
/* A handler's answer: NULL for "ok", else why not. */
typedef const char *(*Handler)(int argc, char **argv, uint64_t now, char *why);

void reply_error(const char *why) { printf("error %s\n", why); }

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

/* Open a TUN device inside another namespace (and come back to ours). */
static int open_tun(const char *namespace, const char *name, char *why) {
  char path[512];
  snprintf(path, sizeof path, "/run/netns/%s", namespace);
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (home < 0 || target < 0) {
    snprintf(why, WHY_BYTES, "no namespace %s", namespace);
    if (home >= 0) close(home);
    if (target >= 0) close(target);
    return -1;
  }
  int fd = -1;
  if (setns(target, CLONE_NEWNET) < 0) {
    snprintf(why, WHY_BYTES, "cannot enter %s: %s", namespace, strerror(errno));
  } else {
    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
      snprintf(why, WHY_BYTES, "cannot open TUN %s in %s: %s", name, namespace, strerror(errno));
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

/* Read a Mahimahi trace into the link's opportunities (the old ones stay on an error). */
static int load_trace(Link *l, const char *file, char *why) {
  FILE *f = fopen(file, "r");
  if (!f) {
    snprintf(why, WHY_BYTES, "cannot read %s", file);
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
      snprintf(why, WHY_BYTES, "%s:%d: expected a time in ms, not before the previous one", file, line_no);
      free(times);
      fclose(f);
      return 0;
    }
    if (n == cap) times = realloc(times, (cap *= 2) * sizeof *times);
    times[n++] = ms;
  }
  fclose(f);
  if (n == 0 || times[n - 1] == 0) {
    snprintf(why, WHY_BYTES, "%s: no opportunities, or all at 0 ms", file);
    free(times);
    return 0;
  }
  Opportunities *o = &l->trace;
  free(o->times);
  o->times = times;
  o->n = n;
  o->period_ms = times[n - 1];
  o->next = 0;
  o->left = 0;
  o->period_start_ns = started ? now_ns() : 0;
  return 1;
}

/* ---- the commands ---- */

static const char *cmd_seed(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)now, (void)why;
  if (!parse_u64(argv[1], &seed)) return "seed: expected a non-negative integer";
  for (int i = 0; i < MAX_LINKS; i++) links[i].rng = link_seed(i);
  return NULL;
}

static const char *cmd_node(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)now;
  int v;
  struct in_addr a;
  if (!parse_index(argv[1], MAX_NODES, &v)) return "node: index out of range";
  if (nodes[v].used) return "node: index already in use";
  if (inet_pton(AF_INET, argv[4], &a) != 1) return "node: expected an IPv4 address";
  int fd = open_tun(argv[2], argv[3], why);
  if (fd < 0) return why;
  nodes[v].used = 1;
  nodes[v].fd = fd;
  nodes[v].address = ntohl(a.s_addr);
  nodes[v].route = malloc(MAX_NODES * sizeof(int));
  for (int i = 0; i < MAX_NODES; i++) nodes[v].route[i] = -1;
  if (v + 1 > n_nodes_seen) n_nodes_seen = v + 1;
  return NULL;
}

static const char *cmd_link(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)now, (void)why;
  int id, from, to;
  if (!parse_index(argv[1], MAX_LINKS, &id)) return "link: id out of range";
  if (!parse_index(argv[2], MAX_NODES, &from) || !parse_index(argv[3], MAX_NODES, &to) || !nodes[from].used || !nodes[to].used || from == to)
    return "link: expected two different nodes declared before";
  if (links[id].used) return "link: id already in use";
  link_init(&links[id], id, from, to);
  link_ids[n_links++] = id;
  return NULL;
}

static const char *cmd_route(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)now, (void)why;
  int v, id;
  struct in_addr a;
  if (!parse_index(argv[1], MAX_NODES, &v) || !nodes[v].used) return "route: unknown node";
  if (inet_pton(AF_INET, argv[2], &a) != 1) return "route: expected an IPv4 address";
  int d = node_of_address(ntohl(a.s_addr));
  if (d < 0) return "route: no node has that address";
  if (!parse_index(argv[3], MAX_LINKS, &id) || !links[id].used || links[id].from != v) return "route: the link must leave that node";
  nodes[v].route[d] = id;
  return NULL;
}

/* ---- set <link id> <what> ...: each setter is given the link, argc and argv ---- */

static const char SET_USAGE[] = "set: expected rate <bits/s>, delay <us>, jitter <us>, reorder 0|1, loss <p>, queue <n> packets|bytes, queueing fair|fifo or trace <file>";

static const char *set_rate(Link *l, int argc, char **argv, uint64_t now, char *why) {
  (void)why;
  uint64_t v;
  if (argc != 4 || !parse_u64(argv[3], &v)) return SET_USAGE;
  link_set_rate(l, v, now);
  return NULL;
}

static const char *set_delay(Link *l, int argc, char **argv, uint64_t now, char *why) {
  (void)now, (void)why;
  uint64_t v;
  if (argc != 4 || !parse_u64(argv[3], &v)) return SET_USAGE;
  l->delay.delay_ns = v * 1000;
  return NULL;
}

static const char *set_jitter(Link *l, int argc, char **argv, uint64_t now, char *why) {
  (void)now, (void)why;
  uint64_t v;
  if (argc != 4 || !parse_u64(argv[3], &v)) return SET_USAGE;
  l->delay.jitter_ns = v * 1000;
  return NULL;
}

static const char *set_reorder(Link *l, int argc, char **argv, uint64_t now, char *why) {
  (void)now, (void)why;
  if (argc != 4 || (strcmp(argv[3], "0") && strcmp(argv[3], "1"))) return SET_USAGE;
  l->delay.reorder = argv[3][0] == '1';
  /* From now on: what is in the delay line already stays in order, and new packets follow it without reorder */
  l->delay.last_due = l->delay.packets.tail ? l->delay.packets.tail->due : 0;
  return NULL;
}

static const char *set_loss(Link *l, int argc, char **argv, uint64_t now, char *why) {
  (void)now, (void)why;
  if (argc != 4) return SET_USAGE;
  char *end;
  double p = strtod(argv[3], &end);
  if (*end || !(p >= 0 && p <= 1)) return "set loss: expected a probability in [0, 1]";
  l->loss = p;
  return NULL;
}

static const char *set_queue(Link *l, int argc, char **argv, uint64_t now, char *why) {
  (void)now, (void)why;
  uint64_t v;
  if (argc != 5 || !parse_u64(argv[3], &v) || (strcmp(argv[4], "packets") && strcmp(argv[4], "bytes"))) return SET_USAGE;
  l->queue.limit = v;
  l->queue.limit_in_bytes = !strcmp(argv[4], "bytes");
  return NULL;
}

static const char *set_queueing(Link *l, int argc, char **argv, uint64_t now, char *why) {
  (void)now, (void)why;
  if (argc != 4 || (strcmp(argv[3], "fair") && strcmp(argv[3], "fifo"))) return SET_USAGE;
  if (queued_packets(l) > 0) return "set queueing: only while the link holds no packets";
  l->queue.fair = !strcmp(argv[3], "fair");
  return NULL;
}

static const char *set_trace(Link *l, int argc, char **argv, uint64_t now, char *why) {
  if (argc != 4) return SET_USAGE;
  if (!load_trace(l, argv[3], why)) return why;
  if (started) {
    l->trace.period_start_ns = now;
    link_resume_on_trace(l, now);
    start_head(l, now);
  }
  return NULL;
}

static const struct {
  const char *what;
  const char *(*run)(Link *l, int argc, char **argv, uint64_t now, char *why);
} SETTERS[] = {
  {"rate", set_rate}, {"delay", set_delay}, {"jitter", set_jitter}, {"reorder", set_reorder},
  {"loss", set_loss}, {"queue", set_queue}, {"queueing", set_queueing}, {"trace", set_trace},
};

static const char *cmd_set(int argc, char **argv, uint64_t now, char *why) {
  int id;
  if (!parse_index(argv[1], MAX_LINKS, &id) || !links[id].used) return "set: unknown link";
  for (size_t i = 0; i < sizeof SETTERS / sizeof *SETTERS; i++)
    if (!strcmp(argv[2], SETTERS[i].what)) return SETTERS[i].run(&links[id], argc, argv, now, why);
  return SET_USAGE;
}

static const char *cmd_log(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)now, (void)why;
  int id;
  if (!parse_index(argv[1], MAX_LINKS, &id) || !links[id].used) return "log: unknown link";
  FILE *f = fopen(argv[2], "w");
  if (!f) return "log: cannot write the file";
  if (links[id].log) fclose(links[id].log);
  links[id].log = f;
  if (started) fprintf(f, "# base timestamp: 0\n");
  return NULL;
}

static const char *cmd_pcap(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)now, (void)why;
  int id;
  if (!parse_index(argv[1], MAX_LINKS, &id) || !links[id].used) return "pcap: unknown link";
  FILE *f = pcap_open(argv[2]);
  if (!f) return "pcap: cannot write the file";
  if (links[id].pcap) fclose(links[id].pcap);
  links[id].pcap = f;
  return NULL;
}

static const char *cmd_zero(int argc, char **argv, uint64_t now, char *why) {
  (void)why;
  uint64_t epoch = now;
  if (argc > 2) return "zero: expected at most one time";
  if (argc == 2 && !parse_u64(argv[1], &epoch)) return "zero: expected a CLOCK_MONOTONIC time in ns";
  if (!started) return "zero: not started";
  start_ns = epoch;
  if (stats_interval_ns && next_stats_ns != NEVER) next_stats_ns = next_stats_after(now);
  for (int i = 0; i < MAX_LINKS; i++) {
    Opportunities *o = &links[i].trace;
    if (!links[i].used || !o->times) continue;
    o->period_start_ns = epoch;
    o->next = 0;
    o->left = 0;
  }
  return NULL;
}

static const char *cmd_stats(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)why;
  uint64_t ms;
  if (!parse_u64(argv[1], &ms)) return "stats: expected an interval in ms";
  stats_interval_ns = ms * 1000000ull;
  next_stats_ns = ms && started ? next_stats_after(now) : NEVER;
  /* a reading now: the reader's baseline (bytes sent before its first reading would go uncounted) */
  if (ms && started) print_stats(now);
  return NULL;
}

static const char *cmd_moderate(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)now, (void)why;
  uint64_t us;
  if (!parse_u64(argv[1], &us) || us > 100000) return "moderate: expected microseconds, 0 to 100000";
  moderation_ns = us * 1000ull;
  return NULL;
}

static const char *cmd_start(int argc, char **argv, uint64_t now, char *why) {
  (void)argc;
  (void)argv, (void)why;
  if (started) return "start: already started";
  started = 1;
  start_ns = now;
  for (int i = 0; i < MAX_LINKS; i++) {
    if (links[i].used && links[i].trace.times) links[i].trace.period_start_ns = now;
    if (links[i].used && links[i].log) fprintf(links[i].log, "# base timestamp: 0\n");
  }
  if (stats_interval_ns) next_stats_ns = next_stats_after(now);
  return NULL;
}

/* Each command with the number of words it takes (set: at least that many). */
static const struct {
  const char *name;
  int words, at_least;
  Handler run;
} COMMANDS[] = {
  {"seed", 2, 0, cmd_seed}, {"node", 5, 0, cmd_node}, {"link", 4, 0, cmd_link}, {"route", 4, 0, cmd_route},
  {"set", 4, 1, cmd_set}, {"log", 3, 0, cmd_log}, {"pcap", 3, 0, cmd_pcap}, {"zero", 1, 1, cmd_zero}, {"stats", 2, 0, cmd_stats},
  {"moderate", 2, 0, cmd_moderate}, {"start", 1, 0, cmd_start},
};

/* One command line; answers "ok" or "error ...". */
void command(char *line, uint64_t now) {
  char *argv[8];
  int argc = 0;
  for (char *tok = strtok(line, " \t"); tok && argc < 8; tok = strtok(NULL, " \t")) argv[argc++] = tok;
  if (argc == 0) return;
  char why[WHY_BYTES] = "";
  for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++) {
    if (strcmp(argv[0], COMMANDS[i].name)) continue;
    if (COMMANDS[i].at_least ? argc < COMMANDS[i].words : argc != COMMANDS[i].words) break;
    const char *error = COMMANDS[i].run(argc, argv, now, why);
    if (error) reply_error(error);
    else printf("ok\n");
    return;
  }
  reply_error("unknown command or wrong number of arguments");
}
