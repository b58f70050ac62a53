/* The one place geobed-linkem looks inside a packet: its IPv4 destination. */
#ifndef GEOBED_PACKET_H
#define GEOBED_PACKET_H
#include <stddef.h>
#include <stdint.h>

/*
 * The destination of an IPv4 packet of `len` bytes, host order. Returns 0
 * (and leaves *dst alone) for anything that is not a well-formed IPv4
 * header: too short, another version, a header length under 20 bytes or
 * past the end, or a total length that disagrees with what was read.
 */
static inline int ipv4_destination(const uint8_t *p, size_t len, uint32_t *dst) {
  if (len < 20) return 0;
  if ((p[0] >> 4) != 4) return 0;
  size_t header = (size_t)(p[0] & 0x0f) * 4;
  if (header < 20 || header > len) return 0;
  size_t total = ((size_t)p[2] << 8) | p[3];
  if (total < header || total != len) return 0;
  *dst = ((uint32_t)p[16] << 24) | ((uint32_t)p[17] << 16) | ((uint32_t)p[18] << 8) | p[19];
  return 1;
}

#endif
