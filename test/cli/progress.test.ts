import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (t: string) => writes.push(t) };
}

describe('progress bar', () => {
  it('stays silent for the first two seconds, then draws on a terminal and clears at the end', () => {
    let now = 0;
    const stream = fakeStream(true);
    const bar = new ProgressBar(stream, () => now);
    bar.update('star', 1, 10);
    expect(stream.writes).toHaveLength(0);
    now = 2500;
    bar.update('star', 5, 10);
    expect(stream.writes[0]).toMatch(/^\rstar\s+\[#{15}\.{15}\] 5\/10 iterations/);
    bar.finish();
    expect(stream.writes[1]).toBe('\r\x1b[2K');
  });

  it('never draws when stdout is not a terminal', () => {
    let now = 0;
    const stream = fakeStream(false);
    const bar = new ProgressBar(stream, () => now);
    now = 10_000;
    bar.update('star', 5, 10);
    bar.finish();
    expect(stream.writes).toHaveLength(0);
  });
});
