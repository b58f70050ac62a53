/**
 * npm run bench:tcp-model (root) — calibrates the simulator's TCP-aware
 * sharing model (network.sharing: tcp) against emulated mode: every
 * scheduler on the quarter-rate quickstart with one-way delays of 20, 40,
 * 60, 80 and 20 ms on its five links (RTTs from 40 to 280 ms), emulated over
 * real TCP on the native link emulator, then simulated with pure max-min and
 * with the TCP model at several constants. It
 * prints the largest error over the schedulers for each RTT exponent a
 * (share weight RTT^-a) and bandwidth factor f, then each scheduler's mean
 * iteration time under max-min and under the best (a, f).
 * `node dist/bench/tcp-model.js cubic --slow-start-after-idle` calibrates
 * for another congestion control (default: bbr, the scenario default) and
 * with Linux's default slow start after idle; `--compute-ms 500` sets the
 * compute time between iterations (an idle longer than the RTO restarts
 * slow start).
 */
import { join } from 'node:path';
import { loadScenario } from '../src/scenario/load.js';
import { SCHEDULER_NAMES } from '../src/sync/schedulers/index.js';
import { emulate } from '../src/run/emulate.js';
import { simulate } from '../src/run/simulate.js';
import { TCP_CALIBRATION } from '../src/run/host-tcp.js';
import { iterationTimes } from '../src/results/summary.js';
import { healthProblems } from '../src/results/fidelity.js';
import { PACKAGE_ROOT } from '../src/util/paths.js';
import { formatTable } from '../src/cli/table.js';
import type { Scenario } from '../src/scenario/types.js';

const args = process.argv.slice(2);
const congestion = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--compute-ms') ?? 'bbr';
const slowStartAfterIdle = args.includes('--slow-start-after-idle');
const computeAt = args.indexOf('--compute-ms');
const computeMs = computeAt >= 0 ? Number(args[computeAt + 1]) : null;
const EXPONENTS = [-1, 0, 0.5, 1, 2];
const FACTORS = [1, 0.98, 0.97, 0.96, 0.95];
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

if (process.getuid?.() !== 0) {
  process.stderr.write('bench:tcp-model runs emulated mode: it needs root\n');
  process.exit(2);
}

const base = loadScenario(join(PACKAGE_ROOT, 'test', 'emu', 'fixtures', 'quickstart-quarter', 'scenario.yaml'), { iterations: 10 });
const delays = [0.02, 0.04, 0.06, 0.08, 0.02];
const scenario: Scenario = {
  ...base,
  links: base.links.map((l) => ({ ...l, delayS: delays[Math.floor(l.id / 2)], maxDelayS: delays[Math.floor(l.id / 2)] })),
  network: { ...base.network, tcp: { ...base.network.tcp, congestion, slow_start_after_idle: slowStartAfterIdle } },
  workload: computeMs === null ? base.workload : { ...base.workload, computeS: computeMs / 1000 },
};
const schedulers = scenario.schedulers.filter((s) => (SCHEDULER_NAMES as readonly string[]).includes(s.name));
const grid = EXPONENTS.flatMap((a) => FACTORS.map((f) => ({ a, f })));

const rows: { label: string; emulated: number; maxMin: number; tcp: number[]; problems: string[] }[] = [];
for (const config of schedulers) {
  const run = await emulate(scenario, config, { timeoutS: 300 });
  const emulated = mean(iterationTimes(run));
  const maxMin = mean(iterationTimes(simulate(scenario, config)));
  const tcp = grid.map(({ a, f }) => {
    TCP_CALIBRATION[congestion] = { rttExponent: a, bandwidthFactor: f };
    return mean(iterationTimes(simulate({ ...scenario, network: { ...scenario.network, sharing: 'tcp' } }, config)));
  });
  rows.push({ label: config.label, emulated, maxMin, tcp, problems: healthProblems(run.health) });
  process.stderr.write(`${config.label}: emulated ${emulated.toFixed(3)} s, max-min ${maxMin.toFixed(3)} s\n`);
}

const err = (sim: number, emu: number) => (sim / emu - 1) * 100;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
const worst = (k: number) => Math.max(...rows.map((r) => Math.abs(err(r.tcp[k], r.emulated))));
const ranked = grid.map((g, k) => ({ ...g, k, worst: worst(k) })).sort((x, y) => x.worst - y.worst);
const best = ranked[0];
const label = `${congestion}, slow start after idle ${slowStartAfterIdle ? 'on' : 'off'}, compute ${scenario.workload.computeS * 1000} ms`;
process.stdout.write(`largest error over the schedulers, TCP model by RTT exponent a (rows) and bandwidth factor f (columns), ${label}\n${formatTable(
  ['a', ...FACTORS.map((f) => `f=${f}`)],
  EXPONENTS.map((a) => [String(a), ...FACTORS.map((f) => `${worst(grid.findIndex((g) => g.a === a && g.f === f)).toFixed(1)}%`)]),
)}\n\n`);
process.stdout.write(`simulated vs emulated mean iteration time, quickstart-quarter with 20-80 ms one-way delays, ${label}, 10 iterations\n${formatTable(
  ['scheduler', 'emulated s', 'max-min s', 'max-min err', `tcp (a=${best.a}, f=${best.f}) s`, 'tcp err', 'host kept up'],
  rows.map((r) => [r.label, r.emulated.toFixed(3), r.maxMin.toFixed(3), pct(err(r.maxMin, r.emulated)), r.tcp[best.k].toFixed(3), pct(err(r.tcp[best.k], r.emulated)),
    r.problems.length ? `NO: ${r.problems.join('; ')}` : 'yes']),
)}\n`);
const maxMinWorst = Math.max(...rows.map((r) => Math.abs(err(r.maxMin, r.emulated))));
process.stdout.write(`largest error: max-min ${maxMinWorst.toFixed(1)}%; tcp at a = ${best.a}, f = ${best.f}: ${best.worst.toFixed(1)}% (goal: within 5% for every scheduler: ${best.worst <= 5 ? 'met' : 'NOT met'})\n`);
