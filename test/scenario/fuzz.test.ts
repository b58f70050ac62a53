/**
 * A brief fuzz of the scenario loader: seeded random mutations of the
 * shipped scenarios (values swapped for odd ones, fields dropped or
 * invented). A mutant is either a scenario, which then simulates (or stops
 * with a user error such as a stall), or is refused with a user error —
 * never another exception, which the CLI would print as a crash (exit 1).
 * GEOBED_FUZZ_CASES sets how many (default 300; CI runs the default).
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { parseScenario } from '../../src/scenario/load.js';
import { simulateInSlices } from '../../src/run/simulate.js';
import { UserError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { PACKAGE_ROOT } from '../../src/util/paths.js';
import { useTempDir } from '../helpers.js';

const CASES = Number(process.env.GEOBED_FUZZ_CASES ?? 300);
const SHIPPED = ['quickstart.yaml', 'netstorm-9dc-small.yaml', 'netstorm-9dc.yaml', 'train-mnist.yaml'];
const ODD: unknown[] = [
  -1, 0, 1, 0.5, 3, 1e300, -1e300, 2 ** 53, 1e-9, NaN, Infinity, '', 'x', '../x', 'a b/c', '\u0000', 'fra', 'dc1', null, true, false,
  [], {}, [1, 2], [[0, 1], [1, 0]], { generator: 'steps' }, { trace: 'missing.csv' }, { mahimahi: 'missing.up' }, 'x'.repeat(300),
  { generator: 'redraw-uniform', min_mbps: 5, max_mbps: 1, period_s: 1 }, { forward: 10 }, 'star', { name: 'netstorm', roots: 99 },
];

type Tree = Record<string, unknown> | unknown[];

/** Every (container, key) in the tree, depth first. */
function slots(tree: unknown, out: [Tree, string | number][] = []): [Tree, string | number][] {
  if (Array.isArray(tree)) tree.forEach((v, i) => (out.push([tree, i]), slots(v, out)));
  else if (tree && typeof tree === 'object') for (const [k, v] of Object.entries(tree)) out.push([tree as Tree, k]), slots(v, out);
  return out;
}

function mutate(tree: Record<string, unknown>, rng: Rng): void {
  const all = slots(tree);
  // mostly a leaf (a number, a name): such mutants often stay valid and reach the simulator
  const leaves = all.filter(([c, k]) => typeof (c as Record<string | number, unknown>)[k] !== 'object');
  const from = leaves.length && rng.next() < 0.8 ? leaves : all;
  const [container, key] = from[rng.int(from.length)];
  const op = rng.int(10);
  const pick = () => structuredClone(ODD[rng.int(ODD.length)]);
  const here = (container as Record<string | number, unknown>)[key];
  if (typeof here === 'number' && rng.next() < 0.6) {
    // a nearby or far-off number: these mutants often stay valid and reach the simulator
    (container as Record<string | number, unknown>)[key] = here * [0, 0.001, 0.5, 2, 10, 1000, -1][rng.int(7)] + [0, 0, 1][rng.int(3)];
  } else if (op < 6) (container as Record<string | number, unknown>)[key] = pick();
  else if (op < 8 && !Array.isArray(container)) delete (container as Record<string, unknown>)[key as string];
  else if (op < 9 && Array.isArray(container)) container.splice(key as number, 1);
  else if (!Array.isArray(container)) (container as Record<string, unknown>)[`extra_${rng.int(3)}`] = pick();
  else container.push(pick());
}

describe('fuzzing the scenario loader', () => {
  const dir = useTempDir();

  it(`${CASES} mutants of the shipped scenarios: a scenario or a user error, never a crash`, async () => {
    mkdirSync(join(dir.path, 'scenarios'));
    mkdirSync(join(dir.path, 'traces'));
    copyFileSync(join(PACKAGE_ROOT, 'traces', 'quickstart-fra-par.csv'), join(dir.path, 'traces', 'quickstart-fra-par.csv'));
    const rng = new Rng(20261202, 'fuzz');
    const crashes: string[] = [];
    let refused = 0, accepted = 0;
    for (let k = 0; k < CASES; k++) {
      const name = SHIPPED[k % SHIPPED.length];
      const tree = parse(readFileSync(join(PACKAGE_ROOT, 'scenarios', name), 'utf8')) as Record<string, unknown>;
      for (let m = 1 + rng.int(2); m > 0; m--) mutate(tree, rng);
      const text = stringify(tree);
      const file = join(dir.path, 'scenarios', `mutant-${k}.yaml`);
      writeFileSync(file, text);
      try {
        const scenario = parseScenario(text, file, { iterations: 1 });
        accepted++;
        if (scenario.workload.training) continue; // (loading tfjs per mutant would take minutes; the loader is what is fuzzed)
        const config = scenario.schedulers[0];
        await simulateInSlices({ ...scenario, results: { ...scenario.results, transfers: false } }, config, { signal: AbortSignal.timeout(2000) });
      } catch (e) {
        if (e instanceof UserError) refused++;
        else if (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError')) continue; // a long but valid run
        else crashes.push(`mutant-${k} of ${name}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}\n${text}`);
      }
    }
    if (process.env.GEOBED_FUZZ_CASES) process.stderr.write(`fuzz: ${accepted} accepted, ${refused} refused, ${crashes.length} crashed\n`);
    expect(crashes, crashes.join('\n\n')).toEqual([]);
    // the mutations do reach both sides
    expect(refused).toBeGreaterThan(CASES / 4);
    expect(accepted).toBeGreaterThan(0);
  }, 300_000);

  it('a few mutants through the CLI: exit 0 or 2, never a stack trace', async () => {
    const rng = new Rng(7, 'fuzz-cli');
    for (let k = 0; k < 8; k++) {
      const tree = parse(readFileSync(join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml'), 'utf8')) as Record<string, unknown>;
      mutate(tree, rng);
      writeFileSync(join(dir.path, `m${k}.yaml`), stringify(tree));
      const r = await execa(process.execPath, [join(PACKAGE_ROOT, 'bin', 'geobed.js'), 'validate', `m${k}.yaml`], { cwd: dir.path, reject: false });
      expect([0, 2], r.stderr).toContain(r.exitCode);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);
});
