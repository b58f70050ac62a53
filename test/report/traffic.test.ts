/** Traffic characterisation on a long run: hundreds of thousands of messages (Math.max(...messages) overflowed the stack: plot and report crashed on a 20-iteration run of the paper's scenario). */
import { describe, expect, it } from 'vitest';
import { trafficRows } from '../../src/report/traffic.js';

describe('traffic characterisation of a long run', () => {
  it("300,000 messages: each node's bytes add up, and nothing overflows", () => {
    const transfers = Array.from({ length: 300_000 }, (_, i) => ({
      scheduler: 'star', from: i % 2 ? 'a' : 'b', to: i % 2 ? 'b' : 'a', iteration: String(Math.floor(i / 1000)), bytes: '1000', sent_s: String(i / 1000), delivered_s: String(i / 1000 + 0.0005),
    }));
    const rows = trafficRows(transfers, []);
    const sent = (node: string) => rows.filter((r) => r.measure === 'node_bytes' && r.subject === node).reduce((s, r) => s + r.value, 0);
    expect(sent('a')).toBeCloseTo(150_000 * 1000, 0);
    expect(sent('b')).toBeCloseTo(150_000 * 1000, 0);
  });
});
