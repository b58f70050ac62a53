/**
 * npm run bench:sim — how fast the flow-level simulator runs, measured in
 * one run: simulated seconds per wall second and wall time per iteration,
 * for the NetStorm 9-DC scenario and generated meshes of 64 and 512 nodes.
 * Goals: 1000 iterations of the 228 MB model on 9 nodes in < 10 s of wall
 * time; < 1 s of wall time per iteration on 512 nodes.
 */
import { join } from 'node:path';
import { loadScenario } from '../src/scenario/load.js';
import { generatedMesh } from '../src/scenario/generate.js';
import { simulate } from '../src/run/simulate.js';
import { PACKAGE_ROOT } from '../src/util/paths.js';
import { formatTable } from '../src/cli/table.js';
import type { Scenario, SchedulerConfig } from '../src/scenario/types.js';
import { SCHEDULER_NAMES, schedulerSpec } from '../src/sync/schedulers/index.js';
import { netstormPolicy } from '../src/sync/schedulers/netstorm.js';
import { scenarioTopology } from '../src/run/simulate.js';
import { Rng } from '../src/util/rng.js';

interface Row { case: string; scheduler: string; iterations: number; wall: number; simulated: number; messages: number; recomputations: number; goal: string; met: boolean | null }

function measure(label: string, scenario: Scenario, goal: (wall: number, iterations: number) => [string, boolean | null]): Row[] {
  return scenario.schedulers.map((config) => {
    const t0 = performance.now();
    const run = simulate(scenario, config);
    const wall = (performance.now() - t0) / 1000;
    const [g, met] = goal(wall, scenario.iterations);
    return { case: label, scheduler: config.label, iterations: scenario.iterations, wall, simulated: run.endTime, messages: run.stats.messages, recomputations: run.stats.recomputations, goal: g, met };
  });
}

/** Every scheduler with its defaults (star: one server). */
function allSchedulers(): SchedulerConfig[] {
  return SCHEDULER_NAMES.map((name) => {
    const spec = schedulerSpec.parse(name);
    return { ...spec, label: name };
  });
}

/** Wall time of one NetStorm re-plan on a generated mesh, from random link estimates. */
function planTime(n: number, repeats: number): { median: number; max: number } {
  const scenario = generatedMesh({ nodes: n });
  const topology = scenarioTopology(scenario);
  const config = schedulerSpec.parse('netstorm') as Extract<SchedulerConfig, { name: 'netstorm' }>;
  const policy = netstormPolicy(config, 1);
  const ctx = {
    topology, nodes: scenario.nodes, workers: scenario.workers, arrays: scenario.workload.arrays, bytesPerElement: 4,
    now: 0,
  };
  policy.currentPlan(ctx);
  const rng = new Rng(1, 'bench');
  const times: number[] = [];
  for (let k = 0; k < repeats; k++) {
    for (const l of scenario.links) policy.observe!({ from: l.from, to: l.to, mbps: rng.uniform(20, 155), at: k, iteration: k });
    const t0 = performance.now();
    policy.replan!(ctx);
    policy.currentPlan(ctx); // the plan is made when it is asked for
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], max: times[times.length - 1] };
}

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);
const rows: Row[] = [];

if (want('9')) {
  const nine = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'), { iterations: 1000, profile: 'alexnet' });
  nine.results.transfers = false;
  rows.push(...measure('netstorm-9dc alexnet', nine, (wall) => [`1000 it < 10 s`, wall < 10]));
}
for (const n of [64, 512]) {
  if (!want(String(n))) continue;
  const iterations = n === 512 ? 3 : 20;
  rows.push(...measure(`mesh-${n} alexnet`, generatedMesh({ nodes: n, iterations, schedulers: allSchedulers() }), (wall, it) =>
    n === 512 ? [`< 1 s/it`, wall / it < 1] : ['-', null]));
}

process.stdout.write(`simulator speed (star on the 9-DC scenario has a server per data center; on meshes one server)\n${formatTable(
  ['case', 'scheduler', 'iterations', 'wall s', 'wall s/it', 'simulated s', 'sim s per wall s', 'messages', 'rate recomputations', 'goal', 'met'],
  rows.map((r) => [
    r.case, r.scheduler, String(r.iterations), r.wall.toFixed(2), (r.wall / r.iterations).toFixed(4), r.simulated.toFixed(0),
    (r.simulated / r.wall).toFixed(0), String(r.messages), String(r.recomputations), r.goal, r.met === null ? '-' : r.met ? 'yes' : 'NO',
  ]),
)}\n`);

if (want('plan')) {
  const p = planTime(512, 10);
  process.stdout.write(`\nNetStorm re-plan on a 512-node mesh (all ${512} candidate roots): median ${p.median.toFixed(1)} ms, max ${p.max.toFixed(1)} ms over 10 re-plans; goal < 100 ms: ${p.max < 100 ? 'met' : 'NOT met'}\n`);
}
