import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadScenario, ScenarioError } from '../../src/scenario/load.js';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readFileSync } from 'node:fs';
import { useTempDir, writeFiles, scenarioText } from '../helpers.js';
import { loadSweep } from '../../src/sweep/spec.js';
import { expandGrid } from '../../src/sweep/grid.js';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('expected a ScenarioError');
}

describe('loading scenarios', () => {
  const dir = useTempDir();
  const load = (text: string, files: Record<string, string> = {}) => {
    writeFiles(dir.path, { 's.yaml': text, ...files });
    return loadScenario(join(dir.path, 's.yaml'));
  };

  // (Math.max(...rows) took every row as an argument and overflowed the stack on long trace files)
  it('reads a delay trace of 300,000 rows (its largest and smallest delays found without spreading the rows)', () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => `${i / 10},${10 + (i % 7)}`).join('\n');
    const s = load(scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 10\n    delay_ms: { trace: d.csv }\n    jitter_ms: 10\n  - between: [b, c]\n    bandwidth: 10' }), { 'd.csv': `time_s,delay_ms\n${rows}\n` });
    expect(s.links[0].maxDelayS).toBeCloseTo(0.016, 9);
    expect(s.links[0].delayOverTime!.min).toBe(10);
  });

  it('expands links into directed links with their own traces', () => {
    const s = load(scenarioText());
    expect(s.nodes).toEqual(['a', 'b', 'c']);
    expect(s.links.map((l) => l.name)).toEqual(['a->b', 'b->a', 'b->c', 'c->b']);
    expect(s.links[2].delayS).toBeCloseTo(0.005);
    // each direction of a generated link has its own seeded realisation
    const forward = [0, 1, 2, 3].map((t) => s.links[2].trace.rateAt(t + 0.5));
    const reverse = [0, 1, 2, 3].map((t) => s.links[3].trace.rateAt(t + 0.5));
    expect(forward).not.toEqual(reverse);
    for (const r of [...forward, ...reverse]) expect(r).toBeGreaterThanOrEqual(20), expect(r).toBeLessThanOrEqual(155);
    expect(s.workload.totalBytes).toBe(8e6);
  });

  it('reads per-direction bandwidth, trace files and a full mesh matrix', () => {
    const s = load(scenarioText({
      links: 'links:\n  - between: [a, b]\n    bandwidth: { forward: { trace: t.csv, loop: true }, reverse: 30 }\n  - between: [b, c]\n    bandwidth: 10',
    }), { 't.csv': 'time_s,mbps\n0,100\n2,50\n' });
    expect(s.links[0].trace.rateAt(1)).toBe(100);
    expect(s.links[0].trace.rateAt(3)).toBe(50);
    expect(s.links[0].trace.rateAt(5)).toBe(100); // looped with period 4
    expect(s.links[1].trace.rateAt(1)).toBe(30);

    const mesh = load(scenarioText({
      links: 'mesh:\n  bandwidth_mbps: [[0, 10, 20], [30, 0, 40], [50, 60, 0]]\n  delay_ms: 7',
    }));
    expect(mesh.links).toHaveLength(6);
    expect(mesh.links.find((l) => l.name === 'c->b')!.trace.rateAt(0)).toBe(60);
    expect(mesh.links[0].delayS).toBeCloseTo(0.007);
  });

  it('reads Mahimahi traces as their binned rate, looped over their period, and jitter per link', () => {
    // 10 opportunities in each of the first two 100 ms bins, 5 in the last 50 ms: a 250 ms period
    const stamps = [...Array(10).fill(50), ...Array(10).fill(150), ...Array(5).fill(250)].join('\n');
    const s = load(scenarioText({
      links: 'links:\n  - between: [a, b]\n    bandwidth: { mahimahi: cell.up }\n    delay_ms: 20\n    jitter_ms: 4\n  - between: [b, c]\n    bandwidth: 10\n    delay_ms: 1\n    jitter_ms: 1\n    reorder: true',
    }), { 'cell.up': `${stamps}\n` });
    const ab = s.links[0];
    expect(ab.mahimahi).toBe(join(dir.path, 'cell.up'));
    expect(ab.rateSource).toBe('mahimahi cell.up');
    // 10 opportunities of one 1500-byte IP packet in 100 ms = 1.2 Mbit/s, x 1514/1500 as frames; the 5 at 250 ms
    // fall at 0 of the next loop, in the first bin
    const frames = 1514 / 1500;
    expect(ab.trace.rateAt(0.05)).toBeCloseTo(1.8 * frames, 9);
    expect(ab.trace.rateAt(0.15)).toBeCloseTo(1.2 * frames, 9);
    expect(ab.trace.rateAt(0.22)).toBe(0); // [200, 250): nothing
    expect(ab.trace.rateAt(0.25 + 0.15)).toBeCloseTo(1.2 * frames, 9); // looped every 250 ms
    expect([ab.jitterS, ab.reorder]).toEqual([0.004, false]);
    expect([s.links[2].jitterS, s.links[2].reorder, s.links[2].mahimahi]).toEqual([0.001, true, null]);
  });

  it('rejects a missing or malformed Mahimahi trace, naming the file and line', () => {
    const links = 'links:\n  - between: [a, b]\n    bandwidth: { mahimahi: cell.up }\n  - between: [b, c]\n    bandwidth: 10';
    expect(errorOf(() => load(scenarioText({ links })))).toMatch(/s\.yaml:7: links\[0\]\.bandwidth\.mahimahi: .*cell\.up: cannot read Mahimahi trace \(ENOENT\)/);
    expect(errorOf(() => load(scenarioText({ links }), { 'cell.up': '1\n2\n1.5\n' }))).toMatch(/cell\.up:3: expected a Mahimahi timestamp \(a whole number of milliseconds\), got "1\.5"/);
    expect(errorOf(() => load(scenarioText({ links: links.replace('cell.up }', 'cell.up, bin_ms: 0 }') }), { 'cell.up': '1\n' }))).toMatch(/bandwidth\.bin_ms: at least 1 ms \(Mahimahi timestamps are whole milliseconds\)/);
  });

  it('the same seed gives the same trace realisation, another seed another', () => {
    const a = load(scenarioText()).links[2].trace.rateAt(2.5);
    const b = load(scenarioText()).links[2].trace.rateAt(2.5);
    const c = load(scenarioText({ seed: 'seed: 4' })).links[2].trace.rateAt(2.5);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('names the file, line, field and expectation for an unknown node in a link', () => {
    const msg = errorOf(() => load(scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: 80\n  - between: [b, zz]\n    bandwidth: 10' })));
    expect(msg).toMatch(/s\.yaml:8: links\[1\]\.between\[1\]: unknown node "zz"; nodes are a, b, c/);
  });

  it('rejects a negative bandwidth', () => {
    const msg = errorOf(() => load(scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: -5\n  - between: [b, c]\n    bandwidth: 10' })));
    expect(msg).toMatch(/s\.yaml:7: links\[0\]\.bandwidth: expected number to be >=0/);
  });

  it('reads delay and loss that change over time: steps, seeded generators and trace files', () => {
    const s = load(scenarioText({
      links: [
        'links:',
        '  - between: [a, b]',
        '    bandwidth: 10',
        '    delay_ms: { generator: steps, ms: [5, 40], period_s: 2 }',
        '    loss_percent: { trace: loss.csv }',
        '  - between: [b, c]',
        '    bandwidth: 10',
        '    delay_ms: { generator: random-walk, start_ms: 20, step_ms: 5, min_ms: 10, max_ms: 30, period_s: 1 }',
        '    loss_percent: { generator: redraw-uniform, min_percent: 0, max_percent: 2, period_s: 1 }',
      ].join('\n'),
    }), { 'loss.csv': 'time_s,loss_percent\n0,0\n3,1.5\n' });
    const [ab, , bc, cb] = s.links;
    expect(ab.delayS).toBeCloseTo(0.005);
    expect(ab.maxDelayS).toBeCloseTo(0.04);
    expect([0, 1.9, 2, 3.9, 4].map((t) => ab.delayOverTime!.trace.rateAt(t))).toEqual([5, 5, 40, 40, 5]); // steps loop by default
    expect([0, 2.9, 3, 100].map((t) => ab.lossOverTime!.trace.rateAt(t))).toEqual([0, 0, 1.5, 1.5]);
    expect(ab.lossPercent).toBe(0);
    expect(bc.delayS).toBeCloseTo(0.02);
    expect(bc.maxDelayS).toBeCloseTo(0.03);
    const walk = (l: typeof bc) => [0, 1, 2, 3, 4, 5].map((t) => l.delayOverTime!.trace.rateAt(t));
    for (const ms of walk(bc)) expect(ms).toBeGreaterThanOrEqual(10), expect(ms).toBeLessThanOrEqual(30);
    expect(walk(bc)).not.toEqual(walk(cb)); // each direction its own seeded realisation, as bandwidth
    expect(walk(bc)).toEqual(walk(load(readFileSync(join(dir.path, 's.yaml'), 'utf8')).links[2])); // and the same for the same seed
    expect(new Set(walk(bc)).size).toBeGreaterThan(1);
    // the bandwidth's random stream is not the delay's: adding a varying delay leaves the rates as they were
    const plain = load(scenarioText());
    const withDelay = load(scenarioText({
      links: 'links:\n  - between: [a, b]\n    bandwidth: 80\n  - between: [b, c]\n    bandwidth: { generator: redraw-uniform, min_mbps: 20, max_mbps: 155, period_s: 1 }\n' +
        '    delay_ms: { generator: redraw-uniform, min_ms: 1, max_ms: 9, period_s: 1 }',
    }));
    expect([0.5, 1.5, 2.5].map((t) => withDelay.links[2].trace.rateAt(t))).toEqual([0.5, 1.5, 2.5].map((t) => plain.links[2].trace.rateAt(t)));
  });

  it('refuses a bad delay or loss over time, naming the field or the file and line', () => {
    const link = (lines: string) => scenarioText({ links: `links:\n  - between: [a, b]\n    bandwidth: 10\n${lines}\n  - between: [b, c]\n    bandwidth: 10` });
    expect(errorOf(() => load(link('    delay_ms: { generator: redraw-uniform, min_ms: 50, max_ms: 10, period_s: 1 }'))))
      .toMatch(/s\.yaml:\d+: links\[0\]\.delay_ms\.min_ms: min_ms \(50\) must not exceed max_ms \(10\)/);
    expect(errorOf(() => load(link('    loss_percent: { generator: random-walk, start_percent: 5, step_percent: 1, min_percent: 0, max_percent: 2, period_s: 1 }'))))
      .toMatch(/links\[0\]\.loss_percent\.start_percent: start_percent \(5\) must lie in \[min_percent, max_percent\]/);
    expect(errorOf(() => load(link('    loss_percent: { generator: steps, percent: [0, 120], period_s: 1 }')))).toMatch(/links\[0\]\.loss_percent\.percent\[1\]: .*100/);
    expect(errorOf(() => load(link('    delay_ms: { generator: steps, mbps: [5], period_s: 1 }')))).toMatch(/links\[0\]\.delay_ms/);
    const header = errorOf(() => load(link('    delay_ms: { trace: d.csv }'), { 'd.csv': 'time_s,mbps\n0,10\n' }));
    expect(header).toMatch(/d\.csv:1: expected the header "time_s,delay_ms", got "time_s,mbps"/);
    expect(header.split('\n')).toHaveLength(1); // both directions share the file: reported once
    expect(errorOf(() => load(link('    delay_ms: { trace: d.csv }'), { 'd.csv': 'time_s,delay_ms\n0,10\n1,70000\n' }))).toMatch(/d\.csv:3: delay_ms must be at most 60000, got 70000/);
    // a default's problem is the default's
    const defaults = scenarioText({ links: 'link_defaults:\n  delay_ms: { generator: redraw-uniform, min_ms: 9, max_ms: 1, period_s: 1 }\nlinks:\n  - between: [a, b]\n    bandwidth: 10\n  - between: [b, c]\n    bandwidth: 10' });
    expect(errorOf(() => load(defaults))).toMatch(/link_defaults\.delay_ms\.min_ms: min_ms \(9\)/);
  });

  it('rejects a missing trace file, naming it', () => {
    const msg = errorOf(() => load(scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: { trace: gone.csv }\n  - between: [b, c]\n    bandwidth: 10' })));
    expect(msg).toMatch(/s\.yaml:7: links\[0\]\.bandwidth\.trace: .*gone\.csv: cannot read trace file \(ENOENT\)/);
  });

  it('rejects a malformed trace CSV row, naming the trace file and its line', () => {
    const msg = errorOf(() => load(
      scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: { trace: t.csv }\n  - between: [b, c]\n    bandwidth: 10' }),
      { 't.csv': 'time_s,mbps\n0,10\n1,ten\n' },
    ));
    expect(msg).toMatch(/t\.csv:3: expected a row "time_s,mbps" of two numbers, got "1,ten"/);
    expect(msg.split('\n')).toHaveLength(1); // both directions share the file: reported once
  });

  it('rejects an unknown scheduler, listing the known ones', () => {
    const msg = errorOf(() => load(scenarioText({ schedulers: 'schedulers: [star, warp]' })));
    expect(msg).toMatch(/s\.yaml:\d+: schedulers\[1\]\.name: expected name to be one of "star"/);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const msg = errorOf(() => load('name: x\nnodes: [a, b\nlinks: []\n'));
    expect(msg).toMatch(/s\.yaml:3:1: YAML syntax error/);
  });

  it('reports unknown fields, missing fields and every problem at once', () => {
    const msg = errorOf(() => load(scenarioText({ seed: 'sede: 3', iterations: 'iterations: 0' })));
    expect(msg).toMatch(/s\.yaml:1: \(top level\): unknown field "sede"/);
    expect(msg).toMatch(/s\.yaml:3: iterations: expected number to be >0/);
    expect(errorOf(() => load(scenarioText({ workload: 'workload: { compute_ms: 5 }' })))).toMatch(/workload: give a profile, gradient_mb, or train/);
  });

  it('rejects a disconnected topology, servers that do not exist, and a trace with decreasing time', () => {
    expect(errorOf(() => load(scenarioText({ nodes: 'nodes: [a, b, c, d]' })))).toMatch(/not connected: d cannot be reached/);
    expect(errorOf(() => load(scenarioText({ schedulers: 'schedulers: [{ name: star, servers: [q] }]' })))).toMatch(/schedulers\[0\]\.servers\[0\]: unknown node "q"/);
    expect(errorOf(() => load(
      scenarioText({ links: 'links:\n  - between: [a, b]\n    bandwidth: { trace: t.csv }\n  - between: [b, c]\n    bandwidth: 10' }),
      { 't.csv': 'time_s,mbps\n0,10\n5,1\n4,2\n' },
    ))).toMatch(/t\.csv:4: time_s must increase/);
  });

  it('a 0 in a mesh matrix is no link in that direction; a node must still reach every other', () => {
    const mesh = load(scenarioText({ links: 'mesh:\n  bandwidth_mbps: [[0, 10, 0], [10, 0, 20], [5, 20, 0]]' }));
    expect(mesh.links.map((l) => l.name)).toEqual(['a->b', 'b->a', 'b->c', 'c->a', 'c->b']); // no a->c
    expect(errorOf(() => load(scenarioText({ links: 'mesh:\n  bandwidth_mbps: [[0, 10, 0], [10, 0, 0], [5, 20, 0]]' })))).toMatch(/not connected: c cannot be reached from a/);
  });

  it('a mesh matrix of the wrong size is an error', () => {
    expect(errorOf(() => load(scenarioText({ links: 'mesh:\n  bandwidth_mbps: [[0, 1], [1, 0]]' })))).toMatch(/mesh\.bandwidth_mbps: expected a 3 x 3 matrix/);
  });
});

describe('shipped scenarios', () => {
  it('the GeoMX comparison: 9 data centers of 2 workers (4 in its sweep), every scheme of issue 27 against 9-server MXNET and NetStorm', () => {
    const s = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'geomx-9dc.yaml'));
    expect([s.dataCenters.length, s.workers.length, s.nodes.length]).toEqual([9, 18, 27]);
    expect(s.schedulers.map((c) => c.label)).toEqual(['mxnet', 'hips', 'hips-3gps', 'hips-3gps-spread', 'hips-mixed', 'hips-dcasgd', 'hips-hfa', 'netstorm']);
    expect(Math.round(s.workload.totalBytes / 1e6)).toBe(228);
    const sweep = loadSweep(join(PACKAGE_ROOT, 'sweeps', 'geomx-9dc.yaml'));
    const points = expandGrid(sweep);
    expect(points).toHaveLength(2 * 5 * 8);
    const four = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'geomx-9dc.yaml'), { set: ['node_defaults.workers=4'] });
    expect(four.workers).toHaveLength(36);
  });

  it('the quickstart and NetStorm scenarios load', () => {
    const quick = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml'));
    expect(quick.nodes).toHaveLength(4);
    const ns = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'));
    expect(ns.nodes).toHaveLength(9);
    expect(ns.links).toHaveLength(26); // 13 links, both directions
    const neighbours = (n: string) => ns.links.filter((l) => l.from === n).map((l) => l.to).sort();
    expect(neighbours('dc6')).toEqual(['dc4', 'dc7', 'dc8', 'dc9']);
    expect(neighbours('dc1')).toEqual(['dc2', 'dc3']);
    // every directed link redrawn in [20, 155] every 180 s, independently
    const l = ns.links[0].trace;
    expect(l.nextChangeAfter(0)).toBe(180);
    expect(l.rateAt(10)).not.toBe(ns.links[1].trace.rateAt(10));
    for (const p of ['alexnet', 'resnet50', 'vgg16']) {
      const s = loadScenario(join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml'), { profile: p });
      expect(Math.round(s.workload.totalBytes / 1e6)).toBe({ alexnet: 228, resnet50: 94, vgg16: 537 }[p]);
    }
  });

  it('the shipped JSON Schema is the one the code exports', () => {
    const shipped = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'scenarios', 'scenario.schema.json'), 'utf8'));
    expect(shipped).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });
});
