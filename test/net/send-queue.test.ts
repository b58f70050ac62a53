/**
 * A sender's priority queue, in both transports: a message of higher
 * priority leaves before lower ones queued earlier, never before the one
 * already on the wire; equal priorities stay FIFO.
 */
import { describe, expect, it } from 'vitest';
import { insertByPriority } from '../../src/net/send-queue.js';
import { parseScenario } from '../../src/scenario/load.js';
import { Simulator } from '../../src/net/sim/simulator.js';
import { scenarioTopology } from '../../src/run/simulate.js';

describe('the send queue', () => {
  it('higher first, FIFO within a priority, from the first index that may move', () => {
    const q: { id: string; priority?: number }[] = [{ id: 'wire' }];
    for (const [id, priority] of [['a', 0], ['b', -2], ['c', -1], ['d', -1], ['e', 5]] as const) insertByPriority(q, { id, priority }, 1);
    expect(q.map((m) => m.id)).toEqual(['wire', 'e', 'a', 'c', 'd', 'b']);
    const idle: { id: string; priority?: number }[] = [{ id: 'x', priority: -1 }];
    insertByPriority(idle, { id: 'y', priority: 3 }, 0); // (nothing on the wire: it may go first)
    expect(idle.map((m) => m.id)).toEqual(['y', 'x']);
  });

  it('the simulator: a message queued later with a higher priority is delivered before lower ones still waiting', () => {
    const s = parseScenario(['name: q', 'seed: 1', 'iterations: 1', 'nodes: [a, b]', 'links: [{ between: [a, b], bandwidth: 8 }]', 'workload: { gradient_mb: 1, compute_ms: 1 }', 'schedulers: [star]'].join('\n'), 'q.yaml');
    const sim = new Simulator(scenarioTopology(s), s.links.map((l) => l.trace), 1, 'none');
    const a = sim.network.transportFor('a');
    const order: string[] = [];
    sim.network.transportFor('b').onMessage((d) => order.push(d.body as string));
    a.send('b', 1e6, 'first', -5); // on the wire at once
    a.send('b', 1e6, 'low', -5);
    a.send('b', 1e6, 'lower', -9);
    a.send('b', 1e6, 'high', 0);
    sim.run(() => order.length === 4);
    expect(order).toEqual(['first', 'high', 'low', 'lower']);
  });
});
