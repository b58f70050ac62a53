/** `geobed validate`, `trace` and `schema`: check and describe a scenario; its traces; the scenario JSON Schema. */
import type { Argv } from 'yargs';
import { writeChunks } from '../util/files.js';
import { loadScenario } from '../scenario/load.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { sweepJsonSchema } from '../sweep/spec.js';
import type { Scenario } from '../scenario/types.js';
import { guarded } from './common.js';
import { formatTable } from './table.js';
import { traceCommands } from './trace-commands.js';

/** validate, trace, schema */
export function scenarioCommands(y: Argv): Argv {
  return y
    .command(
      'validate <scenario>',
      'check a scenario file and describe it',
      (c) => c.positional('scenario', { type: 'string', demandOption: true })
        .option('all', { type: 'boolean', default: false, describe: `list every directed link (default: the first ${LINKS_SHOWN})` }),
      guarded((a) => {
        process.stdout.write(`${describeScenario(loadScenario(a.scenario), a.all)}\n`);
      }),
    )    .command('trace', 'generate, convert and inspect bandwidth traces', traceCommands)
    .command(
      'schema',
      'print the scenario JSON Schema (for editor completion); --sweep: the sweep file\'s',
      (c) => c.option('out', { type: 'string' }).option('sweep', { type: 'boolean', describe: 'the sweep file\'s schema instead' }),
      guarded((a) => {
        writeChunks(a.out, [`${JSON.stringify(a.sweep ? sweepJsonSchema() : scenarioJsonSchema(), null, 2)}\n`]);
      }),
    );
}

/** Directed links `validate` lists unless asked for all of them. */
const LINKS_SHOWN = 50;

function describeScenario(s: Scenario, all: boolean): string {
  const jitter = (l: Scenario['links'][number]) => (l.jitterS > 0 ? ` +-${(l.jitterS * 1000).toFixed(1)}${l.reorder ? ' (reorders)' : ''}` : '');
  const shown = all ? s.links : s.links.slice(0, LINKS_SHOWN);
  const rows = shown.map((l) => [
    l.name, l.rateSource, `${l.delayOverTime ? l.delayOverTime.source : (l.delayS * 1000).toFixed(1)}${jitter(l)}`, l.lossOverTime ? l.lossOverTime.source : `${l.lossPercent}`,
  ]);
  const more = s.links.length - shown.length;
  return [
    `${s.file}: ok`,
    `  ${s.name}: ${s.nodes.length} nodes (${s.workers.length} workers), ${s.links.length} directed links, seed ${s.seed}, ${s.iterations} iterations`,
    s.workload.training ? trainingLine(s) : `  workload: ${s.workload.profile}, ${(s.workload.totalBytes / 1e6).toFixed(1)} MB in ${s.workload.arrays.length} arrays, compute ${(s.workload.computeS * 1000).toFixed(0)} ms`,
    `  schedulers: ${s.schedulers.map((c) => c.label).join(', ')}`,
    '',
    formatTable(['link', 'rate', 'delay ms', 'loss %'], rows).replace(/^/gm, '  '),
    ...(more > 0 ? [`  ... and ${more} more directed links (geobed validate --all lists every one)`] : []),
  ].join('\n');
}

function trainingLine(s: Scenario): string {
  const t = s.workload.training!;
  const data = t.dataset.kind === 'mnist' ? 'the mnist package\'s digits' : t.dataset.kind === 'synthetic' ? `${t.dataset.samples} synthetic samples` : `${t.dataset.kind.toUpperCase()} data`;
  const compute = t.computeS === null ? 'compute time calibrated at run time' : `compute ${(t.computeS * 1000).toFixed(0)} ms (simulated)`;
  return `  workload: train ${t.model} (${t.modelElements} parameters) on ${data}, ${t.optimizer.name} lr ${t.optimizer.learningRate}, batch ${t.batch} per worker; ` +
    `exchange ${(s.workload.totalBytes / 1e6).toFixed(1)} MB in ${s.workload.arrays.length} arrays${t.padProfile ? ` (padded to ${t.padProfile})` : ''}; ${compute}`;
}
