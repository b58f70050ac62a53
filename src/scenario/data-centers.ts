/**
 * A scenario's data centers: how many workers each holds, their nodes'
 * names, their compute times, and their LANs. A data center with one
 * worker is its own worker (every scenario before data centers had
 * several reads as it did); with two or more, each worker is a node of
 * its own, `<dc>.w<k>` (a "." no node name in a file may hold, so the
 * names never clash), linked to the data center's node by a LAN link in
 * each direction.
 */
import { Rng } from '../util/rng.js';
import type { ComputeSpec, LanSpec, ScenarioInput } from './schema.js';
import { DEFAULT_LAN } from './schema.js';
import type { DataCenter } from '../model/data-centers.js';
import type { Problem } from './links.js';

type NodeInput = ScenarioInput['nodes'][number];

/** The node of worker `k` of data center `dc` when it has several. */
export function workerNodeName(dc: string, k: number): string {
  return `${dc}.w${k}`;
}

/** Each data center's workers and compute times (problems go to `problem`). */
export function dataCentersOf(input: ScenarioInput, seed: number, problem: Problem): DataCenter[] {
  const defaults = input.node_defaults ?? {};
  return input.nodes.map((node, i) => {
    const n = typeof node === 'string' ? { name: node } : node;
    if ('worker' in n && n.worker === false && n.workers !== undefined) {
      problem(['nodes', i, 'workers'], 'worker: false says this data center has no worker; give either worker: false or workers');
    }
    const count = 'worker' in n && n.worker === false ? 0 : ('workers' in n && n.workers !== undefined ? n.workers : defaults.workers ?? 1);
    const workers = count === 1 ? [n.name] : Array.from({ length: count }, (_, k) => workerNodeName(n.name, k));
    const given = 'compute_ms' in n && n.compute_ms !== undefined;
    const spec = given ? (n as { compute_ms: ComputeSpec }).compute_ms : defaults.compute_ms;
    const path = given ? ['nodes', i, 'compute_ms'] : ['node_defaults', 'compute_ms'];
    return { name: n.name, workers, computeS: computeTimes(spec, n.name, count, seed, path, problem) };
  });
}

function computeTimes(spec: ComputeSpec | undefined, dc: string, count: number, seed: number, path: (string | number)[], problem: Problem): (number | null)[] {
  if (spec === undefined || count === 0) return new Array(count).fill(null);
  if (typeof spec === 'number') return new Array(count).fill(spec / 1000);
  if (Array.isArray(spec)) {
    if (spec.length !== count) {
      problem(path, `expected one compute time per worker of ${dc} (${count}), got ${spec.length}`);
      return new Array(count).fill(null);
    }
    return spec.map((ms) => ms / 1000);
  }
  const [min, max] = spec.uniform_ms;
  if (min > max) {
    problem([...path, 'uniform_ms'], `the least (${min}) must not exceed the most (${max})`);
    return new Array(count).fill(null);
  }
  const rng = new Rng(seed, `compute:${dc}`);
  return Array.from({ length: count }, () => rng.uniform(min, max) / 1000);
}

/** A data center's LAN as its links take it: the node's fields over node_defaults' over geobed's defaults, and where each was given. */
export function lanOf(input: ScenarioInput, index: number): { lan: LanSpec & { bandwidth: NonNullable<LanSpec['bandwidth']> }; pathOf: (field: string) => (string | number)[] } {
  const node: NodeInput = input.nodes[index];
  const own: LanSpec = typeof node === 'string' ? {} : node.lan ?? {};
  const defaults: LanSpec = input.node_defaults?.lan ?? {};
  const merged = { bandwidth: DEFAULT_LAN.bandwidth_mbps, delay_ms: DEFAULT_LAN.delay_ms, ...strip(defaults), ...strip(own) };
  const pathOf = (field: string) => ((own as Record<string, unknown>)[field] !== undefined ? ['nodes', index, 'lan', field]
    : ['node_defaults', 'lan', field]);
  return { lan: merged, pathOf };
}

function strip<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
