import { describe, expect, it } from 'vitest';
import { NetworkBound, maxFlow } from '../../src/results/bound.js';
import { PiecewiseTrace } from '../../src/scenario/traces/piecewise.js';
import { type Trace } from '../../src/model/trace.js';
import { summarize, tCritical95 } from '../../src/results/stats.js';
import type { Scenario } from '../../src/scenario/types.js';
import { DEFAULT_TCP } from '../../src/scenario/schema.js';
import { oneWorkerEach } from '../../src/model/data-centers.js';

function scenario(nodes: string[], pairs: [string, string, number | Trace][], megabytes: number): Scenario {
  const links = pairs.flatMap(([a, b, r]) => [[a, b], [b, a]].map(([from, to]) => ({ from, to, r })))
    .map((l, id) => ({
      id, from: l.from, to: l.to, name: `${l.from}->${l.to}`, delayS: 0, maxDelayS: 0, delayOverTime: null, jitterS: 0, reorder: false, lossPercent: 0, lossOverTime: null, queuePackets: null, mahimahi: null,
      trace: typeof l.r === 'number' ? PiecewiseTrace.constant(l.r) : l.r, rateSource: '',
    }));
  return {
    name: 'b', description: '', file: '', hash: '', seed: 1, iterations: 1, nodes, workers: nodes, dataCenters: oneWorkerEach(nodes, nodes), wanLinks: links.length, links,
    workload: { profile: 'custom', arrays: [], bytesPerElement: 4, computeS: 0, totalBytes: megabytes * 1e6, training: null },
    schedulers: [], network: { framing: 'none', queueing: 'fair', underlay: 'ip', tcp: DEFAULT_TCP, sharing: 'max-min' }, results: { bin_s: 1, transfers: false, packet_log: false, pcap: false, compress: false },
  };
}

describe('network lower bound', () => {
  it('two nodes: the gradient must cross the link once', () => {
    const bound = new NetworkBound(scenario(['a', 'b'], [['a', 'b', 80]], 8));
    expect(bound.syncBound(0, null)).toBeCloseTo(0.8, 9); // 8 MB at 10 MB/s
  });

  it('counts frames, not payload, when the scenario frames its traffic as TCP', () => {
    const s = scenario(['a', 'b'], [['a', 'b', 80]], 8);
    const bound = new NetworkBound({ ...s, network: { ...s.network, framing: 'tcp' } });
    expect(bound.syncBound(0, null)).toBeCloseTo((0.8 * 1514) / 1448, 9);
  });

  it('integrates a capacity that changes during the iteration', () => {
    const bound = new NetworkBound(scenario(['a', 'b'], [['a', 'b', new PiecewiseTrace([0, 0.5], [80, 160])]], 8));
    // from t = 0.1: 4 MB by 0.5 s, the other 4 MB at 20 MB/s in 0.2 s
    expect(bound.syncBound(0.1, null)).toBeCloseTo(0.6, 9);
  });

  it('finds the thin cut in the middle of a dumbbell', () => {
    const s = scenario(['a', 'b', 'c', 'd'], [['a', 'b', 1000], ['c', 'd', 1000], ['b', 'c', 10], ['a', 'c', 6]], 10);
    // cut {a,b} | {c,d}: 10 + 6 = 16 Mbit/s = 2 MB/s -> 10 MB take 5 s
    expect(new NetworkBound(s).syncBound(0, 'a')).toBeCloseTo(5, 9);
    expect(new NetworkBound(s).syncBound(0, null)).toBeCloseTo(5, 9);
  });

  it('max-flow returns the min-cut value and its source side', () => {
    const { value, sourceSide } = maxFlow(4, [
      { from: 0, to: 1, cap: 3 }, { from: 0, to: 2, cap: 2 }, { from: 1, to: 2, cap: 5 }, { from: 1, to: 3, cap: 2 }, { from: 2, to: 3, cap: 3 },
    ], 0, 3);
    expect(value).toBe(5);
    expect(sourceSide[0]).toBe(true);
    expect(sourceSide[3]).toBe(false);
  });
});

describe('summary statistics', () => {
  it('mean, median, p95 and the t-interval of the mean', () => {
    const s = summarize([1, 2, 3, 4, 5]);
    expect(s.mean).toBe(3);
    expect(s.median).toBe(3);
    expect(s.p95).toBeCloseTo(4.8, 9); // linear interpolation, as numpy and R (type 7)
    // sd = 1.5811, t(4) = 2.776 -> half width 1.963
    expect(s.ciLow).toBeCloseTo(3 - 2.776 * 1.5811388 / Math.sqrt(5), 5);
    expect(s.ciHigh).toBeCloseTo(3 + 2.776 * 1.5811388 / Math.sqrt(5), 5);
  });

  it('the interval of a time is cut at 0: two iterations give t(1) = 12.7 standard errors', () => {
    const s = summarize([1, 3]);
    expect(2 - (12.706 * Math.SQRT2) / Math.SQRT2).toBeLessThan(0); // the raw interval would go below 0
    expect(s.ciLow).toBe(0);
    expect(s.ciHigh).toBeCloseTo(2 + 12.706, 3);
  });

  it('t critical values: the table, then the expansion converging to 1.96', () => {
    expect(tCritical95(1)).toBe(12.706);
    expect(tCritical95(30)).toBe(2.042);
    expect(tCritical95(40)).toBeCloseTo(2.0211, 3);
    expect(tCritical95(120)).toBeCloseTo(1.9799, 3);
    expect(tCritical95(1e6)).toBeCloseTo(1.96, 3);
  });
});

describe('speedup with a confidence interval', () => {
  it('is the ratio of means with a delta-method interval around it', async () => {
    const { ratioOfMeans } = await import('../../src/results/stats.js');
    const base = [10, 12, 11, 9, 13];
    const fast = [5, 6, 5.5, 4.5, 6.5];
    const r = ratioOfMeans(base, fast);
    expect(r.ratio).toBeCloseTo(2, 12);
    // both samples have the same relative spread: sd/mean = 1.5811/11 and 0.7906/5.5
    const rel = (1.5811388 / 11) ** 2 / 5 + (0.7905694 / 5.5) ** 2 / 5;
    expect(r.high - r.ratio).toBeCloseTo(2.776 * 2 * Math.sqrt(rel), 5);
    expect(r.ratio - r.low).toBeCloseTo(r.high - r.ratio, 12);
  });
});
