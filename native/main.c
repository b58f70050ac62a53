/*
 * geobed-linkem's event loop: wake for the next departure, a command on
 * stdin, a packet on a TUN device, or a signal. It exits cleanly on end of
 * stdin or SIGTERM/SIGINT; its TUN devices go with it. (What it emulates:
 * linkem.h.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "linkem.h"
#include "packet.h"

/* epoll tags of what is not a node's TUN device */
#define TAG_STDIN ((uint64_t)-1)
#define TAG_SIGNAL ((uint64_t)-2)

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

/*
 * Wake-up moderation, as a NIC moderates its interrupts: while the emulator
 * is woken more often than every moderation_ns (MODERATE_AFTER wake-ups in
 * a row less than 1.5 x apart), it sleeps out the rest of moderation_ns
 * after each wake-up and handles what came meanwhile together. At a
 * steady rate every packet would otherwise wake it (paced senders, one
 * departure per packet); each wake-up costs a timer, a context switch and
 * a wake-up of the receiver, 2-4x the CPU of the same packets replayed on
 * a Mahimahi trace, whose millisecond opportunities batch them (issue 26).
 * Departure times stay exact (each computed from the one before it, so
 * rates, logs, pcaps and counters are unchanged); a packet is read from
 * its TUN and handed to the next hop at most moderation_ns late. A light
 * load (a ping, a request) never moderates. Off while a link replays a
 * Mahimahi trace: its packets are read as they come, as Mahimahi's are,
 * for the opportunity they arrive before.
 */
#define MODERATE_AFTER 3

/* Run every whole line on stdin as a command; 0 once stdin has closed. */
static int read_commands(uint64_t now) {
  static char input[8192];
  static size_t input_len = 0;
  ssize_t r = read(STDIN_FILENO, input + input_len, sizeof input - 1 - input_len);
  if (r <= 0) return 0;
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
  return 1;
}

/* Move what is due and print counters when due; how long until the next thing is due (NULL: nothing is). */
static struct timespec *until_due(uint64_t now, struct timespec *wait) {
  uint64_t next = started ? catch_up(now) : NEVER;
  if (next_stats_ns < next) next = next_stats_ns;
  if (next == NEVER) return NULL;
  uint64_t ns = next > now ? next - now : 0;
  wait->tv_sec = (time_t)(ns / 1000000000ull);
  wait->tv_nsec = (long)(ns % 1000000000ull);
  return wait;
}

static void watch(int ep, int fd, uint64_t tag) {
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u64 = tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  prctl(PR_SET_TIMERSLACK, 1UL); /* wake at the nanosecond asked, not 50 us later */
  /* The link runs ahead of the workload it carries: on a busy host, a time-shared emulator
   * wakes milliseconds late and every packet it holds leaves late. Real-time priority (when we
   * may have it) lets it preempt the training processes; the kernel's real-time throttling
   * (sched_rt_runtime_us) still leaves the rest of the host its share. */
  struct sched_param rt = {.sched_priority = 10};
  sched_setscheduler(0, SCHED_FIFO, &rt);
  for (int i = 0; i < MAX_LINKS; i++) links[i].rng = link_seed(i);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGPIPE);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int signals = signalfd(-1, &mask, SFD_CLOEXEC);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  watch(ep, STDIN_FILENO, TAG_STDIN);
  watch(ep, signals, TAG_SIGNAL);
  static int registered[MAX_NODES];
  uint64_t last_wake = 0;
  int short_gaps = 0;

  for (;;) {
    struct timespec wait;
    struct timespec *timeout = until_due(now_ns(), &wait);
    for (int v = 0; v < n_nodes_seen; v++) {
      if (nodes[v].used && !registered[v]) {
        watch(ep, nodes[v].fd, (uint64_t)v);
        registered[v] = 1;
      }
    }
    struct epoll_event events[64];
    /* (its timeout in ns: one system call a wake-up, where a timerfd took three) */
    int n = epoll_pwait2(ep, events, 64, timeout, NULL);
    if (n < 0 && errno == ENOSYS) {
      fprintf(stderr, "geobed-linkem: this kernel has no epoll_pwait2 (Linux 5.11 or later has it)\n");
      return 1;
    }
    if (n < 0 && errno != EINTR) return 1;
    uint64_t now = now_ns();
    short_gaps = now - last_wake < moderation_ns + moderation_ns / 2 ? short_gaps + 1 : 0;
    last_wake = now;
    /* what fell due while we slept leaves first: a packet read below arrives at `now`, after it */
    if (started) catch_up(now);
    for (int i = 0; i < n; i++) {
      uint64_t tag = events[i].data.u64;
      if (tag == TAG_STDIN) {
        if (!read_commands(now)) return 0; /* stdin closed: done */
      } else if (tag == TAG_SIGNAL) {
        return 0;
      } else {
        drain_tun((int)tag, now);
      }
    }
    if (moderation_ns && short_gaps >= MODERATE_AFTER && !trace_links()) {
      uint64_t next = now + moderation_ns;
      struct timespec until = {.tv_sec = (time_t)(next / 1000000000ull), .tv_nsec = (long)(next % 1000000000ull)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    }
  }
}
