/**
 * Reproducibility: the manifest records what a run was (the scenario and
 * its hash, the trace files' hashes, seed, versions, git commit, command
 * line and a rerun recipe); `geobed rerun` repeats a simulated run byte for
 * byte, and refuses when an input changed since.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { useTempDir, writeFiles } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const geobed = (args: string[], cwd = PACKAGE_ROOT) => execa('node', [BIN, ...args], { cwd, reject: false, env: { FORCE_COLOR: '0' } });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('reproducibility', () => {
  const dir = useTempDir();

  it('the manifest records the inputs and their hashes; rerun reproduces a simulated run byte for byte', async () => {
    writeFiles(dir.path, {
      'q.yaml': readFileSync(join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml'), 'utf8').replace('../traces/', 'traces/').replace('schedulers:\n  - star', 'schedulers:\n  - star\n  - netstorm'),
    });
    const traces = join(dir.path, 'traces');
    await execa('mkdir', [traces]);
    writeFileSync(join(traces, 'quickstart-fra-par.csv'), readFileSync(join(PACKAGE_ROOT, 'traces', 'quickstart-fra-par.csv')));
    const first = join(dir.path, 'first');
    const r = await geobed(['run', 'q.yaml', '--schedulers', 'star,netstorm', '--seed', '11', '--iterations', '4', '--set', 'schedulers.netstorm.roots=2', '--out', first], dir.path);
    expect(r.exitCode, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(first, 'manifest.json'), 'utf8'));
    expect(manifest.scenario.sha256).toBe(sha256(join(dir.path, 'q.yaml')));
    expect(manifest.scenario.input_files).toEqual([{ path: join(traces, 'quickstart-fra-par.csv'), sha256: sha256(join(traces, 'quickstart-fra-par.csv')) }]);
    expect(manifest.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(manifest.host.kernel).toBeTruthy();
    expect(manifest.command).toEqual(['geobed', 'run', 'q.yaml', '--schedulers', 'star,netstorm', '--seed', '11', '--iterations', '4', '--set', 'schedulers.netstorm.roots=2', '--out', first]);
    expect(manifest.rerun).toEqual({
      scenario_file: join(dir.path, 'q.yaml'), seed: 11, iterations: 4, schedulers: ['star', 'netstorm'], profile: null,
      set: ['schedulers.netstorm.roots=2'], mode: 'sim', links: null, control: null,
    });
    // transfers' times carry nanoseconds
    expect(readFileSync(join(first, 'transfers.csv'), 'utf8').split('\n')[1]).toMatch(/,\d+\.\d{9},\d+\.\d{9},\d+\.\d{9},/);

    // from another directory, the same run again: every CSV byte-identical
    const again = join(dir.path, 'again');
    const re = await geobed(['rerun', first, '--out', again]);
    expect(re.exitCode, re.stderr).toBe(0);
    const csvs = readdirSync(first).filter((f) => f.endsWith('.csv')).sort();
    expect(readdirSync(again).filter((f) => f.endsWith('.csv')).sort()).toEqual(csvs);
    for (const f of csvs) expect(readFileSync(join(again, f)).equals(readFileSync(join(first, f))), f).toBe(true);

    // an input that changed since: refused, nothing written
    writeFileSync(join(traces, 'quickstart-fra-par.csv'), `${readFileSync(join(traces, 'quickstart-fra-par.csv'), 'utf8')}# edited\n`);
    const changed = await geobed(['rerun', first, '--out', join(dir.path, 'third')]);
    expect(changed.exitCode).toBe(2);
    expect(changed.stderr).toMatch(/rerun: the trace file .*quickstart-fra-par\.csv changed since the run/);
    writeFileSync(join(dir.path, 'q.yaml'), `${readFileSync(join(dir.path, 'q.yaml'), 'utf8')}\n# edited\n`);
    expect((await geobed(['rerun', first])).stderr).toMatch(/rerun: .*q\.yaml changed since the run \(sha256 /);
    expect(readdirSync(dir.path).sort()).toEqual(['again', 'first', 'q.yaml', 'traces']);
    expect((await geobed(['rerun', join(dir.path, 'nothing')])).stderr).toMatch(/rerun: .*nothing\/manifest\.json: cannot read/);
  }, 60_000);
});
