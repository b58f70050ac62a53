/**
 * The control plane (sync/control.ts): what an agent's calls become as
 * messages and what the coordinator's end makes of them, over a channel
 * that only carries messages (here: arrays, as IPC would).
 */
import { describe, expect, it } from 'vitest';
import { AgentEndpoint, CoordinatorEndpoint, isControlDown, isControlUp, type ControlDown, type ControlUp } from '../../src/sync/control.js';
import { Coordinator } from '../../src/sync/coordinator.js';
import { RunRecorder } from '../../src/sync/record.js';
import { Topology } from '../../src/net/topology.js';
import { starTree, chunkArrays, type Plan } from '../../src/sync/plan.js';
import type { Policy } from '../../src/sync/policy.js';
import { oneWorkerEach } from '../../src/model/data-centers.js';

describe('the control plane', () => {
  const nodes = ['a', 'b'];
  const topology = Topology.fromSpecs(nodes, [{ from: 'a', to: 'b', delayS: 0 }, { from: 'b', to: 'a', delayS: 0 }]);
  const plan: Plan = { version: 1, trees: [starTree('a', nodes)], chunks: chunkArrays([{ elements: 10 }], 10, 4) };
  const measured: unknown[] = [];
  const policy: Policy = { currentPlan: () => plan, observe: (m) => measured.push(m) };
  const timers: (() => void)[] = [];
  const clock = { now: () => 0, setTimer: (_s: number, fn: () => void) => timers.push(fn) };

  it('an agent\'s calls reach the coordinator as messages, and its answers come back', () => {
    const recorder = new RunRecorder(2, false, null);
    const down: [string, ControlDown][] = [];
    let end: CoordinatorEndpoint | null = null;
    const coordinator = new Coordinator(policy, () => ({ topology, nodes, workers: nodes, dataCenters: oneWorkerEach(nodes, nodes), arrays: [{ name: 'w', elements: 10 }] as never, bytesPerElement: 4, now: 0 }), recorder, clock, (c) => end!.command(c));
    end = new CoordinatorEndpoint(coordinator, recorder, (node, m) => down.push([node, m]), nodes);
    const up: ControlUp[] = [];
    const agent = new AgentEndpoint((m) => up.push(m));

    let got: Plan | null = null;
    agent.control.requestPlan(0, (p) => (got = p));
    expect(up).toEqual([{ type: 'requestPlan', iteration: 0 }]);
    end.receive('b', up[0]);
    expect(down).toEqual([['b', { type: 'plan', iteration: 0, plan }]]);
    agent.receive(down[0][1]);
    expect(got).toBe(plan);

    agent.control.measured({ from: 'a', to: 'b', mbps: 50, at: 1, iteration: 0 });
    end.receive('b', up[1]);
    expect(measured).toEqual([{ from: 'a', to: 'b', mbps: 50, at: 1, iteration: 0 }]);

    // both nodes report iteration 0 done: the coordinator ends it, and every node hears so
    const heard: number[] = [];
    agent.control.onIterationComplete((i) => heard.push(i));
    for (const node of nodes) end.receive(node, { type: 'report', method: 'iterationDone', iteration: 0, at: 2 });
    const ends = down.filter(([, m]) => m.type === 'iterationComplete');
    expect(ends).toEqual([['a', { type: 'iterationComplete', iteration: 0 }], ['b', { type: 'iterationComplete', iteration: 0 }]]);
    agent.receive(ends[1][1]);
    expect(heard).toEqual([0]);
  });

  it('tells control messages from the rest of a channel\'s traffic', () => {
    for (const type of ['requestPlan', 'report', 'delivered', 'measured', 'online', 'receivedFinal']) expect(isControlUp({ type })).toBe(true);
    for (const type of ['plan', 'command', 'iterationComplete']) expect(isControlDown({ type })).toBe(true);
    for (const type of ['ping', 'pong', 'init', 'finish', 'outcome', 'iterationSeen']) expect(isControlUp({ type }) || isControlDown({ type })).toBe(false);
  });
});
