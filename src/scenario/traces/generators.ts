/** Seeded trace generators: one random stream per (seed, label), so adding a link changes no other's realisation. */
import { Rng } from '../../util/rng.js';
import { PythonRandom } from '../../util/python-random.js';
import type { Trace } from '../../model/trace.js';
import { PiecewiseTrace } from './piecewise.js';

export type GeneratorSpec =
  | { generator: 'redraw-uniform'; min_mbps: number; max_mbps: number; period_s: number }
  | { generator: 'random-walk'; start_mbps: number; step_mbps: number; min_mbps: number; max_mbps: number; period_s: number }
  | { generator: 'on-off'; on_mbps: number; mean_on_s: number; mean_off_s: number }
  | { generator: 'steps'; mbps: number[]; period_s: number; loop?: boolean }
  | { generator: 'redraw-randint'; min_mbps: number; max_mbps: number; period_s: number; seed: number; draw: number; draws_per_period: number };

export const GENERATORS = ['redraw-uniform', 'random-walk', 'on-off', 'steps', 'redraw-randint'] as const;

/**
 * What is wrong with a generator's fields taken together (each alone is the
 * schema's to check), or null: the one check for a scenario's generators
 * and `geobed trace gen`'s, each naming the fields its way.
 */
export function generatorProblem(spec: GeneratorSpec, name: (field: string) => string = (f) => f): { field: string; message: string } | null {
  if ('min_mbps' in spec && 'max_mbps' in spec && spec.min_mbps > spec.max_mbps) {
    return { field: 'min_mbps', message: `${name('min_mbps')} (${spec.min_mbps}) must not exceed ${name('max_mbps')} (${spec.max_mbps})` };
  }
  if (spec.generator === 'redraw-randint' && spec.draw >= spec.draws_per_period) {
    return { field: 'draw', message: `${name('draw')} (${spec.draw}) must be below ${name('draws_per_period')} (${spec.draws_per_period})` };
  }
  if (spec.generator === 'random-walk' && (spec.start_mbps < spec.min_mbps || spec.start_mbps > spec.max_mbps)) {
    return { field: 'start_mbps', message: `${name('start_mbps')} (${spec.start_mbps}) must lie in [${name('min_mbps')}, ${name('max_mbps')}]` };
  }
  return null;
}

/** A generated trace; `seed` and `label` pick its random stream. */
export function generateTrace(spec: GeneratorSpec, seed: number, label: string): Trace {
  const rng = new Rng(seed, `trace:${label}`);
  switch (spec.generator) {
    case 'redraw-uniform':
      return PiecewiseTrace.generated(() => ({ duration: spec.period_s, mbps: rng.uniform(spec.min_mbps, spec.max_mbps) }));
    case 'random-walk': {
      let rate = spec.start_mbps;
      let first = true;
      return PiecewiseTrace.generated(() => {
        if (!first) rate = Math.min(spec.max_mbps, Math.max(spec.min_mbps, rate + rng.uniform(-spec.step_mbps, spec.step_mbps)));
        first = false;
        return { duration: spec.period_s, mbps: rate };
      });
    }
    case 'on-off': {
      let on = false;
      return PiecewiseTrace.generated(() => {
        on = !on;
        return on
          ? { duration: rng.exponential(spec.mean_on_s), mbps: spec.on_mbps }
          : { duration: rng.exponential(spec.mean_off_s), mbps: 0 };
      });
    }
    case 'redraw-randint': {
      // Every period, one script redraws all its links in turn: this link takes the draw-th of them.
      const py = new PythonRandom(spec.seed);
      return PiecewiseTrace.generated(() => {
        let mbps = 0;
        for (let k = 0; k < spec.draws_per_period; k++) {
          const v = py.randint(spec.min_mbps, spec.max_mbps);
          if (k === spec.draw) mbps = v;
        }
        return { duration: spec.period_s, mbps };
      });
    }
    case 'steps': {
      const times = spec.mbps.map((_, i) => i * spec.period_s);
      const loop = spec.loop ?? true;
      return new PiecewiseTrace(times, spec.mbps, loop ? spec.mbps.length * spec.period_s : null);
    }
  }
}

/** About how many rows a generator makes over `seconds` (to refuse a trace that cannot be written sensibly). */
export function expectedRows(spec: GeneratorSpec, seconds: number): number {
  const mean = spec.generator === 'on-off' ? (spec.mean_on_s + spec.mean_off_s) / 2 : spec.period_s;
  return Math.ceil(seconds / mean);
}
