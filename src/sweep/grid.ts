/**
 * A sweep's grid: every (scenario, parameter values, scheduler, seed), one
 * run each. Each scenario is loaded with each combination of parameter
 * values before anything runs, so a bad path or value stops the sweep at
 * once, naming it.
 */
import { loadScenario } from '../scenario/load.js';
import { UserError } from '../util/errors.js';
import { MAX_SWEEP_POINTS, type Sweep } from './spec.js';

export interface SweepPoint {
  /** Its run folder's name: p<index>-<scenario>-<scheduler>-seed<seed>. */
  id: string;
  scenarioFile: string;
  scenario: string;
  scheduler: string;
  seed: number;
  /** Grid parameter path -> value (YAML text), in the sweep file's order. */
  params: Record<string, string>;
}

/** Every combination of the parameters' values, the first parameter varying slowest. */
export function combinations(parameters: Sweep['parameters']): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const { path, values } of parameters) out = out.flatMap((combo) => values.map((v) => ({ ...combo, [path]: v })));
  return out;
}

/** The `--set` overrides of a point: the sweep's fixed ones, then its grid values. */
export function pointOverrides(sweep: Sweep, params: Record<string, string>): string[] {
  return [...sweep.set, ...Object.entries(params).map(([path, value]) => `${path}=${value}`)];
}

/**
 * Every point of the grid. `notes` gets, once per scenario, the schedulers
 * the sweep names that the scenario does not list (they run with their
 * defaults, and the grid's parameters reach them as they reach the others).
 */
export function expandGrid(sweep: Sweep, notes: string[] = []): SweepPoint[] {
  const combos = combinations(sweep.parameters);
  const points: SweepPoint[] = [];
  const total = sweep.scenarios.length * combos.length * sweep.seeds.length;
  if (total > MAX_SWEEP_POINTS) throw new UserError(`${sweep.file}: the grid has over ${MAX_SWEEP_POINTS} runs before schedulers (${total}); split the sweep`);
  for (const file of sweep.scenarios) {
    for (const params of combos) {
      let scenario;
      try {
        scenario = loadScenario(file, {
          iterations: sweep.iterations ?? undefined, profile: sweep.profile ?? undefined, schedulers: sweep.schedulers ?? undefined, set: pointOverrides(sweep, params),
        });
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        const which = Object.keys(params).length ? ` with ${Object.entries(params).map(([p, v]) => `${p}=${v}`).join(', ')}` : '';
        throw new UserError(`${sweep.file}: scenario ${file}${which}:\n${e.message}`, e.exitCode);
      }
      const unlisted = scenario.schedulersNotInFile ?? [];
      const note = `${file} does not list ${unlisted.join(', ')}: ${unlisted.length > 1 ? 'they run' : 'it runs'} with ${unlisted.length > 1 ? 'their' : 'its'} defaults`;
      if (unlisted.length && !notes.includes(note)) notes.push(note);
      for (const config of scenario.schedulers) {
        for (const seed of sweep.seeds) {
          const index = points.length;
          points.push({ id: `p${String(index).padStart(5, '0')}-${scenario.name}-${config.label}-seed${seed}`, scenarioFile: file, scenario: scenario.name, scheduler: config.label, seed, params });
          if (points.length > MAX_SWEEP_POINTS) throw new UserError(`${sweep.file}: the grid has over ${MAX_SWEEP_POINTS} runs; split the sweep`);
        }
      }
    }
  }
  return points;
}

/** The `geobed run` arguments of a point, writing into `out`. */
export function runArguments(sweep: Sweep, point: SweepPoint, out: string): string[] {
  return [
    'run', point.scenarioFile, '--mode', sweep.mode, '--schedulers', point.scheduler, '--seed', String(point.seed),
    ...(sweep.iterations !== null ? ['--iterations', String(sweep.iterations)] : []),
    ...(sweep.profile !== null ? ['--profile', sweep.profile] : []),
    ...(sweep.links !== null ? ['--links', sweep.links] : []),
    ...pointOverrides(sweep, point.params).flatMap((s) => ['--set', s]),
    '--out', out,
  ];
}
