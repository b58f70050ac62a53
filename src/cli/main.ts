/** The geobed command line. */
import { existsSync } from 'node:fs';
import { readText, writeChunks } from '../util/files.js';
import { MAX_ITERATIONS, MAX_TRACE_ROWS } from '../model/limits.js';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadScenario } from '../scenario/load.js';
import { generatorSpec, scenarioJsonSchema } from '../scenario/schema.js';
import { SCHEDULER_NAMES } from '../sync/schedulers/index.js';
import { flattenIssues } from '../scenario/issues.js';
import { convertMahimahi } from '../scenario/traces/mahimahi.js';
import { expectedRows, generateTrace, GENERATORS } from '../scenario/traces/generators.js';
import { formatTraceCsv, readTraceCsv, traceCsvChunks } from '../scenario/traces/csv.js';
import { sparkline, traceStats } from '../scenario/traces/stats.js';
import { traceFromTable } from '../scenario/traces/piecewise.js';
import { type Trace } from '../model/trace.js';
import { runScenario } from '../run/run.js';
import { UserError } from '../util/errors.js';
import { PACKAGE_ROOT, packageVersion } from '../util/paths.js';
import { ProgressBar } from './progress.js';
import { summaryTable, formatTable } from './table.js';
import type { Scenario } from '../scenario/types.js';
import { BACKEND_CHOICES, type BackendChoice } from '../train/choices.js';
import { LINK_BACKENDS, probeHost, type LinkBackend } from '../run/link-backends.js';
import { describeGroup, removeLeftovers } from '../net/emu/leftovers.js';
import { MANAGEMENT_MAX_NODES } from '../net/emu/management.js';
import { CONTROL_CHANNELS, type ControlChannel } from '../run/agent-protocol.js';
import { rebuildSummary } from '../results/rebuild.js';
import { DEFAULT_STALL_S } from '../run/watchdog.js';

type Handler<A> = (args: A) => void | Promise<void>;

/** Run a command handler; user mistakes print one clear message and exit non-zero. */
function guarded<A>(handler: Handler<A>): (args: A) => Promise<void> {
  return async (args) => {
    try {
      await handler(args);
    } catch (e) {
      if (e instanceof UserError) {
        process.stderr.write(e.message.split('\n').map((line) => `geobed: ${line}\n`).join(''));
        process.exit(e.exitCode);
      }
      throw e;
    }
  };
}

function list(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

interface RunFlags {
  out?: string;
  mode?: 'sim' | 'emu';
  links?: LinkBackend;
  control?: ControlChannel;
  backend?: BackendChoice;
  calibration?: string;
  stallTimeout?: number;
}

async function runAndReport(scenario: Scenario, command: string[], flags: RunFlags): Promise<void> {
  const mode = flags.mode ?? 'sim';
  if (flags.links && mode !== 'emu') throw new UserError('--links applies to --mode emu only');
  if (flags.control && mode !== 'emu') throw new UserError('--control applies to --mode emu only (simulated agents share the coordinator\'s process)');
  if (flags.control === 'tcp' && scenario.nodes.length > MANAGEMENT_MAX_NODES) {
    throw new UserError(`--control tcp: a management network addresses at most ${MANAGEMENT_MAX_NODES} nodes; ${scenario.file} has ${scenario.nodes.length} (use --control ipc)`);
  }
  if (flags.stallTimeout !== undefined && mode !== 'emu') throw new UserError('--stall-timeout applies to --mode emu only (the simulator finds stalls in virtual time)');
  if (flags.stallTimeout !== undefined && !(flags.stallTimeout > 0)) throw new UserError(`--stall-timeout: expected seconds > 0, got ${flags.stallTimeout}`);
  if (flags.backend && !scenario.workload.training) throw new UserError('--backend applies to scenarios that train (workload.train)');
  if (flags.calibration !== undefined && !scenario.workload.training) throw new UserError('--calibration applies to scenarios that train (workload.train)');
  const computeS = flags.calibration !== undefined ? readCalibration(flags.calibration) : undefined;
  const bar = new ProgressBar();
  const outcome = await runScenario(scenario, {
    mode, out: flags.out, command, links: flags.links, control: flags.control, backend: flags.backend, computeS, stallS: flags.stallTimeout,
    onProgress: (label, completed) => bar.update(label, completed, scenario.iterations),
    onNotice: (message) => {
      bar.finish();
      process.stderr.write(`geobed: ${message}\n`);
    },
  }).finally(() => bar.finish());
  process.stdout.write(`${scenario.name}: ${scenario.iterations} iterations of a ${(scenario.workload.totalBytes / 1e6).toFixed(1)} MB model (${scenario.workload.profile}), ${mode === 'emu' ? 'emulated' : 'simulated'}\n\n`);
  process.stdout.write(`${summaryTable(outcome.summary)}\n`);
  const training = scenario.workload.training;
  if (training) {
    const target = `${(training.targetAccuracy * 100).toFixed(0)}%`;
    process.stdout.write(`\ntraining (${outcome.trainingBackend}; accuracy.csv):\n${formatTable(
      ['scheduler', `time to ${target} s`, 'final test accuracy'],
      outcome.summary.map((r) => [r.scheduler, Number.isFinite(r.time_to_accuracy_s) ? r.time_to_accuracy_s.toFixed(2) : 'not reached', `${(r.final_test_accuracy * 100).toFixed(1)}%`]),
    ).replace(/^/gm, '  ')}\n`);
    if (mode === 'sim' && training.computeS === null && computeS === undefined) {
      process.stdout.write(`  compute time calibrated on this machine: ${(outcome.computeS * 1000).toFixed(3)} ms per step; ` +
        `repeat these results byte for byte with --calibration ${join(outcome.dir, 'manifest.json')}\n`);
    }
  }
  if (outcome.fidelity) {
    process.stdout.write(`\nfidelity (carried / allowed while links were busy, fidelity.csv; and the host CPUs):\n${outcome.fidelity.lines.map((l) => `  ${l}\n`).join('')}`);
    if (outcome.fidelity.flagged) process.stderr.write('geobed: warning: some links carried less than their traces allowed while busy, or the CPUs were saturated; this host could not keep up, so treat the emulated times with care\n');
  }
  process.stdout.write(`\nresults: ${outcome.dir}\n`);
}

/**
 * --calibration: the compute time per step of an earlier run, from its
 * manifest.json (or its results folder), so a simulated training run
 * repeats it byte for byte.
 */
function readCalibration(path: string): number {
  const file = existsSync(join(path, 'manifest.json')) ? join(path, 'manifest.json') : path;
  let manifest: { training?: { compute_s?: unknown } };
  try {
    manifest = JSON.parse(readText(file, 'calibration (a results folder\'s manifest.json)')) as typeof manifest;
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`--calibration: ${e.message}`);
    throw new UserError(`--calibration: ${file}: not JSON (${(e as Error).message})`);
  }
  const computeS = manifest.training?.compute_s;
  if (typeof computeS !== 'number' || !(computeS >= 0)) throw new UserError(`--calibration: ${file}: no training.compute_s (expected the manifest.json of a run that trained)`);
  return computeS;
}

/** Directed links `validate` lists unless asked for all of them. */
const LINKS_SHOWN = 50;

function describeScenario(s: Scenario, all: boolean): string {
  const jitter = (l: Scenario['links'][number]) => (l.jitterS > 0 ? ` +-${(l.jitterS * 1000).toFixed(1)}${l.reorder ? ' (reorders)' : ''}` : '');
  const shown = all ? s.links : s.links.slice(0, LINKS_SHOWN);
  const rows = shown.map((l) => [l.name, l.rateSource, `${(l.delayS * 1000).toFixed(1)}${jitter(l)}`, `${l.lossPercent}`]);
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

function traceCommands(y: Argv): Argv {
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
        .option('out', { type: 'string', describe: 'write here instead of stdout' }),
      guarded((a) => {
        const raw: Record<string, unknown> = { generator: a.generator };
        const fields: [string, unknown][] = [
          ['min_mbps', a['min-mbps']], ['max_mbps', a['max-mbps']], ['start_mbps', a['start-mbps']], ['step_mbps', a['step-mbps']],
          ['on_mbps', a['on-mbps']], ['mean_on_s', a['mean-on-s']], ['mean_off_s', a['mean-off-s']], ['period_s', a['period-s']],
          ['mbps', a.mbps === undefined ? undefined : String(a.mbps).split(',').map(Number)],
        ];
        for (const [k, v] of fields) if (v !== undefined) raw[k] = v;
        const parsed = generatorSpec.safeParse(raw);
        if (!parsed.success) {
          const lines = flattenIssues(parsed.error.issues).map((i) => `--${String(i.path[0] ?? '').replace(/_/g, '-')}: ${i.message}`);
          throw new UserError(`trace gen ${a.generator}: ${lines.join('; ')}`);
        }
        if (!(a.seconds > 0 && Number.isFinite(a.seconds))) throw new UserError(`--seconds: expected a number > 0, got ${a.seconds}`);
        if (!Number.isSafeInteger(a.seed) || a.seed < 0) throw new UserError(`--seed: expected a whole number >= 0, got ${a.seed}`);
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
      'convert a Mahimahi trace (one 1504-byte delivery opportunity per line, in ms) to time_s,mbps',
      (c) => c
        .positional('file', { type: 'string', demandOption: true })
        .option('bin-ms', { type: 'number', default: 100, describe: 'width of each rate bin' })
        .option('out', { type: 'string' }),
      guarded((a) => {
        writeChunks(a.out, [formatTraceCsv(convertMahimahi(readText(a.file, 'Mahimahi trace'), a.file, a['bin-ms']))]);
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


export function main(argv: string[]): void {
  const command = ['geobed', ...argv];
  yargs(argv)
    .scriptName('geobed')
    .strict()
    .command(
      'run <scenario>',
      'run a scenario and write results/<run>/',
      (c) => c
        .positional('scenario', { type: 'string', demandOption: true, describe: 'scenario YAML file' })
        .option('mode', { choices: ['sim', 'emu'] as const, default: 'sim' as const, describe: 'simulated or emulated' })
        .option('links', { choices: LINK_BACKENDS, describe: 'emulated links: kernel (htb, netem) or geobed\'s native emulator (default: kernel, or native when links need delay or loss and the kernel has no netem)' })
        .option('control', { choices: CONTROL_CHANNELS, describe: 'emulated: the agents\' control channel, their IPC channels (default) or TCP over an unshaped management network (198.19.128.0/17)' })
        .option('schedulers', { type: 'string', describe: 'comma-separated labels or names to run (default: the scenario\'s)' })
        .option('seed', { type: 'number', describe: 'override the scenario seed' })
        .option('iterations', { type: 'number', describe: 'override the number of iterations' })
        .option('profile', { type: 'string', describe: 'override the model profile (alexnet, resnet50, vgg16); with train, the profile the exchange is padded to' })
        .option('backend', { choices: BACKEND_CHOICES, describe: 'training: the TensorFlow.js backend (default: the best available: tensorflow-gpu, tensorflow, wasm, cpu)' })
        .option('calibration', { type: 'string', describe: 'training, simulated: reuse the compute time of an earlier run (its folder or manifest.json), for byte-identical results' })
        .option('stall-timeout', { type: 'number', describe: `emulated: fail the run after this many seconds without progress, saying what waits on what (default ${DEFAULT_STALL_S})` })
        .option('out', { type: 'string', describe: 'results folder (default results/<scenario>-<profile>-<mode>-<time>-seed<seed>)' }),
      guarded(async (a) => {
        if (a.seed !== undefined && !(Number.isSafeInteger(a.seed) && a.seed >= 0)) throw new UserError(`--seed: expected a whole number >= 0, got ${a.seed}`);
        if (a.iterations !== undefined && !(Number.isInteger(a.iterations) && a.iterations > 0 && a.iterations <= MAX_ITERATIONS)) {
          throw new UserError(`--iterations: expected a whole number from 1 to ${MAX_ITERATIONS}, got ${a.iterations}`);
        }
        const scenario = loadScenario(a.scenario, {
          seed: a.seed, iterations: a.iterations, schedulers: list(a.schedulers), profile: a.profile,
        });
        await runAndReport(scenario, command, {
          out: a.out, mode: a.mode, links: a.links, control: a.control, backend: a.backend, calibration: a.calibration, stallTimeout: a['stall-timeout'],
        });
      }),
    )
    .command(
      'validate <scenario>',
      'check a scenario file and describe it',
      (c) => c.positional('scenario', { type: 'string', demandOption: true })
        .option('all', { type: 'boolean', default: false, describe: `list every directed link (default: the first ${LINKS_SHOWN})` }),
      guarded((a) => {
        process.stdout.write(`${describeScenario(loadScenario(a.scenario), a.all)}\n`);
      }),
    )
    .command(
      'demo',
      'run the quickstart scenario with every scheduler and print the comparison',
      (c) => c.option('out', { type: 'string', describe: 'results folder' }),
      guarded(async (a) => {
        const file = join(PACKAGE_ROOT, 'scenarios', 'quickstart.yaml');
        if (!existsSync(file)) throw new UserError(`cannot find ${file}`);
        const scenario = loadScenario(file, { schedulers: [...SCHEDULER_NAMES] });
        await runAndReport(scenario, command, { out: a.out });
      }),
    )
    .command('trace', 'generate, convert and inspect bandwidth traces', traceCommands)
    .command(
      'doctor',
      'report what this host can do: root, iproute2, qdiscs, TUN, CPUs, and which modes work',
      (c) => c.option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }),
      async (a) => {
        const report = await probeHost();
        if (a.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const yes = (b: boolean) => (b ? 'yes' : 'no');
        process.stdout.write(`${formatTable(['check', 'result'], [
          ['root', yes(report.root)],
          ['iproute2', report.iproute2 ?? 'missing'],
          ['tc', yes(report.tc)],
          ['network namespaces', yes(report.namespaces)],
          ['qdisc htb', yes(report.qdiscs.htb)],
          ['qdisc tbf', yes(report.qdiscs.tbf)],
          ['qdisc netem', yes(report.qdiscs.netem)],
          ['TUN (/dev/net/tun)', yes(report.tun)],
          ['CPUs', String(report.cpus)],
          ['mode sim', report.modes.sim],
          ['mode emu, rate-only links', report.modes.emuRateOnly],
          ['mode emu, delay or loss', report.modes.emuDelayLoss],
        ], true)}\n`);
      },
    )
    .command(
      'clean',
      'remove the namespaces of emulated runs whose process is gone (killed, crashed); a live run\'s are kept unless --force',
      (c) => c.option('force', { type: 'boolean', default: false, describe: 'also remove the namespaces of runs that are still going' }),
      guarded(async (a) => {
        if (process.getuid?.() !== 0) throw new UserError('clean needs root (it deletes network namespaces)');
        const { removed, live } = await removeLeftovers({ force: a.force });
        for (const g of removed) process.stdout.write(`removed ${describeGroup(g)}\n`);
        for (const g of live) process.stdout.write(`kept ${describeGroup(g)}: still running (geobed clean --force removes it)\n`);
        if (!removed.length && !live.length) process.stdout.write('nothing to clean\n');
      }),
    )
    .command(
      'summarize <folder>',
      'rebuild a results folder\'s summary.csv from its iterations (a run killed before it wrote one) and print it',
      (c) => c.positional('folder', { type: 'string', demandOption: true }),
      guarded(async (a) => {
        const rebuilt = await rebuildSummary(a.folder);
        process.stdout.write(`${a.folder}: ${rebuilt.iterations} finished iterations, status ${rebuilt.status}${rebuilt.markedInterrupted ? ' (its process is gone: marked interrupted)' : ''}\n\n`);
        process.stdout.write(`${summaryTable(rebuilt.summary)}\n\nwrote ${join(a.folder, 'summary.csv')}\n`);
      }),
    )
    .command(
      'schema',
      'print the scenario JSON Schema (for editor completion)',
      (c) => c.option('out', { type: 'string' }),
      guarded((a) => {
        writeChunks(a.out, [`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`]);
      }),
    )
    .demandCommand(1, 'name a command (try: geobed demo)')
    .fail((msg, err) => {
      if (err) throw err;
      const known = ['run', 'validate', 'demo', 'trace', 'schema', 'doctor', 'clean', 'summarize'];
      const usage = known.includes(argv[0]) ? `geobed ${argv[0]} --help` : 'geobed --help';
      process.stderr.write(`geobed: ${msg}\nRun "${usage}" for usage.\n`);
      process.exit(2);
    })
    .help()
    // as wide as the terminal (at most 100), so help never wraps mid-word
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .version(packageVersion())
    .parseAsync();
}

// Output piped into a reader that closed early (geobed ... | head): stop printing, but let a run finish and clean up.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
});
main(hideBin(process.argv));
