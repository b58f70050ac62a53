/**
 * The fidelity figure itself (root; CI runs as root): on an idle host, a
 * link that carries what its trace allows reads at least 99%, on both link
 * backends, for a trace of known shape and for a real cellular trace
 * (Mahimahi's Verizon-LTE-short, from ../shared beside the clone; skipped,
 * saying so, where it is absent).
 *
 * Issue 26: the link counters were stamped when Node read them, about 50 ms
 * off the 100 ms rate bins they were compared with, and a Mahimahi trace
 * the native emulator replays opportunity by opportunity was compared with
 * its 100 ms averages: on Verizon-LTE-short the figure read 96.2-97.0%
 * where the per-packet logs gave 99.2-99.6%. Now each reading carries the
 * instant its counters held (the emulator's clock; the time kernel links
 * were asked), on the run's 100 ms grid, and a trace the emulator replays
 * allows its opportunities to the millisecond.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { readCsv, scenarioText, useTempDir, writeFiles } from '../helpers.js';
import { FIDELITY_MIN_BUSY_S } from '../../src/results/fidelity.js';
import { assertFiguresOnlyIfHostKeptUp, cleanUpAfterEach, isRoot, TEST_SATURATED_MAX } from './emu-helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const MAHIMAHI = join(PACKAGE_ROOT, '..', 'shared', 'traces', 'mahimahi');

cleanUpAfterEach(async () => undefined);
if (isRoot && !existsSync(MAHIMAHI)) process.stderr.write(`fidelity figure: ${MAHIMAHI} is absent (../shared beside the clone): the Verizon-LTE-short tests are skipped\n`);

/** 10 and 40 Mbit/s in turn, each for 100 ms (the sampler's interval), looped. */
const SQUARE = `time_s,mbps\n${Array.from({ length: 10 }, (_, i) => `${(i / 10).toFixed(1)},${i % 2 ? 40 : 10}`).join('\n')}\n1.0,10\n`;

describe.skipIf(!isRoot)('the fidelity figure on an idle host (root)', () => {
  const dir = useTempDir();

  /**
   * Run a two-node scenario emulated; the fidelity rows of the links busy long enough to be judged
   * (FIDELITY_MIN_BUSY_S, as the run judges them: a kernel link's qdisc holds only the millisecond or so
   * of packets TCP small queues lets a socket put there, so it is certainly busy only a little of the time).
   */
  async function busyLinks(ctx: TestContext, backend: string, bandwidth: string, gradientMb: number, tcp = 'bbr'): Promise<Record<string, string>[]> {
    const file = `${backend}-${Math.random().toString(36).slice(2)}.yaml`;
    writeFiles(dir.path, {
      [file]: scenarioText({
        nodes: 'nodes: [a, b]',
        iterations: 'iterations: 3',
        links: `links:\n  - between: [a, b]\n    bandwidth: ${bandwidth}`,
        workload: `workload: { gradient_mb: ${gradientMb}, compute_ms: 20 }\nnetwork: { tcp: { congestion: ${tcp} } }`,
      }),
    });
    const out = join(dir.path, `${file}.out`);
    const r = await execa('node', [BIN, 'run', file, '--mode', 'emu', '--links', backend, '--out', out], { cwd: dir.path, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const star = manifest.runs.find((run: { scheduler: string }) => run.scheduler === 'star');
    const rows = readCsv(join(out, 'fidelity.csv')).filter((row) => Number(row.busy_s) >= FIDELITY_MIN_BUSY_S);
    process.stderr.write(`fidelity figure, ${backend}, ${bandwidth}: ${rows.map((row) => `${row.link} ${(100 * Number(row.carried_over_allowed)).toFixed(2)}% over ${row.busy_s} s`).join(', ')}\n`);
    // a figure of the host, not of the links, when the host was short of CPU (the run's own verdict, or the tests' stricter share)
    const problems = manifest.fidelity.causes.star === 'host' ? [...manifest.fidelity.problems.star] : [];
    if (star.host_cpu_saturated_share > TEST_SATURATED_MAX) problems.push(`the CPUs were saturated in ${(100 * star.host_cpu_saturated_share).toFixed(0)}% of the run`);
    assertFiguresOnlyIfHostKeptUp(ctx, `the fidelity figure (${backend})`, problems);
    expect(rows.length).toBeGreaterThan(0);
    return rows;
  }

  for (const backend of ['kernel', 'native']) {
    it(`a trace of known shape (10 and 40 Mbit/s in turn every 100 ms): the busy links read at least 99%, ${backend} links`, async (ctx) => {
      writeFiles(dir.path, { 'square.csv': SQUARE });
      // (cubic fills the queue, so the link is certainly busy throughout a transfer: bbr keeps it nearly empty)
      for (const row of await busyLinks(ctx, backend, '{ trace: square.csv, loop: true }', 6, 'cubic')) {
        expect(Number(row.carried_over_allowed)).toBeGreaterThanOrEqual(0.99);
      }
    }, 120_000);
  }

  for (const backend of ['native', 'kernel']) {
    const how = backend === 'native' ? 'replayed opportunity by opportunity' : 'its 100 ms averages';
    it.skipIf(!existsSync(MAHIMAHI))(`Verizon-LTE-short (Mahimahi's cellular trace, ${how}): the busy links read at least 99%, ${backend} links`, async (ctx) => {
      const bandwidth = `{ forward: { mahimahi: ${join(MAHIMAHI, 'Verizon-LTE-short.down')} }, reverse: { mahimahi: ${join(MAHIMAHI, 'Verizon-LTE-short.up')} } }`;
      for (const row of await busyLinks(ctx, backend, bandwidth, 1)) {
        expect(Number(row.carried_over_allowed)).toBeGreaterThanOrEqual(0.99);
      }
    }, 180_000);
  }
});
