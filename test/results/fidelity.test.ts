import { describe, expect, it } from 'vitest';
import { fidelityLine, flaggedLinks, type LinkFidelity } from '../../src/results/fidelity.js';
import { busyStretch } from '../../src/net/emu/sampler.js';
import { PiecewiseTrace } from '../../src/scenario/traces/piecewise.js';

const link = (id: number, busyS: number, allowed: number, carried: number): LinkFidelity => ({
  link: id, busyS, allowedMbps: allowed, carriedMbps: carried, ratio: busyS > 0 ? carried / allowed : NaN, droppedPackets: 0,
});

describe('fidelity report', () => {
  it('flags a link busy for long enough that carried under 90% of its allowance', () => {
    const links = [link(0, 5, 100, 99), link(1, 3, 50, 40), link(2, 0.05, 50, 10), link(3, 0, 0, 0)];
    expect(flaggedLinks(links).map((f) => f.link)).toEqual([1]); // link 2 was busy too briefly to judge
    const line = fidelityLine('star', links, (id) => `L${id}`);
    // (99*5 + 40*3 + 10*0.05) / (100*5 + 50*3 + 50*0.05) = 615.5 / 652.5
    expect(line).toBe('star: busy links carried 94.3% of what their traces allowed (lowest: L1 80.0% over 3.0 s) -- BELOW 90% on L1: the host could not keep up');
  });

  it('says so when no link was busy', () => {
    expect(fidelityLine('ring', [link(0, 0, 0, 0)], String)).toBe('ring: no link was busy');
  });
});

describe('busy stretches from two samples of a link', () => {
  const trace = PiecewiseTrace.constant(100); // 12.5 MB/s
  const sample = (at: number, sentBytes: number, backlogBytes: number) => ({ at, sentBytes, dropped: 0, backlogBytes });

  it('a queue longer than the interval: busy throughout, and a link that fell behind shows it', () => {
    const s = busyStretch(sample(1, 0, 5e6), sample(1.1, 0.6e6, 4e6), trace)!;
    expect(s.busyS).toBeCloseTo(0.1, 12);
    expect(s.allowedMb).toBeCloseTo(10, 9); // 100 Mbit/s for 0.1 s
    expect(s.carriedMb).toBeCloseTo(4.8, 9); // 0.6 MB: under half
  });

  it('a short queue: busy only until it drains; later arrivals do not count', () => {
    const s = busyStretch(sample(1, 0, 250_000), sample(1.1, 1e6, 0), trace)!;
    expect(s.busyS).toBeCloseTo(0.02, 12); // 2 Mbit at 100 Mbit/s
    expect(s.carriedMb).toBeCloseTo(2, 9);
  });

  it('nothing queued: not busy', () => {
    expect(busyStretch(sample(1, 0, 0), sample(1.1, 1e6, 0), trace)).toBeNull();
  });
});
