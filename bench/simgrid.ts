/**
 * npm run bench:simgrid — geobed's flow-level simulator and SimGrid 3.32's
 * pure max-min model (bench/tools/simgrid_replay.py) on the same messages:
 * the messages of a simulated run (each with its route, size and the time
 * its first byte left) are replayed by both, each timed on its own
 * simulation (SimGrid: engine.run(); geobed: building the network, the
 * sends and Simulator.run), and the ratio printed. Both replays must end
 * every message when the original run did (within 1e-9), or the benchmark
 * fails: a fast wrong answer is no answer. Each case is replayed REPEATS
 * times, geobed and SimGrid in turn, and the median and range printed: on
 * this shared VM one replay's time varies many-fold (single replays put
 * the ratio anywhere from 2.1x to 47x over four runs of an earlier version).
 */
import { join } from 'node:path';
import { loadScenario } from '../src/scenario/load.js';
import { generatedMesh } from '../src/scenario/generate.js';
import { scenarioTopology, simulate } from '../src/run/simulate.js';
import { Simulator } from '../src/net/sim/simulator.js';
import type { WireRecord } from '../src/net/sim/network.js';
import { schedulerSpec } from '../src/sync/schedulers/index.js';
import { PACKAGE_ROOT } from '../src/util/paths.js';
import { formatTable } from '../src/cli/table.js';
import type { Scenario } from '../src/scenario/types.js';
import { largestRelativeDifference, replayInSimgrid, simgridVersion } from './tools/simgrid.js';

/** Wire bytes x 724 are whole bytes under geobed's TCP framing (x 1514 / 1448) for whole payloads. */
const TCP_SCALE = 724;

/** Replay the messages through geobed's network alone: each sent on its connection when its first byte left. */
function replayInGeobed(scenario: Scenario, records: WireRecord[]): { ends: number[]; wallS: number } {
  const t0 = performance.now();
  const sim = new Simulator(scenarioTopology(scenario), scenario.links.map((l) => l.trace), scenario.results.bin_s, 'none');
  const ends = new Array<number>(records.length);
  const nodes = scenario.nodes;
  for (const node of nodes) sim.network.transportFor(node).onMessage(() => undefined);
  const log: WireRecord[] = [];
  sim.network.wireLog = log;
  const order = records.map((_, i) => i).sort((a, b) => records[a].start - records[b].start || a - b);
  for (const i of order) {
    const r = records[i];
    sim.events.at(r.start, () => sim.network.send(r.from, r.to, r.wireBytes, i));
  }
  sim.run(() => log.length === records.length && !sim.network.hasActiveFlows());
  const wallS = (performance.now() - t0) / 1000;
  // the log is in completion order; match by connection and order on it
  const perConnection = new Map<string, number[]>();
  for (const i of order) {
    const key = `${records[i].from},${records[i].to}`;
    perConnection.set(key, [...(perConnection.get(key) ?? []), i]);
  }
  const next = new Map<string, number>();
  for (const r of log) {
    const key = `${r.from},${r.to}`;
    const k = next.get(key) ?? 0;
    next.set(key, k + 1);
    ends[perConnection.get(key)![k]] = r.end;
  }
  return { ends, wallS };
}

const version = simgridVersion();
if (!version) {
  process.stderr.write('bench:simgrid needs python3-simgrid (apt-get install python3-simgrid)\n');
  process.exit(2);
}

const CASES: [string, () => Scenario, string][] = [
  ['netstorm-9dc alexnet, 20 it', () => loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'), { iterations: 20, profile: 'alexnet' }), 'star'],
  ['netstorm-9dc alexnet, 20 it', () => loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'), { iterations: 20, profile: 'alexnet' }), 'netstorm'],
  ['mesh-64 alexnet, 3 it', () => generatedMesh({ nodes: 64, iterations: 3 }), 'ring'],
  ['mesh-64 alexnet, 3 it', () => generatedMesh({ nodes: 64, iterations: 3 }), 'netstorm'],
];

const REPEATS = Number(process.env.REPEATS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** "median (min-max)" */
const spread = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

const rows: string[][] = [];
for (const [name, make, label] of CASES) {
  const scenario = make();
  scenario.results.transfers = false;
  const config = scenario.schedulers.find((s) => s.label === label) ?? { ...schedulerSpec.parse(label), label };
  const records: WireRecord[] = [];
  const run = simulate(scenario, config, { wireLog: records });
  const scale = scenario.network.framing === 'tcp' ? TCP_SCALE : 1;
  const times = { geobed: [] as number[], simgrid: [] as number[], ratio: [] as number[] };
  let agree = [0, 0];
  for (let r = 0; r < REPEATS; r++) {
    const geobed = replayInGeobed(scenario, records);
    const simgrid = replayInSimgrid(scenario.nodes.length, scenario.links.map((l) => l.trace), records, run.endTime, scale);
    agree = [largestRelativeDifference(records, geobed.ends).relative, largestRelativeDifference(records, simgrid.ends).relative];
    if (!(agree[0] < 1e-9 && agree[1] < 1e-9)) throw new Error(`${name} ${label}: a replay disagrees with the run (geobed ${agree[0]}, SimGrid ${agree[1]})`);
    times.geobed.push(geobed.wallS);
    times.simgrid.push(simgrid.wallS);
    times.ratio.push(simgrid.wallS / geobed.wallS); // (each pair back to back: a slow spell slows both)
  }
  rows.push([
    name, label, String(records.length), spread(times.geobed, 3), spread(times.simgrid, 3), spread(times.ratio, 1),
    agree[0].toExponential(1), agree[1].toExponential(1),
  ]);
}
process.stdout.write(`the same messages through geobed's simulator and SimGrid ${version} (pure max-min, optim Full); ` +
  `each case replayed ${REPEATS} times, median (range)\n${formatTable(
    ['case', 'scheduler', 'messages', 'geobed s', 'SimGrid s', 'SimGrid / geobed', 'geobed vs run', 'SimGrid vs run'], rows,
  )}\n`);
