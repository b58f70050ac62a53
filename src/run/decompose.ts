/**
 * The decomposition of the gap between geobed's idealised baselines and
 * the systems as their code runs them: start from every idealisation on
 * (the schedulers as geobed first built them, on an IP underlay), switch on
 * one fidelity factor at a time, cumulatively, and simulate every scheduler
 * of the scenario under each step for several seeds. Each step's mean
 * iteration time per scheduler, and its speedup over the baseline, come
 * with 95% intervals across seeds (each seed one sample: the mean over its
 * iterations). The last step is the scenario as written (the code's
 * behaviour, where it keeps the schedulers' defaults) on the relay
 * underlay.
 */
import { simulate } from './simulate.js';
import { loadScenario } from '../scenario/load.js';
import type { Scenario, SchedulerConfig } from '../scenario/types.js';
import { iterationTimes } from '../results/summary.js';
import { ratioOfMeans, summarize } from '../results/stats.js';

/** Options that differ between the idealised baselines and their code, per scheduler: the idealised values. */
const IDEALISED: Record<string, Record<string, unknown>> = {
  star: { message: 'chunk', pull: 'pipelined' },
  tsengine: { granularity: 'chunk', tie: 'earlier-sends', greedy_rate: 'ratio', metric: 'mbps' },
  netstorm: {
    initial_estimate: 'guess', score_links: 'leaf-to-root', deal: 'largest-deficit', measure_aggregate: 'mean-rate',
    trigger_counts: 'all', max_paths: 3, barrier: false,
  },
};

export interface Factor {
  id: string;
  label: string;
  /** Scheduler options switched back to the scenario's value (the code's default unless it sets one), by scheduler name. */
  options?: Record<string, string[]>;
  underlay?: 'relay';
}

/** The factors, in the order they are switched on. */
export const FACTORS: readonly Factor[] = [
  { id: 'per-key-pull', label: 'MXNET pulls key by key, each after the last (trainer/mxnet/sync.py)', options: { star: ['pull'] } },
  { id: 'key-messages', label: 'messages are whole key parts (MXNET) and whole keys (TSEngine)', options: { star: ['message'], tsengine: ['granularity'] } },
  { id: 'relay', label: 'relay underlay: the van forwards whole messages between neighbours', underlay: 'relay' },
  { id: 'netstorm-trigger', label: 'NetStorm multipath: waiting messages trigger it, every disjoint path', options: { netstorm: ['trigger_counts', 'max_paths'] } },
  {
    id: 'netstorm-estimates', label: 'NetStorm: srand(2) estimates, root-to-leaf score, quota deal, bytes/time reports, barrier',
    options: { netstorm: ['initial_estimate', 'score_links', 'deal', 'measure_aggregate', 'barrier'] },
  },
  { id: 'tsengine-rules', label: 'TSEngine: the later node sends on a tie, integer greedy rate, 1/seconds metric', options: { tsengine: ['tie', 'greedy_rate', 'metric'] } },
];

export interface StepResult {
  /** 0: every idealisation; k: factors 1..k switched on. */
  step: number;
  factor: string;
  label: string;
  scheduler: string;
  seeds: number;
  meanS: number;
  ciLow: number;
  ciHigh: number;
  speedup: number;
  speedupLow: number;
  speedupHigh: number;
}

export interface DecomposeOptions {
  seeds: number[];
  iterations?: number;
  profile?: string;
  /** The baseline's label (default: the first scheduler). */
  baseline?: string;
  onRun?: (done: number, total: number) => void;
}

/** A scheduler config with its idealised options, then the scenario's own for the factors switched on. */
export function configAtStep(config: SchedulerConfig, step: number): SchedulerConfig {
  const ideal = IDEALISED[config.name];
  if (!ideal) return config;
  const own = config as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { ...config, ...ideal };
  for (const factor of FACTORS.slice(0, step)) {
    for (const field of factor.options?.[config.name] ?? []) out[field] = own[field];
  }
  return out as SchedulerConfig;
}

/** The scenario's network at a step: IP until the relay factor is on. */
export function underlayAtStep(step: number): 'ip' | 'relay' {
  return FACTORS.slice(0, step).some((f) => f.underlay === 'relay') ? 'relay' : 'ip';
}

export function decompose(file: string, options: DecomposeOptions): StepResult[] {
  const scenarios = options.seeds.map((seed) => loadScenario(file, { seed, iterations: options.iterations, profile: options.profile }));
  const labels = scenarios[0].schedulers.map((c) => c.label);
  const baseline = options.baseline ?? labels[0];
  if (!labels.includes(baseline)) throw new Error(`decompose: no scheduler labelled "${baseline}" in ${file} (${labels.join(', ')})`);
  const total = (FACTORS.length + 1) * labels.length * scenarios.length;
  let done = 0;
  const results: StepResult[] = [];
  for (let step = 0; step <= FACTORS.length; step++) {
    // per scheduler label, one mean iteration time per seed
    const means = new Map<string, number[]>(labels.map((l) => [l, []]));
    for (const scenario of scenarios) {
      const at: Scenario = { ...scenario, network: { ...scenario.network, underlay: underlayAtStep(step) }, results: { ...scenario.results, transfers: false } };
      for (const config of scenario.schedulers) {
        const times = iterationTimes(simulate(at, configAtStep(config, step)));
        means.get(config.label)!.push(times.reduce((s, t) => s + t, 0) / times.length);
        options.onRun?.(++done, total);
      }
    }
    const factor = step === 0 ? { id: 'idealised', label: 'every idealisation (geobed\'s first baselines, IP underlay)' } : FACTORS[step - 1];
    for (const label of labels) {
      const s = summarize(means.get(label)!);
      const r = label === baseline ? { ratio: 1, low: 1, high: 1 } : ratioOfMeans(means.get(baseline)!, means.get(label)!);
      results.push({
        step, factor: factor.id, label: factor.label, scheduler: label, seeds: s.n,
        meanS: s.mean, ciLow: s.ciLow, ciHigh: s.ciHigh, speedup: r.ratio, speedupLow: r.low, speedupHigh: r.high,
      });
    }
  }
  return results;
}
