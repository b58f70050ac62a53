/**
 * Generated scenarios for scale tests and benchmarks: a random sparse mesh
 * of n data centers (a random spanning tree plus extra random links up to
 * the mean degree), every directed link redrawn uniformly as in NetStorm.
 */
import { oneWorkerEach } from '../model/data-centers.js';
import { Rng } from '../util/rng.js';
import { generateTrace } from './traces/generators.js';
import { starSpec } from '../sync/schedulers/star.js';
import { PROFILES, totalElements } from '../model/profiles.js';
import type { DirectedLinkSpec, Scenario, SchedulerConfig } from './types.js';
import { DEFAULT_LAN, DEFAULT_TCP } from './schema.js';
import { workerNodeName } from './data-centers.js';
import { PiecewiseTrace } from './traces/piecewise.js';

export interface MeshOptions {
  nodes: number;
  meanDegree?: number;
  seed?: number;
  iterations?: number;
  profile?: string;
  minMbps?: number;
  maxMbps?: number;
  periodS?: number;
  schedulers?: SchedulerConfig[];
  /** Workers per data center (default 1); with several, each on a LAN at geobed's default (10 Gbit/s, 0.05 ms). */
  workers?: number;
}

export function generatedMesh(o: MeshOptions): Scenario {
  const seed = o.seed ?? 1;
  const rng = new Rng(seed, 'mesh');
  const n = o.nodes;
  const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
  const pairs = new Set<string>();
  const edges: [number, number][] = [];
  const add = (a: number, b: number) => {
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    if (a === b || pairs.has(key)) return false;
    pairs.add(key);
    edges.push([a, b]);
    return true;
  };
  for (let i = 1; i < n; i++) add(i, rng.int(i));
  const target = Math.round(((o.meanDegree ?? 3) * n) / 2);
  for (let guard = 0; edges.length < target && guard < 100 * target; guard++) add(rng.int(n), rng.int(n));
  const spec = { generator: 'redraw-uniform' as const, min_mbps: o.minMbps ?? 20, max_mbps: o.maxMbps ?? 155, period_s: o.periodS ?? 180 };
  const links: DirectedLinkSpec[] = [];
  for (const [a, b] of edges) {
    for (const [from, to] of [[a, b], [b, a]]) {
      const name = `${nodes[from]}->${nodes[to]}`;
      links.push({
        id: links.length, from: nodes[from], to: nodes[to], name, delayS: 0, maxDelayS: 0, delayOverTime: null, jitterS: 0, reorder: false, lossPercent: 0, lossOverTime: null, queuePackets: null, mahimahi: null,
        trace: generateTrace(spec, seed, name), rateSource: 'generator redraw-uniform',
      });
    }
  }
  const wanLinks = links.length;
  const perDc = o.workers ?? 1;
  const dataCenters = perDc === 1 ? oneWorkerEach(nodes, nodes)
    : nodes.map((name) => ({ name, workers: Array.from({ length: perDc }, (_, k) => workerNodeName(name, k)), computeS: new Array(perDc).fill(null) }));
  for (const dc of perDc > 1 ? dataCenters : []) {
    for (const w of dc.workers) {
      for (const [from, to] of [[w, dc.name], [dc.name, w]]) {
        links.push({
          id: links.length, from, to, name: `${from}->${to}`, delayS: DEFAULT_LAN.delay_ms / 1000, maxDelayS: DEFAULT_LAN.delay_ms / 1000, delayOverTime: null, jitterS: 0, reorder: false,
          lossPercent: 0, lossOverTime: null, queuePackets: null, mahimahi: null, trace: PiecewiseTrace.constant(DEFAULT_LAN.bandwidth_mbps), rateSource: `${DEFAULT_LAN.bandwidth_mbps} Mbit/s`,
        });
      }
    }
  }
  const workers = dataCenters.flatMap((dc) => dc.workers);
  const profile = PROFILES[o.profile ?? 'alexnet']();
  return {
    name: `mesh-${n}${perDc > 1 ? `x${perDc}` : ''}`, description: `generated mesh of ${n} nodes`, file: '(generated)', hash: '', seed,
    iterations: o.iterations ?? 10, nodes: [...nodes, ...(perDc > 1 ? workers : [])], workers, dataCenters, wanLinks, links,
    workload: { profile: profile.name, arrays: profile.arrays, bytesPerElement: 4, computeS: profile.computeS, totalBytes: totalElements(profile.arrays) * 4, training: null },
    schedulers: o.schedulers ?? [{ ...starSpec.parse({ name: 'star' }), label: 'star' }],
    network: { framing: 'tcp', queueing: 'fair', underlay: 'ip', tcp: DEFAULT_TCP, sharing: 'max-min' },
    results: { bin_s: 1, transfers: false, packet_log: false, pcap: false, compress: false },
  };
}
