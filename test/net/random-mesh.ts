/**
 * Random meshes for the simulator's property tests: a random spanning tree
 * plus n/2 random links, each direction its own link with a random delay
 * and a piecewise-constant capacity that changes at random times.
 */
import type { Rng } from '../../src/util/rng.js';
import { PiecewiseTrace } from '../../src/scenario/traces/piecewise.js';

export interface RandomMeshOptions {
  /** Delays are whole milliseconds below this. */
  delayMs: number;
  /** Capacity changes per link, each 0.05 s to `maxGapS` after the one before. */
  changes: number;
  maxGapS: number;
  /** Share of changes to 0 Mbit/s (the last value is then at least 20). */
  zeroShare: number;
}

export function randomMesh(rng: Rng, n: number, o: RandomMeshOptions): { nodes: string[]; specs: { from: string; to: string; delayS: number }[]; traces: PiecewiseTrace[] } {
  const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
  const specs: { from: string; to: string; delayS: number }[] = [];
  const seen = new Set<string>();
  const add = (a: number, b: number) => {
    if (a === b || seen.has(`${a},${b}`)) return;
    seen.add(`${a},${b}`).add(`${b},${a}`);
    specs.push({ from: nodes[a], to: nodes[b], delayS: rng.int(o.delayMs) / 1000 }, { from: nodes[b], to: nodes[a], delayS: rng.int(o.delayMs) / 1000 });
  };
  for (let i = 1; i < n; i++) add(i, rng.int(i));
  for (let k = 0; k < n / 2; k++) add(rng.int(n), rng.int(n));
  const traces = specs.map(() => {
    const times = [0];
    const rates = [rng.uniform(10, 100)];
    for (let c = 0; c < o.changes; c++) {
      times.push(times[times.length - 1] + rng.uniform(0.05, o.maxGapS));
      rates.push(o.zeroShare > 0 && rng.uniform(0, 1) < o.zeroShare ? 0 : rng.uniform(5, 150));
    }
    if (o.zeroShare > 0) rates[rates.length - 1] = Math.max(rates[rates.length - 1], 20); // no link stays at 0
    return new PiecewiseTrace(times, rates);
  });
  return { nodes, specs, traces };
}
