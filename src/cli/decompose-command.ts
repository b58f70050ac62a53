/** `geobed decompose`: the idealised-to-as-published decomposition table (run/decompose.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { MAX_ITERATIONS } from '../model/limits.js';
import { loadScenario } from '../scenario/load.js';
import { decompose, type StepResult } from '../run/decompose.js';
import { releaseRunFolder, reserveRunFolder } from '../results/folder.js';
import { UserError } from '../util/errors.js';
import { formatTable } from './table.js';
import { guarded } from './common.js';

const COLUMNS = ['step', 'factor', 'scheduler', 'seeds', 'mean_s', 'ci95_low', 'ci95_high', 'speedup', 'speedup_ci95_low', 'speedup_ci95_high'] as const;

function csv(rows: StepResult[]): string {
  const num = (x: number) => (Number.isFinite(x) ? String(+x.toPrecision(6)) : '');
  const lines = rows.map((r) => [r.step, r.factor, r.scheduler, r.seeds, num(r.meanS), num(r.ciLow), num(r.ciHigh), num(r.speedup), num(r.speedupLow), num(r.speedupHigh)].join(','));
  return `${[COLUMNS.join(','), ...lines].join('\n')}\n`;
}

/** One row per step; per scheduler "mean s (speedup, interval)". */
export function decompositionTable(rows: StepResult[]): { headers: string[]; cells: string[][] } {
  const schedulers = [...new Set(rows.map((r) => r.scheduler))];
  const steps = [...new Set(rows.map((r) => r.step))];
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
  const cells = steps.map((step) => {
    const at = rows.filter((r) => r.step === step);
    return [
      `${step === 0 ? '' : '+ '}${at[0].label}`,
      ...schedulers.map((s) => {
        const r = at.find((x) => x.scheduler === s)!;
        return `${r.meanS.toFixed(1)} s (${f(r.speedup)}x, ${f(r.speedupLow)}-${f(r.speedupHigh)})`;
      }),
    ];
  });
  return { headers: ['step', ...schedulers], cells };
}

export function decomposeCommand(y: Argv): Argv {
  return y.command(
    'decompose <scenario>',
    'switch the baselines from idealised to as their code runs them, one factor at a time, and tabulate mean iteration time and speedup (95% intervals over seeds)',
    (c) => c
      .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file (e.g. scenarios/netstorm-9dc.yaml)' })
      .option('seeds', { type: 'number', default: 5, describe: 'seeds 1..N, one sample each' })
      .option('iterations', { type: 'number', describe: 'override the number of iterations' })
      .option('profile', { type: 'string', describe: 'override the model profile (alexnet, resnet50, vgg16)' })
      .option('baseline', { type: 'string', describe: 'the speedups\' baseline, a scheduler label (default: the first)' })
      .option('out', { type: 'string', describe: 'folder for decomposition.csv and decomposition.md (default results/decompose-<scenario>-<profile>)' }),
    guarded(async (a) => {
      if (!(Number.isInteger(a.seeds) && a.seeds >= 2 && a.seeds <= 1000)) throw new UserError(`--seeds: expected a whole number from 2 to 1000 (an interval needs two), got ${a.seeds}`);
      if (a.iterations !== undefined && !(Number.isInteger(a.iterations) && a.iterations > 0 && a.iterations <= MAX_ITERATIONS)) {
        throw new UserError(`--iterations: expected a whole number from 1 to ${MAX_ITERATIONS}, got ${a.iterations}`);
      }
      // validate before reserving the folder: bad input leaves nothing behind
      const scenario = loadScenario(a.scenario, { iterations: a.iterations, profile: a.profile });
      const labels = scenario.schedulers.map((s) => s.label);
      if (a.baseline !== undefined && !labels.includes(a.baseline)) throw new UserError(`--baseline: no scheduler labelled "${a.baseline}" (${labels.join(', ')})`);
      if (scenario.workload.training) throw new UserError(`${a.scenario}: decompose simulates synthetic workloads; this scenario trains (workload.train)`);
      const folder = reserveRunFolder(a.out, 'results', `decompose-${scenario.name}-${scenario.workload.profile}`);
      try {
        const started = Date.now();
        const rows = decompose(a.scenario, {
          seeds: Array.from({ length: a.seeds }, (_, i) => i + 1), iterations: a.iterations, profile: a.profile, baseline: a.baseline,
          onRun: (done, total) => {
            if (done % labels.length === 0) process.stderr.write(`geobed: decompose: ${done}/${total} runs, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
          },
        });
        const { headers, cells } = decompositionTable(rows);
        const md = [
          `# Decomposition: ${scenario.name}, ${scenario.workload.profile}, ${a.seeds} seeds, ${scenario.iterations} iterations`,
          '',
          `Mean iteration time (speedup over ${a.baseline ?? labels[0]}, 95% interval over seeds); each step adds one factor to the one above.`,
          '',
          `| ${headers.join(' | ')} |`,
          `|${headers.map(() => '---').join('|')}|`,
          ...cells.map((r) => `| ${r.join(' | ')} |`),
          '',
        ].join('\n');
        writeFileSync(join(folder.dir, 'decomposition.csv'), csv(rows));
        writeFileSync(join(folder.dir, 'decomposition.md'), md);
        process.stdout.write(`${formatTable(headers, cells, true)}\n\nwrote ${join(folder.dir, 'decomposition.csv')} and decomposition.md\n`);
      } catch (e) {
        releaseRunFolder(folder);
        throw e;
      }
    }),
  );
}
