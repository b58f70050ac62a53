/** Accuracy against data sent (the DML traffic study's figure): evaluations joined with the bytes of the iterations before them. */
import { describe, expect, it } from 'vitest';
import { accuracyBytesPlots, schedulerColours } from '../../src/report/plots.js';

const id = { scenario: 's', mode: 'sim', profile: 'mlp', seed: '1' };

describe('accuracy against cumulative bytes', () => {
  it('each evaluation after k steps against the bytes of iterations 0..k-1, per run; the WAN apart where there are LANs', () => {
    const iterations = [
      ...[100, 200, 300, 400].map((b, i) => ({ ...id, scheduler: 'a', iteration: String(i), bytes: String(b * 1e6), wan_bytes: String(b * 1e5) })),
      ...[10, 10, 10, 10].map((b, i) => ({ ...id, scheduler: 'b', iteration: String(i), bytes: String(b * 1e6), wan_bytes: String(b * 1e5) })),
      // another seed of a: its own sums
      ...[1000, 1000].map((b, i) => ({ ...id, seed: '2', scheduler: 'a', iteration: String(i), bytes: String(b * 1e6), wan_bytes: '0' })),
    ];
    const accuracy = [
      { ...id, scheduler: 'a', iteration: '0', test_accuracy: '0.1' },
      { ...id, scheduler: 'a', iteration: '2', test_accuracy: '0.5' },
      { ...id, scheduler: 'a', iteration: '4', test_accuracy: '0.8' },
      { ...id, scheduler: 'b', iteration: '4', test_accuracy: '0.6' },
      { ...id, seed: '2', scheduler: 'a', iteration: '2', test_accuracy: '0.7' },
    ];
    const [all, wan] = accuracyBytesPlots(accuracy, iterations, schedulerColours(['a', 'b']));
    // (the evaluation before any step, at 0 bytes, is left out: a log scale)
    expect(all.rows).toEqual([
      { scheduler: 'a', seed: 1, gigabytes: 0.3, test_accuracy: 0.5 },
      { scheduler: 'a', seed: 1, gigabytes: 1, test_accuracy: 0.8 },
      { scheduler: 'b', seed: 1, gigabytes: 0.04, test_accuracy: 0.6 },
      { scheduler: 'a', seed: 2, gigabytes: 2, test_accuracy: 0.7 },
    ]);
    expect(wan.name).toBe('accuracy-wan-bytes');
    expect(wan.rows.map((r) => (r as { gigabytes: number }).gigabytes)).toEqual([0.03, 0.1, 0.004]);
  });

  it('no training, no plot; no LANs, no WAN plot', () => {
    expect(accuracyBytesPlots([], [{ ...id, scheduler: 'a', iteration: '0', bytes: '5' }], schedulerColours(['a']))).toEqual([]);
    const plots = accuracyBytesPlots([{ ...id, scheduler: 'a', iteration: '1', test_accuracy: '0.5' }], [{ ...id, scheduler: 'a', iteration: '0', bytes: '5' }], schedulerColours(['a']));
    expect(plots.map((p) => p.name)).toEqual(['accuracy-bytes']);
  });
});
