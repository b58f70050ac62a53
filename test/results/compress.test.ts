/**
 * Compressed result tables (results.compress; issue 25: one 200-iteration
 * run of the paper's scenario wrote a 333 MB links.csv): the row tables as
 * .csv.gz, the same bytes as a plain run's once decompressed, and every
 * command that reads results (summarize, compare, plot, report, sweep
 * collect) reads them.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { useTempDir, writeFiles } from '../helpers.js';

const BIN = join(PACKAGE_ROOT, 'bin', 'geobed.js');
const QUICKSTART = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
const geobed = (args: string[], cwd = PACKAGE_ROOT) => execa('node', [BIN, ...args], { cwd, reject: false, env: { FORCE_COLOR: '0' } });
const ROW_TABLES = ['iterations.csv', 'links.csv', 'transfers.csv'];

describe('compressed result tables', () => {
  const dir = useTempDir();

  it('a run writes its row tables as .csv.gz, byte for byte a plain run\'s once decompressed, and every reader reads them', async () => {
    const [plain, gz] = [join(dir.path, 'plain'), join(dir.path, 'gz')];
    const common = ['run', QUICKSTART, '--iterations', '4', '--schedulers', 'star,netstorm'];
    expect((await geobed([...common, '--out', plain])).exitCode).toBe(0);
    const r = await geobed([...common, '--set', 'results.compress=true', '--out', gz]);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const table of ROW_TABLES) {
      expect(existsSync(join(gz, table))).toBe(false);
      const packed = readFileSync(join(gz, `${table}.gz`));
      expect(packed.length).toBeLessThan(readFileSync(join(plain, table)).length);
      expect(gunzipSync(packed).equals(readFileSync(join(plain, table))), table).toBe(true);
    }
    expect(readFileSync(join(gz, 'summary.csv'), 'utf8')).toBe(readFileSync(join(plain, 'summary.csv'), 'utf8')); // (kept plain)
    expect(JSON.parse(readFileSync(join(gz, 'manifest.json'), 'utf8')).files).toContain('links.csv.gz');
    // summarize rebuilds the same summary from iterations.csv.gz
    const summarized = await geobed(['summarize', gz]);
    expect(summarized.exitCode, summarized.stderr).toBe(0);
    expect(readFileSync(join(gz, 'summary.csv'), 'utf8')).toBe(readFileSync(join(plain, 'summary.csv'), 'utf8'));
    // plot and report read the compressed tables: the same plot data as from the plain ones
    for (const folder of [plain, gz]) expect((await geobed(['plot', folder])).exitCode).toBe(0);
    for (const file of readdirSync(join(plain, 'plots')).filter((f) => f.endsWith('.csv'))) {
      expect(readFileSync(join(gz, 'plots', file), 'utf8'), file).toBe(readFileSync(join(plain, 'plots', file), 'utf8'));
    }
    expect((await geobed(['report', gz])).exitCode).toBe(0);
    expect((await geobed(['compare', gz])).exitCode).toBe(0);
  }, 120_000);

  it('a sweep of compressed runs collects compressed combined tables, the same rows as a plain sweep\'s', async () => {
    const scenario = readFileSync(QUICKSTART, 'utf8').replace('../traces/', `${join(PACKAGE_ROOT, 'traces')}/`);
    const sweep = (extra: string) => `name: s\nscenarios: [q.yaml]\nschedulers: [star, ring]\nseeds: [1, 2]\niterations: 2\n${extra}`;
    writeFiles(dir.path, { 'q.yaml': scenario, 'plain.yaml': sweep(''), 'gz.yaml': sweep('set: [results.compress=true]\n') });
    for (const name of ['plain', 'gz']) expect((await geobed(['sweep', join(dir.path, `${name}.yaml`), '--out', join(dir.path, `sweep-${name}`)])).exitCode).toBe(0);
    for (const table of ROW_TABLES) {
      const packed = gunzipSync(readFileSync(join(dir.path, 'sweep-gz', `${table}.gz`)));
      expect(packed.equals(readFileSync(join(dir.path, 'sweep-plain', table))), table).toBe(true);
    }
  }, 120_000);
});
