/**
 * The TCP-aware sharing model (network.sharing: tcp) on whiteboard cases
 * worked by hand: RTT-weighted shares, the window bound, slow start and its
 * restart after idle.
 */
import { describe, expect, it } from 'vitest';
import { Topology } from '../../src/net/topology.js';
import { Simulator } from '../../src/net/sim/simulator.js';
import { PiecewiseTrace } from '../../src/scenario/traces/piecewise.js';
import { INITIAL_WINDOW_BYTES, weightedMaxMinRates, type TcpSharing } from '../../src/net/sim/tcp-sharing.js';
import type { Delivery } from '../../src/net/types.js';

const MBPS_PER_MBYTE_S = 8; // 12 MB/s = 96 Mbit/s

/**
 * s1 and s2 send to r through m; m->r (96 Mbit/s = 12 MB/s) is the
 * bottleneck. One-way delays: s1-m 5 ms, s2-m 25 ms, m-r 5 ms, the same
 * back, so s1's RTT is 20 ms and s2's 60 ms.
 */
function dumbbell(tcp: TcpSharing | null): { sim: Simulator; deliveries: Delivery[] } {
  const nodes = ['s1', 's2', 'm', 'r'];
  const specs = [
    { from: 's1', to: 'm', delayS: 0.005, mbps: 8000 }, { from: 'm', to: 's1', delayS: 0.005, mbps: 8000 },
    { from: 's2', to: 'm', delayS: 0.025, mbps: 8000 }, { from: 'm', to: 's2', delayS: 0.025, mbps: 8000 },
    { from: 'm', to: 'r', delayS: 0.005, mbps: 12 * MBPS_PER_MBYTE_S }, { from: 'r', to: 'm', delayS: 0.005, mbps: 12 * MBPS_PER_MBYTE_S },
  ];
  const sim = new Simulator(Topology.fromSpecs(nodes, specs), specs.map((l) => PiecewiseTrace.constant(l.mbps)), 1, 'none', [], tcp);
  const deliveries: Delivery[] = [];
  for (const n of nodes) sim.network.transportFor(n).onMessage((d) => deliveries.push(d));
  return { sim, deliveries };
}

const noWindow = (extra: Partial<TcpSharing> = {}): TcpSharing => ({
  rttExponent: 1, bandwidthFactor: 1, windowBytes: Infinity, initialWindowBytes: Infinity, slowStartAfterIdle: false, ...extra,
});

function deliveredAt(deliveries: Delivery[], from: string): number[] {
  return deliveries.filter((d) => d.from === from).map((d) => d.deliveredAt);
}

describe('the TCP-aware sharing model', () => {
  it('two flows on one bottleneck share it in inverse proportion to their RTTs (20 and 60 ms: 3/4 and 1/4)', () => {
    const flows = [{ route: [0], rate: 0, weight: 1 / 0.02, cap: Infinity }, { route: [0], rate: 0, weight: 1 / 0.06, cap: Infinity }];
    weightedMaxMinRates(flows, Float64Array.of(12e6));
    expect(flows[0].rate).toBeCloseTo(9e6, 3);
    expect(flows[1].rate).toBeCloseTo(3e6, 3);
    // end to end: 36 MB each from t = 0; s1 ends at 36 / 9 = 4 s, s2 has 24 MB left and takes 12 MB/s alone: 6 s;
    // each is delivered one one-way delay later (10 and 30 ms)
    const { sim, deliveries } = dumbbell(noWindow());
    sim.network.send(0, 3, 36e6, null);
    sim.network.send(1, 3, 36e6, null);
    sim.run(() => deliveries.length === 2);
    expect(deliveredAt(deliveries, 's1')[0]).toBeCloseTo(4.01, 9);
    expect(deliveredAt(deliveries, 's2')[0]).toBeCloseTo(6.03, 9);
  });

  it('pure max-min shares the same bottleneck equally, whatever the RTTs', () => {
    const { sim, deliveries } = dumbbell(null);
    sim.network.send(0, 3, 36e6, null);
    sim.network.send(1, 3, 36e6, null);
    sim.run(() => deliveries.length === 2);
    expect(deliveredAt(deliveries, 's1')[0]).toBeCloseTo(6.01, 9);
    expect(deliveredAt(deliveries, 's2')[0]).toBeCloseTo(6.03, 9);
  });

  it('a window bounds a flow at window / RTT, and the other flow takes what it leaves', () => {
    // 60 KB over 20 ms: 3 MB/s; the 60 ms flow's weighted share would be 3 MB/s, it gets the other 9
    const flows = [{ route: [0], rate: 0, weight: 1 / 0.02, cap: 60e3 / 0.02 }, { route: [0], rate: 0, weight: 1 / 0.06, cap: 60e3 / 0.06 }];
    weightedMaxMinRates(flows, Float64Array.of(12e6));
    expect(flows[0].rate).toBeCloseTo(3e6, 3);
    expect(flows[1].rate).toBeCloseTo(1e6, 3); // its own window: 60 KB / 60 ms
    const wide = [{ route: [0], rate: 0, weight: 1 / 0.02, cap: 60e3 / 0.02 }, { route: [0], rate: 0, weight: 1 / 0.06, cap: Infinity }];
    weightedMaxMinRates(wide, Float64Array.of(12e6));
    expect(wide[1].rate).toBeCloseTo(9e6, 3);
  });

  it('slow start: a new connection doubles its window every RTT until the link limits it; after idle it restarts from what is left', () => {
    for (const slowStartAfterIdle of [false, true]) {
      const { sim, deliveries } = dumbbell(noWindow({ initialWindowBytes: INITIAL_WINDOW_BYTES, slowStartAfterIdle }));
      // 14480 B per 20 ms, then 2x, 4x, 8x, 16x (448,880 B in 0.1 s), then 32x = 23.2 MB/s > 12: the link's 12 MB/s
      sim.network.send(0, 3, 1_448_880, null);
      sim.run(() => deliveries.length === 1);
      expect(deliveredAt(deliveries, 's1')[0]).toBeCloseTo(0.1 + 1e6 / 12e6 + 0.01, 9);
      // idle from 0.183 s to 2 s: 8 RTOs of 220 ms. With slow start after idle, the window (463,360 B) halves per RTO, down
      // to the initial window: it ramps again (1 + 2 + 4 + 8 + 16 initial windows in 5 RTTs). Without, it goes at once.
      sim.events.at(2, () => sim.network.send(0, 3, 1_448_880, null));
      sim.run(() => deliveries.length === 2);
      const expected = slowStartAfterIdle ? 2 + 0.1 + 1e6 / 12e6 + 0.01 : 2 + 1_448_880 / 12e6 + 0.01;
      expect({ slowStartAfterIdle, at: deliveredAt(deliveries, 's1')[1] }).toEqual({ slowStartAfterIdle, at: expect.closeTo(expected, 9) });
    }
  });
});
