/** Mahimahi traces: one 1504-byte delivery opportunity per line (one 1500-byte IP packet), a millisecond timestamp each, looped at the last. */
import { UserError } from '../../util/errors.js';
import { MAX_TRACE_ROWS } from '../../model/limits.js';
import type { TraceTable } from './piecewise.js';
import { ETHERNET_HEADER_BYTES } from '../../net/wire.js';
import { quoted } from '../../util/format.js';

/**
 * A Mahimahi delivery opportunity: 1504 bytes of what Mahimahi reads from
 * its TUN device, each IP packet behind a 4-byte TUN header (Mahimahi opens
 * it without IFF_NO_PI: src/util/netdevice.cc, TunDevice). So it carries one
 * 1500-byte IP packet ("an opportunity for one 1500-byte packet", its
 * traces' README); the native emulator charges each packet its length plus
 * those 4 bytes, as Mahimahi does.
 */
export const MAHIMAHI_OPPORTUNITY_BYTES = 1504;
export const MAHIMAHI_TUN_HEADER_BYTES = 4;
/**
 * The same opportunity in Ethernet frame bytes, what a geobed rate counts
 * on every backend (net/wire.ts): one 1500-byte IP packet, a 1514-byte
 * frame. So a converted trace carries the payload the native emulator
 * carries replaying the trace itself (1448 bytes of TCP payload per
 * opportunity, 1448/1504 of its bytes, as in Mahimahi), in the simulator
 * and on kernel links.
 */
export const MAHIMAHI_FRAME_BYTES = MAHIMAHI_OPPORTUNITY_BYTES - MAHIMAHI_TUN_HEADER_BYTES + ETHERNET_HEADER_BYTES;

/**
 * Convert a Mahimahi trace (one line per 1504-byte delivery opportunity, a
 * millisecond timestamp each, non-decreasing) to rates over bins of `binMs`,
 * in frame bytes (MAHIMAHI_FRAME_BYTES per opportunity).
 * The trace's period is its last timestamp, as Mahimahi loops it (periodS).
 */
export function convertMahimahi(text: string, file: string, binMs: number): TraceTable & { periodS: number } {
  if (!(binMs >= 1)) throw new UserError(`--bin-ms must be at least 1 (Mahimahi timestamps are whole milliseconds), got ${binMs}`);
  const stamps: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (!/^\d+$/.test(line)) {
      throw new UserError(`${file}:${i + 1}: expected a Mahimahi timestamp (a whole number of milliseconds), got ${quoted(line)}`);
    }
    const ms = Number(line);
    if (stamps.length && ms < stamps[stamps.length - 1]) {
      throw new UserError(`${file}:${i + 1}: timestamps must not decrease (${ms} after ${stamps[stamps.length - 1]})`);
    }
    stamps.push(ms);
  }
  if (stamps.length === 0) throw new UserError(`${file}: empty Mahimahi trace`);
  const period = stamps[stamps.length - 1];
  if (period <= 0) throw new UserError(`${file}: a Mahimahi trace must span more than 0 ms (its last timestamp is its period)`);
  const bins = Math.ceil(period / binMs);
  if (bins > MAX_TRACE_ROWS) {
    throw new UserError(`${file}: ${period} ms in bins of ${binMs} ms make ${bins} rates, more than geobed holds (${MAX_TRACE_ROWS}); choose a wider bin`);
  }
  const counts = new Array<number>(bins).fill(0);
  // The last opportunity falls on the period boundary: time 0 of the next loop.
  for (const ms of stamps) counts[Math.floor((ms % period) / binMs)]++;
  const times: number[] = [];
  const mbps: number[] = [];
  for (let b = 0; b < bins; b++) {
    const width = Math.min(binMs, period - b * binMs) / 1000;
    times.push((b * binMs) / 1000);
    mbps.push((counts[b] * MAHIMAHI_FRAME_BYTES * 8) / width / 1e6);
  }
  return { times, mbps, periodS: period / 1000 };
}
