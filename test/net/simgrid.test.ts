/**
 * SimGrid as an external oracle: the messages of simulated runs, replayed
 * through SimGrid's pure max-min model (CM02 with every factor neutral,
 * optim Full; bench/tools/simgrid_replay.py says how and why), finish when
 * geobed's simulator says they do, within 1e-9 relative. The runs: random
 * meshes whose link capacities change while messages are on the wire (up
 * and down), a generated mesh under NetStorm, and one iteration of the
 * star parameter server on the NetStorm 9-DC WAN.
 *
 * Needs Debian's python3-simgrid (.ci/run installs it): without it the
 * test says so and is skipped, but never in CI.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Topology } from '../../src/net/topology.js';
import { Simulator } from '../../src/net/sim/simulator.js';
import type { WireRecord } from '../../src/net/sim/network.js';
import { Rng } from '../../src/util/rng.js';
import { loadScenario } from '../../src/scenario/load.js';
import { generatedMesh } from '../../src/scenario/generate.js';
import { simulate } from '../../src/run/simulate.js';
import { schedulerSpec } from '../../src/sync/schedulers/index.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import type { Trace } from '../../src/model/trace.js';
import type { Scenario } from '../../src/scenario/types.js';
import { randomMesh } from './random-mesh.js';
import { largestRelativeDifference, replayInSimgrid, simgridVersion } from '../../bench/tools/simgrid.js';

const version = simgridVersion();
if (!version) {
  const why = 'python3-simgrid is not installed (apt-get install python3-simgrid): the SimGrid oracle cannot run';
  if (process.env.CI) throw new Error(why);
  console.warn(`skipped: ${why}`);
}

/** Wire bytes x 724 are whole bytes under geobed's TCP framing (x 1514 / 1448) for whole payloads. */
const TCP_SCALE = 724;

/** Messages during which a link on their route changed capacity (the case CM02's start-time bound gets wrong). */
function crossedChanges(records: WireRecord[], traces: Trace[]): number {
  return records.filter((r) => r.route.some((l) => traces[l].nextChangeAfter(r.start) < r.end)).length;
}

function randomMeshRun(seed: number): { nodes: string[]; traces: Trace[]; records: WireRecord[]; framing: 'tcp' | 'none'; horizon: number } {
  const rng = new Rng(seed, 'simgrid-oracle');
  const n = 5 + rng.int(8);
  const { nodes, specs, traces } = randomMesh(rng, n, { delayMs: 30, changes: 8, maxGapS: 1, zeroShare: 0 });
  const framing = seed % 2 ? 'tcp' : 'none';
  const sim = new Simulator(Topology.fromSpecs(nodes, specs), traces, 0.5, framing);
  const records: WireRecord[] = [];
  sim.network.wireLog = records;
  let delivered = 0;
  for (const node of nodes) sim.network.transportFor(node).onMessage(() => delivered++);
  const sent = 40;
  for (let m = 0; m < sent; m++) {
    const from = rng.int(n);
    const to = (from + 1 + rng.int(n - 1)) % n;
    const bytes = 1e4 + rng.int(3e6); // whole bytes: SimGrid's sizes are integers
    // several messages start at the same instant, and some queue behind others on one connection
    const at = rng.int(12) * 0.2;
    sim.events.at(at, () => sim.network.transportFor(nodes[from]).send(nodes[to], bytes, null));
  }
  sim.run(() => delivered >= sent);
  return { nodes, traces, records, framing, horizon: sim.now() };
}

function scenarioRun(scenario: Scenario, label: string): { records: WireRecord[]; horizon: number } {
  const config = scenario.schedulers.find((s) => s.label === label) ?? { ...schedulerSpec.parse(label), label };
  const records: WireRecord[] = [];
  const run = simulate(scenario, config, { wireLog: records });
  return { records, horizon: run.endTime };
}

describe.skipIf(!version)(`geobed's simulator against SimGrid ${version ?? ''} (pure max-min)`, () => {
  it('random meshes with capacity changes mid-transfer: every message finishes at the same time within 1e-9', () => {
    let messages = 0;
    let changed = 0;
    let worst = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const mesh = randomMeshRun(seed);
      const { ends } = replayInSimgrid(mesh.nodes.length, mesh.traces, mesh.records, mesh.horizon, mesh.framing === 'tcp' ? TCP_SCALE : 1);
      const { relative, message } = largestRelativeDifference(mesh.records, ends);
      expect({ seed, message, relative: relative < 1e-9 ? 'under 1e-9' : relative }).toEqual({ seed, message, relative: 'under 1e-9' });
      worst = Math.max(worst, relative);
      messages += mesh.records.length;
      changed += crossedChanges(mesh.records, mesh.traces);
    }
    console.log(`SimGrid oracle, random meshes: ${messages} messages (${changed} saw a capacity change on the wire), largest relative difference ${worst.toExponential(2)}`);
    expect(messages).toBeGreaterThan(500);
    expect(changed).toBeGreaterThan(100);
  }, 120_000);

  it('a generated 24-node mesh under NetStorm (capacities redrawn every 2 s) and the 9-DC star iteration', () => {
    const mesh = generatedMesh({ nodes: 24, iterations: 2, seed: 5, periodS: 2, schedulers: [{ ...schedulerSpec.parse('netstorm'), label: 'netstorm' }] });
    const star = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'), { iterations: 1 });
    for (const [name, scenario, label] of [['mesh-24 netstorm', mesh, 'netstorm'], ['9-DC star', star, 'star']] as const) {
      const { records, horizon } = scenarioRun(scenario, label);
      const traces = scenario.links.map((l) => l.trace);
      const scale = scenario.network.framing === 'tcp' ? TCP_SCALE : 1;
      const { ends } = replayInSimgrid(scenario.nodes.length, traces, records, horizon, scale);
      const { relative, message } = largestRelativeDifference(records, ends);
      console.log(`SimGrid oracle, ${name}: ${records.length} messages (${crossedChanges(records, traces)} saw a capacity change on the wire), largest relative difference ${relative.toExponential(2)}`);
      expect(records.length).toBeGreaterThan(50);
      expect({ name, message, relative: relative < 1e-9 ? 'under 1e-9' : relative }).toEqual({ name, message, relative: 'under 1e-9' });
    }
  }, 300_000);
});
