/**
 * npm run bench:sweep — how much a sweep gains from running simulated runs
 * in parallel: the NetStorm 9-DC scenario, 5 schedulers x 10 seeds x 20
 * iterations (50 runs), with --jobs 1 and then --jobs 2, wall time of each
 * and the speed-up, in one run. Goal: at least 1.8x on 2 cores. The two
 * sweeps' combined summaries must be byte-identical (the same runs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/util/paths.js';
import { formatTable } from '../src/cli/table.js';

const GOAL = 1.8;
const work = mkdtempSync(join(tmpdir(), 'geobed-bench-sweep-'));
try {
  writeFileSync(join(work, 'sweep.yaml'), [
    'name: bench-9dc',
    `scenarios: [${join(PACKAGE_ROOT, 'scenarios', 'netstorm-9dc.yaml')}]`,
    'schedulers: [star, mlnet, tsengine, ring, netstorm]',
    'seeds: { from: 1, count: 10 }',
    'iterations: 20',
    '',
  ].join('\n'));
  const wall = (jobs: number): number => {
    const t0 = performance.now();
    execFileSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'geobed.js'), 'sweep', join(work, 'sweep.yaml'), '--jobs', String(jobs), '--out', join(work, `jobs${jobs}`)], { stdio: ['ignore', 'ignore', 'inherit'] });
    return (performance.now() - t0) / 1000;
  };
  const one = wall(1);
  const two = wall(2);
  const same = readFileSync(join(work, 'jobs1', 'summary.csv')).equals(readFileSync(join(work, 'jobs2', 'summary.csv')));
  const ratio = one / two;
  process.stdout.write(`\nNetStorm 9-DC, 5 schedulers x 10 seeds x 20 iterations (50 simulated runs), on ${cpus().length} CPUs:\n\n${formatTable(
    ['jobs', 'wall s', 'runs per minute'],
    [['1', one.toFixed(1), ((50 * 60) / one).toFixed(1)], ['2', two.toFixed(1), ((50 * 60) / two).toFixed(1)]],
  )}\n\nspeed-up with --jobs 2: ${ratio.toFixed(2)}x (goal >= ${GOAL}x: ${ratio >= GOAL ? 'met' : 'NOT met'}); combined summaries ${same ? 'byte-identical' : 'DIFFER'}\n`);
  if (!same) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
