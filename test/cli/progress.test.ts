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
    // (the line is cleared first: a shorter line, a sweep's note say, leaves nothing of the last)
    expect(stream.writes[0]).toMatch(/^\r\x1b\[2Kstar\s+\[#{15}\.{15}\] 5\/10 iterations/);
    bar.finish();
    expect(stream.writes[1]).toBe('\r\x1b[2K');
  });

  it('counts what it is told, with a note after (a sweep: runs, and those in flight and the time left)', () => {
    let now = 0;
    const stream = fakeStream(true);
    const lines = fakeStream(false);
    const bar = new ProgressBar(stream, () => now);
    const piped = new ProgressBar(fakeStream(false), () => now, lines);
    now = 2500;
    bar.update('sweep', 3, 12, 'runs', '2 running, about 40 s left');
    expect(stream.writes[0]).toMatch(/ 3\/12 runs  2\.5 s  2 running, about 40 s left$/);
    now = 3000;
    piped.update('sweep', 0, 12, 'runs', '2 running');
    expect(lines.writes[0]).toBe('geobed: sweep: 0/12 runs (0%), 3.0 s, 2 running\n');
  });

  it('when stdout is not a terminal: no bar; on stderr a line as a scheduler starts and ends, and at its tenths every 5 s (after 2 s)', () => {
    let now = 0;
    const stream = fakeStream(false);
    const lines = fakeStream(false);
    const bar = new ProgressBar(stream, () => now, lines);
    bar.update('star', 0, 100);
    expect(lines.writes).toHaveLength(0); // a run shorter than 2 s says nothing
    now = 3000;
    for (let done = 0; done <= 100; done++) {
      bar.update('star', done, 100);
      now += 200; // 20 s in all: a tenth every 2 s
    }
    bar.update('ring', 0, 100);
    bar.finish();
    expect(stream.writes).toHaveLength(0);
    expect(lines.writes[0]).toBe('geobed: star: 0/100 iterations (0%), 3.0 s\n');
    expect(lines.writes[1]).toBe('geobed: star: 25/100 iterations (25%), 8.0 s\n');
    expect(lines.writes.at(-2)).toBe('geobed: star: 100/100 iterations (100%), 23.0 s\n');
    expect(lines.writes.at(-1)).toMatch(/^geobed: ring: 0\/100/);
    expect(lines.writes).toHaveLength(6); // start, 25%, 50%, 75% (5 s apart), end; ring's start
  });
});
