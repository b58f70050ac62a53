#!/usr/bin/env node
// npm run check:identical -- <git revision> [--new-columns FILE=COL,COL ...]
//
// --new-columns links.csv=delay_ms,loss_percent: columns the working tree
// added to a CSV are dropped from its rows before comparing (so a change
// that only adds columns proves that the rest stayed byte-identical).
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
if (!rev || rev.startsWith('--')) {
  process.stderr.write('usage: npm run check:identical -- <git revision> [--new-columns FILE=COL,COL ...]\n');
  process.exit(2);
}
/** file name -> columns the working tree added (dropped before comparing) */
const newColumns = new Map();
for (let i = 3; i < process.argv.length; i++) {
  const spec = process.argv[i] === '--new-columns' ? process.argv[++i] : null;
  const m = spec?.match(/^([\w.-]+\.csv)=([\w,]+)$/);
  if (!m) {
    process.stderr.write(`expected --new-columns FILE.csv=COL,COL, got ${process.argv[i]}\n`);
    process.exit(2);
  }
  newColumns.set(m[1], m[2].split(','));
}

/** The CSV without the named columns (plain CSV: geobed quotes nothing in these files). */
function withoutColumns(buffer, drop) {
  const lines = buffer.toString('utf8').split('\n');
  const header = lines[0].split(',');
  const keep = header.map((c, i) => (drop.includes(c) ? -1 : i)).filter((i) => i >= 0);
  if (keep.length !== header.length - drop.length) throw new Error(`not every column of ${drop.join(',')} is in the header ${lines[0]}`);
  return Buffer.from(lines.map((l) => (l === '' ? l : keep.map((i) => l.split(',')[i]).join(','))).join('\n'));
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
      const drop = newColumns.get(file);
      const same = existsSync(afterFile) && a.equals(drop ? withoutColumns(readFileSync(afterFile), drop) : readFileSync(afterFile));
      if (!same) differ++;
      process.stdout.write(`${same ? 'identical' : 'DIFFERENT'}  ${name}/${file} (${a.length} bytes)${drop ? ` without the new ${drop.join(', ')}` : ''}\n`);
    }
  }
  process.stdout.write(differ ? `${differ} file(s) differ from ${rev}\n` : `every CSV is byte-identical to ${rev}'s\n`);
  process.exitCode = differ ? 1 : 0;
} finally {
  execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
