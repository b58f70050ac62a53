/**
 * geobed-linkem's link in virtual time (native/link-replay.c drives link.c
 * and queue.c from a script): the order in which the emulator handles
 * events, which on a real host depends on when the kernel wakes it, is set
 * by the script, so the edge cases run every time.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';

const REPLAY = join(PACKAGE_ROOT, 'native', 'build', 'link-replay');
const ms = (x: number) => String(Math.round(x * 1e6));

/** The link's log for a script; departures as [time ms, queueing + service ms]. */
async function replay(script: string[]): Promise<{ arrivals: number[]; departures: [number, number][] }> {
  const r = await execa(REPLAY, [], { input: `${script.join('\n')}\n` });
  const lines = r.stdout.trim().split('\n').map((l) => l.split(' '));
  return {
    arrivals: lines.filter((f) => f[1] === '+').map((f) => Number(f[0])),
    departures: lines.filter((f) => f[1] === '-').map((f) => [Number(f[0]), Number(f[3])]),
  };
}

describe('the native link emulator\'s link, in virtual time', () => {
  it('a rate counts Ethernet frames, as htb and the simulator do: a 1500-byte IP packet is 1514 bytes on the wire', async () => {
    // 12.112 Mbit/s = 1514 bytes a ms
    const { departures } = await replay(['rate 12112000', 'arrive 0 1500', 'arrive 0 1500', `advance ${ms(10)}`]);
    expect(departures).toEqual([[1, 1], [2, 2]]);
  });

  it('serves back-to-back packets one wire time apart', async () => {
    // 8 Mbit/s: a 986-byte IP packet is a 1000-byte frame, 1 ms on the wire
    const { departures } = await replay(['rate 8000000', `arrive 0 986`, `arrive 0 986`, `advance ${ms(10)}`]);
    expect(departures).toEqual([[1, 1], [2, 2]]);
  });

  it('never serves a packet before it arrived, when the departure ahead of it is handled late', async () => {
    // A's last bit leaves at 1 ms, but the emulator first wakes at 3 ms, when B
    // arrives (a wake-up that reads the TUN before moving what fell due). B's
    // service starts at 3 ms, not at A's departure: it leaves at 4 ms, having
    // spent 1 ms on the link. (Before: it left at 2 ms, a ms before it came, and
    // the log printed its delay as 18446744073709.551 ms.)
    const { arrivals, departures } = await replay(['rate 8000000', 'arrive 0 986', `arrive ${ms(3)} 986`, `advance ${ms(3)}`, `advance ${ms(10)}`]);
    expect(arrivals).toEqual([0, 3]);
    expect(departures).toEqual([[1, 1], [4, 1]]);
    for (const [at, spent] of departures) expect(spent).toBeGreaterThanOrEqual(0), expect(at).toBeLessThan(1e6);
  });

  it('a packet that arrives while the wire is busy waits its turn', async () => {
    const { departures } = await replay(['rate 8000000', 'arrive 0 986', `arrive ${ms(0.5)} 986`, `advance ${ms(10)}`]);
    expect(departures).toEqual([[1, 1], [2, 1.5]]);
  });

  // Issue 25: a rate of 0 held the packet on the wire for ever ("never" finish time) once the rate came back.
  it('a rate of 0 stops the link mid-packet; when the rate returns, the packet sends its remaining bits and the queue follows', async () => {
    // 8 Mbit/s: a 1000-byte frame takes 1 ms. Stopped at 0.5 ms (half sent), back at 3 ms: it leaves at 3.5 ms,
    // the second (arrived at 0.2 ms) one wire time later
    const { departures } = await replay([
      'rate 8000000', 'arrive 0 986', `arrive ${ms(0.2)} 986`, `rate 0 ${ms(0.5)}`, `advance ${ms(2)}`, `rate 8000000 ${ms(3)}`, `advance ${ms(10)}`,
    ]);
    expect(departures).toEqual([[3.5, 3.5], [4.5, 4.3]]);
  });

  it('a packet that arrives while the rate is 0 waits whole, and leaves one wire time after the rate returns, at the new rate', async () => {
    // back at 16 Mbit/s: 0.5 ms a frame
    const { departures } = await replay(['rate 0', 'arrive 0 986', `advance ${ms(2)}`, `rate 16000000 ${ms(2)}`, `advance ${ms(10)}`]);
    expect(departures).toEqual([[2.5, 2.5]]);
  });

  it('a rate that changes to 0 and back several times sends each packet\'s bits once', async () => {
    // 1 ms at 8 Mbit/s in two halves around a 1 ms stop, then 0.25 ms of the rest at 8 and 0.25 ms at 4 Mbit/s... (a 1000-byte frame = 8000 bits)
    const { departures } = await replay([
      'rate 8000000', 'arrive 0 986', `rate 0 ${ms(0.25)}`, `rate 8000000 ${ms(1.25)}`, `rate 0 ${ms(1.5)}`, `rate 4000000 ${ms(2)}`, `advance ${ms(10)}`,
    ]);
    // 2000 bits by 0.25 ms, 2000 more by 1.5 ms, the last 4000 at 4 Mbit/s from 2 ms: 1 ms
    expect(departures).toEqual([[3, 3]]);
  });

  // Issue 26: Mahimahi's opportunity is 1504 bytes of what it reads from its TUN device, each IP packet behind a
  // 4-byte header (src/util/netdevice.cc TunDevice: IFF_TUN without IFF_NO_PI): one 1500-byte IP packet each.
  it('a Mahimahi opportunity carries one 1500-byte IP packet: a thousand leave at the first thousand opportunities', async () => {
    const arrivals = Array.from({ length: 1000 }, () => 'arrive 0 1500');
    const { departures } = await replay(['trace 1', ...arrivals, `advance ${ms(2000)}`]);
    // (counting 1504 bytes of IP packets, the thousandth left at 998 ms)
    expect(departures.map(([at]) => at)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('small packets share an opportunity, each counting its 4-byte TUN header', async () => {
    // 114 packets of 128 bytes: 15,048 bytes with their headers, past 10 opportunities (15,040): the last leaves at the 11th
    const arrivals = Array.from({ length: 114 }, () => 'arrive 0 128');
    const { departures } = await replay(['trace 1', ...arrivals, `advance ${ms(100)}`]);
    expect(departures[113][0]).toBe(11);
    expect(departures.filter(([at]) => at === 1)).toHaveLength(11); // 11 x 132 = 1452 of the first 1504
  });

  it('counter readings fall on whole intervals from the epoch, each as of its instant, however late the emulator wakes', async () => {
    // 1514 frame bytes a ms: 300 packets queued at 0 leave at 1, 2, ... 300 ms
    const arrivals = Array.from({ length: 300 }, () => 'arrive 0 1500');
    const r = await execa(REPLAY, [], { input: `${['rate 12112000', 'stats 100', ...arrivals, `advance ${ms(150.5)}`, `advance ${ms(203.7)}`, `advance ${ms(399.99)}`].join('\n')}\n` });
    const readings = r.stdout.split('\n').filter((l) => l.startsWith('stats ')).map((l) => l.split(' ').slice(1).map(Number));
    // [at ms, out packets, queued packets]: the packet that leaves at exactly 100 ms counts in the next reading,
    // as a trace's rate bin [t, t + 1 ms) holds the opportunity at t
    expect(readings.map((f) => [f[0], f[5], f[9]])).toEqual([[100, 99, 201], [200, 199, 101], [300, 299, 1]]);
  });
});
