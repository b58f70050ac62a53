/**
 * GeoMX's HiPS with FSA, worked by hand on a whiteboard case: two data
 * centers a and b with two workers each, one small key (1,000 elements)
 * and one large (2,000,000: split over the global servers by ps-lite's
 * rule), every message on every LAN and WAN link. Sources: GeoMX
 * src/kvstore/kvstore_dist_server.h (DataHandleSyncDefault,
 * DataPushToGlobalServersDefault, DataHandlePushResponseDefault,
 * DataPullFromGlobalServersDefault, DataHandlePullResponseDefault) and
 * kvstore_dist.h (PullImpl: the pull waits behind the push).
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { simulate } from '../../src/run/simulate.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { hipsPlan } from '../../src/sync/schedulers/hips.js';
import type { TransferRecord } from '../../src/sync/record.js';
import { expectPlainSums } from '../plain-sums.js';

const text = (hips: string, extra: string[] = []) => [
  'name: hips', 'seed: 2', 'iterations: 2',
  'nodes: [a, b]', 'node_defaults: { workers: 2, lan: { bandwidth: 1000, delay_ms: 0.05 } }',
  'links:', '  - between: [a, b]', '    bandwidth: 100', '    delay_ms: 20',
  'workload: { gradient_mb: 8.004, compute_ms: 10 }',
  `schedulers: [${hips}]`, ...extra,
].join('\n');

/** The scenario with the two keys (the file's workload gives sizes only: arrays set here). */
function scenario(hips: string) {
  const s = parseScenario(text(hips), 'hips.yaml');
  s.workload.arrays = [{ name: 'small', elements: 1000 }, { name: 'large', elements: 2_000_000 }];
  s.workload.totalBytes = 8_004_000;
  return s;
}

/** Per directed pair, the messages of iteration 1 as "kind bytes", in order of delivery. */
function byLink(transfers: Iterable<TransferRecord>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of [...transfers].filter((x) => x.iteration === 1).sort((x, y) => x.deliveredAt - y.deliveredAt)) {
    (out[`${t.from}>${t.to}`] ??= []).push(`${t.kind} ${t.bytes}`);
  }
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

describe('HiPS with FSA (GeoMX)', () => {
  it('one global server at a: workers push to their local server, b\'s pushes the sum over the WAN, pulls follow the acknowledgements', () => {
    const s = scenario('hips');
    const run = simulate(s, s.schedulers[0], { values: true });
    expectPlainSums(s, run);
    const worker = ['ack 0', 'ack 0', 'down 4000', 'down 8000000'];
    expect(byLink(run.transfers)).toEqual({
      // LAN of a: a is the global server and a's local server
      'a.w0>a': ['pull 8', 'pull 8', 'up 4000', 'up 8000000'], 'a.w1>a': ['pull 8', 'pull 8', 'up 4000', 'up 8000000'],
      'a>a.w0': worker, 'a>a.w1': worker,
      // WAN: b's local server pushes its sum, is acknowledged, asks (8 bytes a key) and pulls
      'b>a': ['pull 8', 'pull 8', 'up 4000', 'up 8000000'], 'a>b': ['ack 0', 'ack 0', 'down 4000', 'down 8000000'],
      // LAN of b: its workers are answered from its copy, once it holds the whole key
      'b.w0>b': ['pull 8', 'pull 8', 'up 4000', 'up 8000000'], 'b.w1>b': ['pull 8', 'pull 8', 'up 4000', 'up 8000000'],
      'b>b.w0': worker, 'b>b.w1': worker,
    });
    const M = 8_004_000;
    for (const r of run.iterations) expect([r.lanBytes, r.wanBytes]).toEqual([4 * (2 * M + 16), 2 * M + 16]);
  });

  it('b\'s workers are answered only after b pulled the key from the global level, and b pulls only after the global server acknowledged', () => {
    const s = scenario('hips');
    const t = [...simulate(s, s.schedulers[0]).transfers].filter((x) => x.iteration === 1);
    const at = (kind: string, from: string, to: string, chunk: number) => t.find((x) => x.kind === kind && x.from === from && x.to === to && x.chunk === chunk)!;
    for (const [key, chunk] of [[0, 0], [1, 1]]) {
      expect(at('pull', 'b', 'a', key).sentAt).toBeGreaterThanOrEqual(at('ack', 'a', 'b', chunk).deliveredAt);
      expect(at('ack', 'b', 'b.w0', chunk).sentAt).toBeGreaterThanOrEqual(at('down', 'a', 'b', chunk).deliveredAt);
      expect(at('pull', 'b.w0', 'b', key).sentAt).toBeGreaterThanOrEqual(at('ack', 'b', 'b.w0', chunk).deliveredAt);
      // a round trip of the WAN (40 ms) between b's push being acknowledged and its pull arriving
      expect(at('down', 'a', 'b', chunk).deliveredAt - at('ack', 'a', 'b', chunk).deliveredAt).toBeGreaterThanOrEqual(0.04);
    }
  });

  it('MultiGPS, two global servers at a: the large key in two parts, one pull request per server, sent once both parts are acknowledged', () => {
    const s = scenario('{ name: hips, global_servers: 2 }');
    const plan = hipsPlan(s.dataCenters, s.workload.arrays, { global_servers: 2, bigarray_bound: 1_000_000, sync: 'fsa', chunk_elements: 1e6 }, 4);
    // small key: (0 x 9973) mod 2 = server 0; large: ps-lite's parts round(N/2 (i+1)) - round(N/2 i)
    expect(plan.chunks.map((c) => [c.array, c.offset, c.elements, c.tree])).toEqual([[0, 0, 1000, 0], [1, 0, 1_000_000, 0], [1, 1_000_000, 1_000_000, 1]]);
    const run = simulate(s, s.schedulers[0], { values: true });
    expectPlainSums(s, run);
    const links = byLink(run.transfers);
    expect(links['b>a']).toEqual(['pull 8', 'pull 8', 'pull 8', 'up 4000', 'up 4000000', 'up 4000000']);
    expect(links['a>b']).toEqual(['ack 0', 'ack 0', 'ack 0', 'down 4000', 'down 4000000', 'down 4000000']);
    // a worker asks its one local server once per key
    expect(links['b.w0>b']).toEqual(['pull 8', 'pull 8', 'up 4000', 'up 4000000', 'up 4000000']);
    const t = [...run.transfers].filter((x) => x.iteration === 1);
    const pulls = t.filter((x) => x.kind === 'pull' && x.from === 'b' && x.chunk === 1);
    const acks = t.filter((x) => x.kind === 'ack' && x.to === 'b' && (x.chunk === 1 || x.chunk === 2));
    expect(pulls).toHaveLength(2);
    for (const p of pulls) expect(p.sentAt).toBeGreaterThanOrEqual(Math.max(...acks.map((x) => x.deliveredAt)));
  });

  it('MultiGPS with a global server at each data center: each local server pushes the parts the other holds', () => {
    const s = scenario('{ name: hips, global_servers: 2, global_at: [a, b] }');
    const run = simulate(s, s.schedulers[0], { values: true });
    expectPlainSums(s, run);
    const links = byLink(run.transfers);
    expect(links['b>a']).toEqual(['ack 0', 'pull 8', 'pull 8', 'up 4000', 'up 4000000', 'down 4000000'].sort());
    expect(links['a>b']).toEqual(['ack 0', 'ack 0', 'down 4000', 'down 4000000', 'pull 8', 'up 4000000'].sort());
  });

  it('refuses bad options naming the field', () => {
    const refusal = (hips: string) => {
      try {
        parseScenario(text(hips), 'hips.yaml');
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal('{ name: hips, global_servers: 3 }')).toContain('schedulers[0].global_servers: at most 2, the number of data centers');
    expect(refusal('{ name: hips, global_servers: 0 }')).toMatch(/schedulers\[0\]\.global_servers: .*at least 1/);
    expect(refusal('{ name: hips, global_at: x }')).toContain('schedulers[0].global_at: unknown node "x"');
    expect(refusal('{ name: hips, global_servers: 2, global_at: [a] }')).toContain('schedulers[0].global_at: lists 1 data centers for 2 global server(s)');
    expect(refusal('{ name: hips, sync: async }')).toMatch(/schedulers\[0\]\.sync/);
  });
});
