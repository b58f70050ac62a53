/**
 * The emulated run's stall watchdog (src/run/watchdog.ts), on a clock the
 * test moves: progress is bytes that reach the agents, at least one second
 * of the slowest link above 0 over the stall timeout, not packets that
 * trickle through (issue 25: a link that let a packet through every few
 * seconds kept the old watchdog from ever firing).
 */
import { describe, expect, it } from 'vitest';
import { StallWatchdog, linksDownForEver } from '../../src/run/watchdog.js';
import { PiecewiseTrace } from '../../src/scenario/traces/piecewise.js';
import { parseScenario } from '../../src/scenario/load.js';

/** A watchdog with a 20 s timeout over links of these traces, and a clock at `t`. */
function watchdog(traces = [PiecewiseTrace.constant(50), PiecewiseTrace.constant(8)]) {
  const clock = { t: 0 };
  return { clock, dog: new StallWatchdog(20, traces, () => clock.t) };
}

/** The agents read `bytesPerS` in all each second (heartbeats) from `from` to `to`. */
function reading(w: ReturnType<typeof watchdog>, from: number, to: number, bytesPerS: number, start = 0): number {
  let total = start;
  for (let t = from; t <= to; t++) {
    w.clock.t = t;
    w.dog.read(total);
    total += bytesPerS;
  }
  return total;
}

describe('the stall watchdog', () => {
  it('a frame trickling through every few seconds is no progress: stalled once the timeout has passed', () => {
    const w = watchdog();
    reading(w, 0, 30, 1514 / 3);
    expect(w.dog.stalled()).toBe(true);
    // one second of the slowest link above 0 (8 Mbit/s) is the least that counts
    expect(w.dog.progressFloorBytes()).toBe(1e6);
  });

  it('a slow link delivering a long message is progress, however long no message arrives', () => {
    const w = watchdog([PiecewiseTrace.constant(1)]);
    reading(w, 0, 200, 125_000); // 1 Mbit/s, no message for 200 s
    expect(w.dog.stalled()).toBe(false);
  });

  it('a delivered message or a worker\'s report within the timeout is progress', () => {
    const w = watchdog();
    reading(w, 0, 30, 0);
    w.dog.message(15);
    expect(w.dog.stalled()).toBe(false);
    w.clock.t = 36;
    expect(w.dog.stalled()).toBe(true);
  });

  it('an outage that ends later is waited for, and the timeout counts from its end', () => {
    const w = watchdog([new PiecewiseTrace([0, 5, 50], [50, 0, 50])]);
    reading(w, 0, 60, 0);
    expect(w.dog.stalled()).toBe(false); // 60 s: 10 s after the outage
    reading(w, 61, 71, 0);
    expect(w.dog.stalled()).toBe(true);
  });

  it('counts only the last timeout\'s bytes: progress long ago does not keep a stuck run alive', () => {
    const w = watchdog();
    const total = reading(w, 0, 10, 10e6);
    reading(w, 11, 40, 0, total);
    expect(w.dog.stalled()).toBe(true);
  });
});

describe('links at 0 Mbit/s for ever', () => {
  const scenario = (bandwidth: string) => parseScenario(`
name: down
nodes: [a, b]
links:
  - between: [a, b]
    bandwidth: ${bandwidth}
workload: { gradient_mb: 1, compute_ms: 10 }
schedulers: [star]
`, 'down.yaml');

  it('are found, with when the outage starts; an outage that ends, a loop or a generator is not one', () => {
    expect(linksDownForEver(scenario('0'))).toEqual([{ link: 'a->b', fromS: 0 }, { link: 'b->a', fromS: 0 }]);
    expect(linksDownForEver(scenario('{ generator: steps, mbps: [50, 0], period_s: 2, loop: false }')).map((d) => d.fromS)).toEqual([2, 2]);
    expect(linksDownForEver(scenario('{ generator: steps, mbps: [50, 0], period_s: 2, loop: true }'))).toEqual([]);
    expect(linksDownForEver(scenario('{ generator: steps, mbps: [50, 0, 50], period_s: 2, loop: false }'))).toEqual([]);
    expect(linksDownForEver(scenario('{ generator: on-off, on_mbps: 50, mean_on_s: 1, mean_off_s: 1 }'))).toEqual([]);
  });
});
