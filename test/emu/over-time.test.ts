/**
 * Delay and loss that change over time, replayed live on the native link
 * emulator (root; CI runs as root): UDP probes every 10 ms see the round
 * trip follow the scenario's delay steps, and see every probe lost while a
 * 100% loss step is in force, timed by when the replay applied each change.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { buildLinks } from '../../src/run/link-backends.js';
import { scenarioTopology } from '../../src/run/simulate.js';
import { TraceReplay, type LinkChange } from '../../src/run/trace-replay.js';
import { WallClock } from '../../src/net/emu/transport.js';
import type { EmulatedLinks } from '../../src/net/emu/links.js';
import { cleanUpAfterEach, isRoot, trafficTools, watchHost } from './emu-helpers.js';

let net: EmulatedLinks | null = null;
let replay: TraceReplay | null = null;
const children = cleanUpAfterEach(async () => {
  replay?.stop();
  await net?.teardown();
  net = null;
});
const { tool, json } = trafficTools(children);

// 5 ms each way, 40 ms from 1 s on; 100% loss over [2, 2.5) s
const SCENARIO = `
name: over-time
nodes: [a, b]
links:
  - between: [a, b]
    bandwidth: 50
    delay_ms: { generator: steps, ms: [5, 40], period_s: 1, loop: false }
    loss_percent: { generator: steps, percent: [0, 0, 0, 0, 100, 0], period_s: 0.5, loop: false }
workload: { gradient_mb: 1, compute_ms: 10 }
schedulers: [star]
`;

describe.skipIf(!isRoot)('delay and loss over time on the native link emulator (root)', () => {
  it('the round trip follows the delay steps and a 100% loss step drops every probe, from when each change was applied', async (ctx) => {
    const scenario = parseScenario(SCENARIO, 'over-time.yaml');
    const host = watchHost({ emulatorPid: () => net?.emulatorPid() ?? null });
    net = await buildLinks('native', scenario, scenarioTopology(scenario));
    await tool(net, 'b', ['udpecho', net.addressOf('b'), '6101', '10'], true);
    const epochMs = WallClock.epochNow() + 200;
    const changes: LinkChange[] = [];
    replay = new TraceReplay(scenario, net, new WallClock(epochMs), epochMs, (c) => changes.push(c));
    await new Promise((r) => setTimeout(r, Math.max(0, epochMs - WallClock.epochNow())));
    const { probes } = await json(await tool(net, 'a', ['udpprobe', net.addressOf('b'), '6101', '300']));

    // each direction: the delay at 1 s, the loss on at 2 s and off at 2.5 s, each with all three values in force
    for (const link of ['a->b', 'b->a']) {
      expect(changes.filter((c) => c.link === link).map((c) => [c.scheduledS, c.delayMs, c.lossPercent])).toEqual([[1, 40, 0], [2, 40, 100], [2.5, 40, 0]]);
    }
    // run time (s) at which a change was applied on both directions, the earliest and the latest
    const applied = (at: number) => changes.filter((c) => c.scheduledS === at).map((c) => c.appliedS);
    const [delayFrom, lossFrom, lossTo] = [1, 2, 2.5].map(applied);
    const sent = (p: [number, number]) => (p[0] - epochMs) / 1000;
    const within = (from: number, to: number) => (probes as [number, number][]).filter((p) => sent(p) >= from && sent(p) < to);
    const SLACK = 0.05; // the emulator reads its commands a few ms after the runner wrote them

    const early = within(0.05, Math.min(...delayFrom) - 0.1);
    const late = within(Math.max(...delayFrom) + SLACK, Math.min(...lossFrom) - 0.15);
    const lost = within(Math.max(...lossFrom) + SLACK, Math.min(...lossTo) - 0.1);
    const after = within(Math.max(...lossTo) + SLACK, 2.9);
    for (const phase of [early, late, lost, after]) expect(phase.length).toBeGreaterThan(10);
    // the emulator never delivers before the delay (a busy host only adds to a round trip)
    expect(early.every(([, rtt]) => rtt === -1 || rtt >= 10)).toBe(true);
    expect(late.every(([, rtt]) => rtt === -1 || rtt >= 80)).toBe(true);
    expect(early.every(([, rtt]) => rtt >= 0) && late.every(([, rtt]) => rtt >= 0) && after.every(([, rtt]) => rtt >= 0)).toBe(true);
    expect(lost.every(([, rtt]) => rtt === -1)).toBe(true);
    host.keptUp(ctx, 'delay over time: round-trip floors');
    const floor = (phase: [number, number][]) => Math.min(...phase.map(([, rtt]) => rtt));
    expect(floor(early)).toBeLessThan(10 + 3);
    expect(floor(late)).toBeLessThan(80 + 3);
  }, 30_000);
});
