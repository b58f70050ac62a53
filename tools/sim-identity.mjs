#!/usr/bin/env node
// npm run check:identical -- <git revision>
//
// Is the simulator's output unchanged? Builds <revision> in a temporary git
// worktree, runs every shipped scenario simulated with each build (all
// their schedulers, their fixed seeds, a few iterations; the 9-DC scenario
// also with --profile resnet50; training with one fixed compute time), and
// compares every CSV byte for byte. Prints one line per file; exits 1 if
// any differs. The working tree must be built (npm run build).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const rev = process.argv[2];
if (!rev) {
  process.stderr.write('usage: npm run check:identical -- <git revision>\n');
  process.exit(2);
}

/** The runs compared: [name, scenario file (relative to the package), extra flags]. */
const RUNS = [
  ['quickstart', 'scenarios/quickstart.yaml', ['--schedulers', 'star,mlnet,tsengine,ring,netstorm']],
  ['netstorm-9dc-small', 'scenarios/netstorm-9dc-small.yaml', []],
  ['netstorm-9dc', 'scenarios/netstorm-9dc.yaml', ['--iterations', '5']],
  ['netstorm-9dc-resnet50', 'scenarios/netstorm-9dc.yaml', ['--iterations', '5', '--profile', 'resnet50']],
  ['train-mnist', 'scenarios/train-mnist.yaml', ['--iterations', '10', '--calibration', 'CALIBRATION']],
];

const work = mkdtempSync(join(tmpdir(), 'geobed-identity-'));
const calibration = join(work, 'calibration.json');
writeFileSync(calibration, `${JSON.stringify({ training: { compute_s: 0.015 } })}\n`);

function runAll(packageDir, outDir) {
  for (const [name, file, flags] of RUNS) {
    const args = [join(packageDir, 'bin', 'geobed.js'), 'run', join(packageDir, file), ...flags.map((f) => (f === 'CALIBRATION' ? calibration : f)), '--out', join(outDir, name)];
    execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

const tree = join(work, 'tree');
try {
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', tree, rev], { stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(tree, 'tsconfig.build.json')], { stdio: 'inherit' });
  process.stderr.write(`running the shipped scenarios with ${rev} and with the working tree...\n`);
  runAll(tree, join(work, 'before'));
  runAll(ROOT, join(work, 'after'));
  let differ = 0;
  for (const [name] of RUNS) {
    for (const file of readdirSync(join(work, 'before', name)).filter((f) => f.endsWith('.csv')).sort()) {
      const a = readFileSync(join(work, 'before', name, file));
      const afterFile = join(work, 'after', name, file);
      const same = existsSync(afterFile) && a.equals(readFileSync(afterFile));
      if (!same) differ++;
      process.stdout.write(`${same ? 'identical' : 'DIFFERENT'}  ${name}/${file} (${a.length} bytes)\n`);
    }
  }
  process.stdout.write(differ ? `${differ} file(s) differ from ${rev}\n` : `every CSV is byte-identical to ${rev}'s\n`);
  process.exitCode = differ ? 1 : 0;
} finally {
  execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
