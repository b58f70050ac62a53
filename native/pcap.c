/*
 * Packet captures in libpcap's file format (the "nanosecond" variant, magic
 * 0xa1b23c4d; tcpdump, tshark and libpcap read it): a link's packets as
 * they leave its wire, raw IP (LINKTYPE_RAW), each record's original length
 * the IP packet's and its first SNAPLEN bytes (the headers). Times are the
 * wall clock: the link's CLOCK_MONOTONIC departure plus the offset taken
 * when the file was opened.
 */
#include <time.h>
#include "linkem.h"

#define SNAPLEN 128
#define LINKTYPE_RAW 101

int64_t realtime_minus_monotonic_ns;

static void put32(FILE *f, uint32_t v) {
  fwrite(&v, 4, 1, f); /* host byte order, as the magic number says */
}

FILE *pcap_open(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return NULL;
  struct timespec real, mono;
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  realtime_minus_monotonic_ns = ((int64_t)real.tv_sec - (int64_t)mono.tv_sec) * 1000000000LL + ((int64_t)real.tv_nsec - (int64_t)mono.tv_nsec);
  put32(f, 0xa1b23c4d);
  uint16_t version[2] = {2, 4};
  fwrite(version, 2, 2, f);
  put32(f, 0); /* thiszone */
  put32(f, 0); /* sigfigs */
  put32(f, SNAPLEN);
  put32(f, LINKTYPE_RAW);
  return f;
}

void pcap_write(FILE *f, const Packet *p, uint64_t at_ns) {
  uint64_t t = (uint64_t)((int64_t)at_ns + realtime_minus_monotonic_ns);
  uint32_t captured = p->len < SNAPLEN ? p->len : SNAPLEN;
  put32(f, (uint32_t)(t / 1000000000ULL));
  put32(f, (uint32_t)(t % 1000000000ULL));
  put32(f, captured);
  put32(f, p->len);
  fwrite(p->data, 1, captured, f);
}
