/** Training from the command line: the shipped scenario, --backend, and clear errors for bad training input. */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { ACCURACY_COLUMNS, SUMMARY_COLUMNS } from '../../src/results/tables.js';
import { useTempDir, writeFiles } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const geobed = (args: string[], cwd = PACKAGE_ROOT) => execa('node', [BIN, ...args], { cwd, reject: false, env: { FORCE_COLOR: '0' } });
const TRAIN = join(PACKAGE_ROOT, 'scenarios', 'train-mnist.yaml');
const hasTfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('training from the CLI', () => {
  const dir = useTempDir();

  it('runs the shipped training scenario, printing time to accuracy and writing accuracy.csv', async () => {
    const out = join(dir.path, 'train');
    const r = await geobed(['run', TRAIN, '--iterations', '10', '--schedulers', 'star,netstorm', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/training \((wasm|tfjs-node)[^)]*\); accuracy\.csv\):/);
    expect(r.stdout).toMatch(/^\s+star\s+(not reached|[\d.]+)\s+\d+\.\d%$/m);
    const header = (f: string) => readFileSync(join(out, f), 'utf8').split('\n')[0].split(',');
    expect(header('accuracy.csv')).toEqual(ACCURACY_COLUMNS);
    expect(header('summary.csv')).toEqual(SUMMARY_COLUMNS);
    expect(readFileSync(join(out, 'accuracy.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 2 * 3); // steps 0, 5, 10 per scheduler
  }, 120_000);

  it('--backend cpu trains on the cpu backend and says so in the manifest', async () => {
    const out = join(dir.path, 'cpu');
    const r = await geobed(['run', TRAIN, '--iterations', '2', '--schedulers', 'star', '--backend', 'cpu', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).training.tfjs_backend).toBe('cpu (plain JavaScript)');
  }, 120_000);

  it.skipIf(hasTfjsNode)('--backend tensorflow where tfjs-node is not installed stops with the reason and writes nothing', async () => {
    const out = join(dir.path, 'tf');
    const r = await geobed(['run', TRAIN, '--iterations', '2', '--backend', 'tensorflow', '--out', out]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^geobed: --backend tensorflow: cannot start it \(tensorflow: .*tfjs-node/m);
    expect(existsSync(out)).toBe(false);
  });

  it('bad training input: a missing dataset file, a model that does not exist, --backend without training', async () => {
    writeFiles(dir.path, {
      'missing.yaml': 'name: t\nnodes: [a, b]\nlinks: [{ between: [a, b], bandwidth: 10 }]\nworkload: { train: { model: mlp, dataset: { csv: digits.csv } } }\nschedulers: [star]\n',
      'model.yaml': 'name: t\nnodes: [a, b]\nlinks: [{ between: [a, b], bandwidth: 10 }]\nworkload: { train: { model: resnet } }\nschedulers: [star]\n',
      'synthetic.yaml': 'name: t\nnodes: [a, b]\nlinks: [{ between: [a, b], bandwidth: 10 }]\nworkload: { gradient_mb: 1, compute_ms: 1 }\nschedulers: [star]\n',
      'batch.yaml': 'name: t\nnodes: [a, b]\nlinks: [{ between: [a, b], bandwidth: 10 }]\nworkload: { train: { model: mlp, batch: 5000 } }\nschedulers: [star]\n',
    });
    const batch = await geobed(['run', 'batch.yaml', '--out', 'o4'], dir.path);
    expect(batch.exitCode).toBe(2);
    expect(batch.stderr).toMatch(/workload\.train\.batch: 5000 per worker, but 2 workers share 8000 training samples \(4000 each at the least\)/);
    expect(existsSync(join(dir.path, 'o4'))).toBe(false);
    const missing = await geobed(['run', 'missing.yaml', '--out', 'o1'], dir.path);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/missing\.yaml:4: workload\.train\.dataset\.csv: .*digits\.csv: no such file/);
    const model = await geobed(['run', 'model.yaml', '--out', 'o2'], dir.path);
    expect(model.exitCode).toBe(2);
    expect(model.stderr).toMatch(/model\.yaml:4: workload\.train\.model: .*"mlp"/);
    const synthetic = await geobed(['run', 'synthetic.yaml', '--backend', 'wasm', '--out', 'o3'], dir.path);
    expect(synthetic.exitCode).toBe(2);
    expect(synthetic.stderr).toMatch(/--backend applies to scenarios that train/);
    for (const o of ['o1', 'o2', 'o3']) expect(existsSync(join(dir.path, o))).toBe(false);
  });
});
