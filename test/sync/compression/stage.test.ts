/**
 * The compression stage on whole runs: every message's bytes worked by hand
 * for each method on a three-array example (999, 1,000 and 2,000,000
 * elements: below, at and far above the 1,000-element bound), on HiPS (two
 * data centers a and b, two workers each) and on MXNET's star; lossless
 * settings keep every worker's sum exact; what cannot be combined is refused.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/scenario/load.js';
import { simulate } from '../../../src/run/simulate.js';
import { ScenarioError } from '../../../src/scenario/errors.js';
import type { TransferRecord } from '../../../src/sync/record.js';
import { expectPlainSums } from '../../plain-sums.js';

const ARRAYS = [{ name: 'below', elements: 999 }, { name: 'at', elements: 1000 }, { name: 'large', elements: 2_000_000 }];

function scenario(scheduler: string, workers = 2) {
  const s = parseScenario([
    'name: compression', 'seed: 2', 'iterations: 3',
    'nodes: [a, b]', `node_defaults: { workers: ${workers}, lan: { bandwidth: 1000, delay_ms: 0.05 } }`,
    'links:', '  - between: [a, b]', '    bandwidth: 100', '    delay_ms: 20',
    'workload: { gradient_mb: 8.007996, compute_ms: 10 }',
    `schedulers: [${scheduler}]`,
  ].join('\n'), 'compression.yaml');
  s.workload.arrays = ARRAYS;
  s.workload.totalBytes = 4 * (999 + 1000 + 2_000_000);
  return s;
}

/** Per directed pair, iteration 1's messages with a payload as "kind array bytes/bytes-uncompressed", sorted. */
function byLink(transfers: Iterable<TransferRecord>, arrayOf: (chunk: number) => number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of transfers) {
    if (t.iteration !== 1 || t.kind === 'ack' || t.kind === 'pull') continue;
    (out[`${t.from}>${t.to}`] ??= []).push(`${t.kind} ${arrayOf(t.chunk)} ${t.bytes}/${t.denseBytes ?? t.bytes}`);
  }
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

function run(scheduler: string, workers = 2) {
  const s = scenario(scheduler, workers);
  const r = simulate(s, s.schedulers[0], { values: true });
  // (chunks are the arrays, in order, in every plan here: one global server, whole keys)
  return { s, r, links: byLink(r.transfers, (c) => c) };
}

/** HiPS's messages in one iteration: a's workers with the global server, b's with b, and b with a. */
function hips(lanUp: number[], lanDown: number[], wanUp: number[], wanDown: number[]) {
  const dense = [3996, 4000, 8_000_000];
  const list = (kind: string, bytes: number[]) => bytes.map((b, k) => `${kind} ${k} ${b}/${dense[k]}`).sort();
  return {
    'a.w0>a': list('up', lanUp), 'a.w1>a': list('up', lanUp), 'a>a.w0': list('down', lanDown), 'a>a.w1': list('down', lanDown),
    'b.w0>b': list('up', lanUp), 'b.w1>b': list('up', lanUp), 'b>b.w0': list('down', lanDown), 'b>b.w1': list('down', lanDown),
    'b>a': list('up', wanUp), 'a>b': list('down', wanDown),
  };
}

describe('compression on HiPS, bytes by hand (GeoMX: where it compresses, how much, padded)', () => {
  it('fp16: 2 bytes an element on every hop, both ways (examples/cnn_fp16.py); sums exact', () => {
    const { s, r, links } = run('{ name: hips, compression: fp16 }');
    const half = [1998, 2000, 4_000_000];
    expect(links).toEqual(hips(half, half, half, half));
    expectPlainSums(s, r);
    // (15 pull requests of 8 bytes, 3 keys x 5 askers, are not compressed)
    expect(r.iterations[1].bytes).toBe((r.iterations[1].denseBytes! - 120) / 2 + 120);
  });

  it('bisparse (rho 0.01, bound 1,000): LAN dense; the WAN push 8 floor(N rho) bytes, the pull 8 floor(N rho G), G = 2; the 999-element array dense', () => {
    const { links } = run('{ name: hips, compression: { bisparse: { ratio: 0.01, min_elements: 1000 } } }');
    const dense = [3996, 4000, 8_000_000];
    // k = floor(1000 x 0.01) = 10 and floor(2e6 x 0.01) = 20,000; the pull twice that
    expect(links).toEqual(hips(dense, dense, [3996, 80, 160_000], [3996, 160, 320_000]));
  });

  it('mpq: above the bound as Bi-Sparse between the levels (and fp32 on the LAN), the rest (1,000 is not above) fp16 everywhere', () => {
    const { links } = run('{ name: hips, compression: mpq }');
    expect(links).toEqual(hips([1998, 2000, 8_000_000], [1998, 2000, 8_000_000], [1998, 2000, 160_000], [1998, 2000, 320_000]));
  });

  it('topk 1%: where Bi-Sparse is (the WAN), k = max(1, floor(N ratio)) values and uint32 indices, back as the sum\'s nonzeros (k per data center)', () => {
    const { links } = run('{ name: hips, compression: { topk: { ratio: 0.01 } } }');
    const dense = [3996, 4000, 8_000_000];
    // k: 9, 10, 20,000
    expect(links).toEqual(hips(dense, dense, [72, 80, 160_000], [144, 160, 320_000]));
  });

  it('Bi-Sparse keys are never split over global servers (EncodeCompressedKey); others are (ps-lite)', () => {
    const s = scenario('{ name: hips, global_servers: 2, compression: bisparse }');
    const plan = simulate(s, s.schedulers[0]);
    const wan = [...plan.transfers].filter((t) => t.iteration === 1 && t.from === 'b' && t.kind === 'up').map((t) => t.bytes).sort((x, y) => x - y);
    expect(wan).toEqual([80, 3996, 160_000]);
    const dense = scenario('{ name: hips, global_servers: 2 }');
    const parts = [...simulate(dense, dense.schedulers[0]).transfers].filter((t) => t.iteration === 1 && t.from === 'b' && t.kind === 'up').map((t) => t.bytes).sort((x, y) => x - y);
    expect(parts).toEqual([3996, 4000, 4_000_000, 4_000_000]);
  });

  it('iterations.csv\'s dense bytes and ratio: what the messages would have been, over what they were', () => {
    const { r } = run('{ name: hips, compression: { bisparse: { ratio: 0.01 } } }');
    const it1 = r.iterations[1];
    const dense = 4 * 2_001_999;
    // LAN: 8 pushes and pulls of everything; WAN: b's pushes and pulls; 8-byte pull requests everywhere (3 keys x 5 askers)
    expect(it1.denseBytes).toBe(8 * dense + 2 * dense + 15 * 8);
    expect(it1.bytes).toBe(8 * dense + 2 * 3996 + 80 + 160 + 160_000 + 320_000 + 15 * 8);
  });
});

describe('compression on every hop (MXNET star, server at a)', () => {
  it('topk: every push k entries, every pull the sum\'s nonzeros, k per worker (4)', () => {
    const { links } = run('{ name: star, compression: { topk: { ratio: 0.01 } } }');
    const up = ['up 0 72/3996', 'up 1 80/4000', 'up 2 160000/8000000'];
    const down = ['down 0 288/3996', 'down 1 320/4000', 'down 2 640000/8000000'];
    expect(links).toEqual({
      'a.w0>a': up, 'a.w1>a': up, 'b.w0>a': up, 'b.w1>a': up,
      'a>a.w0': down, 'a>a.w1': down, 'a>b.w0': down, 'a>b.w1': down,
    });
  });
});

describe('lossless settings keep the plain sum (every worker the same values every iteration)', () => {
  for (const [what, scheduler, workers] of [
    ['fp16 on star, one worker per data center (the server\'s own worker rounds its gradient too)', '{ name: star, servers: all, compression: fp16 }', 1],
    ['fp16 on the ring', '{ name: ring, compression: fp16 }', 2],
    ['fp16 on mlnet over data centers', '{ name: mlnet, compression: fp16 }', 2],
    ['fp16 on netstorm', '{ name: netstorm, compression: fp16 }', 1],
    ['top-k with ratio 1 on star (every worker, the server\'s own included, through the codec)', '{ name: star, servers: all, compression: { topk: { ratio: 1 } } }', 1],
    ['top-k with ratio 1 on star over LANs', '{ name: star, compression: { topk: { ratio: 1 } } }', 2],
    ['top-k with ratio 1 on HiPS (the global server\'s own data center compressed as a push)', '{ name: hips, compression: { topk: { ratio: 1 } } }', 2],
    ['top-k with ratio 1 on mlnet', '{ name: mlnet, compression: { topk: { ratio: 1 } } }', 2],
  ] as const) {
    it(what, () => {
      const { s, r } = run(scheduler, workers);
      expectPlainSums(s, r);
    });
  }
});

describe('refusals: a clear reason, naming the field', () => {
  const refused = (scheduler: string, message: RegExp) => {
    expect(() => scenario(scheduler)).toThrow(ScenarioError);
    expect(() => scenario(scheduler)).toThrow(message);
  };
  it('ratios outside (0, 1]', () => {
    refused('{ name: star, compression: { topk: { ratio: 0 } } }', /compression.*ratio.*greater than 0/);
    refused('{ name: hips, compression: { bisparse: { ratio: 1.5 } } }', /compression.*ratio.*at most 1/);
  });
  it('unknown methods and two at once', () => {
    refused('{ name: star, compression: zstd }', /compression: unknown field "zstd"/);
    refused('{ name: star, compression: { fp16: {}, topk: {} } }', /exactly one method/);
  });
  it('Bi-Sparse and MPQ off HiPS; sparse on the ring; anything on TSEngine; HiPS\'s mixed and hfa', () => {
    refused('{ name: star, compression: bisparse }', /Bi-Sparse and MPQ are GeoMX's.*use them on hips/);
    refused('{ name: ring, compression: topk }', /ring all-reduce sums on every hop/);
    refused('{ name: tsengine, compression: fp16 }', /tsengine cannot compress/);
    refused('{ name: hips, sync: mixed, compression: bisparse }', /DataHandleAsyncBSCompressed/);
    refused('{ name: hips, sync: hfa, compression: fp16 }', /exchanges parameters/);
  });
});
