/** `geobed trace gen|convert|show`: bandwidth traces. */
import type { Argv } from 'yargs';
import { readText, writeChunks } from '../util/files.js';
import { MAX_TRACE_ROWS } from '../model/limits.js';
import { generatorSpec } from '../scenario/schema.js';
import { flattenIssues } from '../scenario/issues.js';
import { convertMahimahi } from '../scenario/traces/mahimahi.js';
import { expectedRows, generateTrace, generatorProblem, GENERATORS } from '../scenario/traces/generators.js';
import { formatTraceCsv, readTraceCsv, traceCsvChunks } from '../scenario/traces/csv.js';
import { sparkline, traceStats } from '../scenario/traces/stats.js';
import { traceFromTable } from '../scenario/traces/piecewise.js';
import { type Trace } from '../model/trace.js';
import { UserError } from '../util/errors.js';
import { guarded } from './common.js';

/** The trace subcommands. */
export function traceCommands(y: Argv): Argv {
  return y
    .command(
      'gen <generator>',
      'generate a seeded trace as CSV',
      (c) => c
        .positional('generator', { choices: GENERATORS, demandOption: true })
        .option('seconds', { type: 'number', default: 600, describe: 'length of the trace' })
        .option('seed', { type: 'number', default: 1 })
        .option('min-mbps', { type: 'number' }).option('max-mbps', { type: 'number' })
        .option('start-mbps', { type: 'number' }).option('step-mbps', { type: 'number' })
        .option('on-mbps', { type: 'number' }).option('mean-on-s', { type: 'number' }).option('mean-off-s', { type: 'number' })
        .option('mbps', { type: 'string', describe: 'steps: comma-separated rates' })
        .option('period-s', { type: 'number' })
        .option('draw', { type: 'number', describe: 'redraw-randint: this link\'s place among each period\'s draws (--seed is the script\'s random.seed)' })
        .option('draws-per-period', { type: 'number', describe: 'redraw-randint: how many links the script redraws each period' })
        .option('out', { type: 'string', describe: 'write here instead of stdout' }),
      guarded((a) => {
        const raw: Record<string, unknown> = { generator: a.generator };
        const fields: [string, unknown][] = [
          ['min_mbps', a['min-mbps']], ['max_mbps', a['max-mbps']], ['start_mbps', a['start-mbps']], ['step_mbps', a['step-mbps']],
          ['on_mbps', a['on-mbps']], ['mean_on_s', a['mean-on-s']], ['mean_off_s', a['mean-off-s']], ['period_s', a['period-s']],
          ['mbps', a.mbps === undefined ? undefined : String(a.mbps).split(',').map(Number)],
          ['draw', a.draw], ['draws_per_period', a['draws-per-period']],
        ];
        if (a.generator === 'redraw-randint') raw.seed = a.seed;
        for (const [k, v] of fields) if (v !== undefined) raw[k] = v;
        const parsed = generatorSpec.safeParse(raw);
        if (!parsed.success) {
          const lines = flattenIssues(parsed.error.issues).map((i) => `--${String(i.path[0] ?? '').replace(/_/g, '-')}: ${i.message}`);
          throw new UserError(`trace gen ${a.generator}: ${lines.join('; ')}`);
        }
        if (!(a.seconds > 0 && Number.isFinite(a.seconds))) throw new UserError(`--seconds: expected a number > 0, got ${a.seconds}`);
        if (!Number.isSafeInteger(a.seed) || a.seed < 0) throw new UserError(`--seed: expected a whole number >= 0, got ${a.seed}`);
        // (the same check as a scenario's generator gets; its fields named as flags)
        const wrong = generatorProblem(parsed.data, (field) => `--${field.replace(/_/g, '-')}`);
        if (wrong) throw new UserError(`trace gen ${a.generator}: ${wrong.message}`);
        const rows = expectedRows(parsed.data, a.seconds);
        if (rows > MAX_TRACE_ROWS) {
          throw new UserError(
            `trace gen: ${a.seconds} s at one rate every ${rows > 0 ? (a.seconds / rows).toPrecision(3) : '?'} s is about ${rows.toExponential(1)} rows, more than geobed writes (${MAX_TRACE_ROWS}); ` +
            'shorten --seconds, lengthen the period, or put the generator in the scenario (it draws rates as the run needs them)',
          );
        }
        writeChunks(a.out, traceCsvChunks(generateTrace(parsed.data, a.seed, 'cli'), a.seconds));
      }),
    )
    .command(
      'convert <file>',
      'convert a Mahimahi trace (one delivery opportunity per line, in ms: one 1500-byte IP packet) to time_s,mbps (Ethernet frames, as every geobed rate)',
      (c) => c
        .positional('file', { type: 'string', demandOption: true })
        .option('bin-ms', { type: 'number', default: 100, describe: 'width of each rate bin' })
        .option('out', { type: 'string' }),
      guarded((a) => {
        const note = `# ${a.file}: each delivery opportunity (1504 bytes with Mahimahi's 4-byte TUN header: one 1500-byte IP packet) as a 1514-byte Ethernet frame, as every geobed rate counts\n`;
        writeChunks(a.out, [note + formatTraceCsv(convertMahimahi(readText(a.file, 'Mahimahi trace'), a.file, a['bin-ms']))]);
      }),
    )
    .command(
      'show <file>',
      'print a trace\'s min / mean / max and a sparkline',
      (c) => c
        .positional('file', { type: 'string', demandOption: true })
        .option('mahimahi', { type: 'boolean', default: false, describe: 'the file is a Mahimahi trace' })
        .option('bin-ms', { type: 'number', default: 100 })
        .option('seconds', { type: 'number', describe: 'how much to show (default: the whole trace)' }),
      guarded((a) => {
        const table = a.mahimahi ? convertMahimahi(readText(a.file, 'Mahimahi trace'), a.file, a['bin-ms']) : readTraceCsv(a.file);
        const n = table.times.length;
        const natural = n > 1 ? table.times[n - 1] + (table.times[n - 1] - table.times[n - 2]) : 1;
        const seconds = a.seconds ?? natural;
        const trace: Trace = traceFromTable(table, false);
        const s = traceStats(trace, seconds);
        process.stdout.write(
          `${a.file}: ${n} rows over ${seconds} s\n` +
          `  min ${s.min.toFixed(3)}  mean ${s.mean.toFixed(3)}  max ${s.max.toFixed(3)} Mbit/s (mean weighted by time)\n` +
          `  ${sparkline(trace, seconds)}\n`,
        );
      }),
    )
    .demandCommand(1, 'name a trace command: gen, convert or show');
}
