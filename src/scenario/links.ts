/**
 * A scenario's links: a sparse list (each link two directed links, with
 * link_defaults) or a full mesh (a matrix or one spec; 0 in the matrix is
 * no link), each directed link with its own trace: a constant, a trace
 * file, a Mahimahi trace or a seeded generator.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Trace } from '../model/trace.js';
import { MAX_DIRECTED_LINKS, MAX_MBPS } from '../model/limits.js';
import { UserError } from '../util/errors.js';
import { readText, regularFileSize } from '../util/files.js';
import type { BandwidthSpec, DelaySpec, LossSpec, RateSpec, ScenarioInput } from './schema.js';
import type { DirectedLinkSpec, OverTime } from './types.js';
import { convertMahimahi } from './traces/mahimahi.js';
import { generateTrace, generatorProblem } from './traces/generators.js';
import { DELAY_COLUMN, LOSS_COLUMN, readTraceCsv, type TraceColumn } from './traces/csv.js';
import { traceFromTable, PiecewiseTrace, type TraceTable } from './traces/piecewise.js';
import { max, min } from 'simple-statistics';

export type Problem = (path: (string | number)[], message: string) => void;

/** What expanding links needs, and where it puts them. */
export interface LinkContext {
  baseDir: string;
  seed: number;
  nodes: string[];
  known: Set<string>;
  problem: Problem;
  checkNode: (path: (string | number)[], name: string) => void;
  links: DirectedLinkSpec[];
  /** Trace files read, path -> sha256 (for the manifest: a run can be checked against its inputs). */
  inputFiles: Map<string, string>;
}

/** Note a trace file the scenario reads (its content's sha256; an unreadable file is the reader's problem to report). */
function noteFile(ctx: LinkContext, path: string): void {
  if (ctx.inputFiles.has(path)) return;
  try {
    regularFileSize(path, 'trace file'); // (a FIFO would wait for a writer for ever)
    ctx.inputFiles.set(path, createHash('sha256').update(readFileSync(path)).digest('hex'));
  } catch {
    // (reported where it is read)
  }
}

interface LinkProps { delay_ms?: DelaySpec; jitter_ms?: number; reorder?: boolean; loss_percent?: LossSpec; queue_packets?: number }

/** The directed links of the scenario's `links` or `mesh` (problems go to ctx.problem). */
export function expandLinks(input: ScenarioInput, ctx: LinkContext): DirectedLinkSpec[] {
  if (input.links && input.mesh) ctx.problem(['mesh'], 'give either links or mesh, not both');
  if (!input.links && !input.mesh) ctx.problem([], 'missing links or mesh: the scenario needs a topology');
  if (input.links && !input.mesh) sparseLinks(input, ctx);
  if (input.mesh && !input.links) meshLinks(input, ctx);
  return ctx.links;
}

function sparseLinks(input: ScenarioInput, ctx: LinkContext): void {
  const defaults = input.link_defaults ?? {};
  const seen = new Set<string>();
  input.links!.forEach((link, i) => {
    const [a, b] = link.between;
    ctx.checkNode(['links', i, 'between', 0], a);
    ctx.checkNode(['links', i, 'between', 1], b);
    if (a === b) ctx.problem(['links', i, 'between'], `a link needs two different nodes, got "${a}" twice`);
    const key = [a, b].sort().join('\u0000');
    if (seen.has(key)) ctx.problem(['links', i, 'between'], `duplicate link between "${a}" and "${b}"`);
    seen.add(key);
    if (!ctx.known.has(a) || !ctx.known.has(b) || a === b) return;
    const props = { ...defaults, ...stripUndefined(link) };
    const bw: BandwidthSpec | undefined = props.bandwidth;
    // a missing bandwidth is this link's problem; a bad default is link_defaults'
    const path = link.bandwidth === undefined && bw !== undefined ? ['link_defaults', 'bandwidth'] : ['links', i, 'bandwidth'];
    const propsPath: PropsPath = (field) => (link[field] !== undefined ? ['links', i, field] : ['link_defaults', field]);
    if (bw !== undefined && typeof bw === 'object' && 'forward' in bw) {
      addDirected(ctx, a, b, bw.forward, [...path, 'forward'], props, propsPath);
      addDirected(ctx, b, a, bw.reverse, [...path, 'reverse'], props, propsPath);
    } else {
      addDirected(ctx, a, b, bw as RateSpec | undefined, path, props, propsPath);
      addDirected(ctx, b, a, bw as RateSpec | undefined, path, props, propsPath);
    }
  });
}

function meshLinks(input: ScenarioInput, ctx: LinkContext): void {
  const mesh = input.mesh!;
  const n = ctx.nodes.length;
  const checkMatrix = (m: number[][], field: string) => {
    if (m.length !== n || m.some((row) => row.length !== n)) {
      ctx.problem(['mesh', field], `expected a ${n} x ${n} matrix (one row and column per node), got ${m.length} rows of ${m.map((r) => r.length).join('/')}`);
      return false;
    }
    return true;
  };
  if (!mesh.bandwidth_mbps === !mesh.bandwidth) ctx.problem(['mesh'], 'give exactly one of bandwidth_mbps (a matrix) or bandwidth');
  if (n * (n - 1) > MAX_DIRECTED_LINKS) {
    ctx.problem(['nodes'], `a full mesh of ${n} nodes has ${n * (n - 1)} directed links, more than geobed holds (${MAX_DIRECTED_LINKS}); use a sparse list of links`);
    return;
  }
  const delays = mesh.delay_ms;
  const okBw = !mesh.bandwidth_mbps || checkMatrix(mesh.bandwidth_mbps, 'bandwidth_mbps');
  const okDelay = !Array.isArray(delays) || checkMatrix(delays, 'delay_ms');
  if (okBw && okDelay && (mesh.bandwidth_mbps || mesh.bandwidth)) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        // the diagonal is no link, and neither is a 0 in the matrix (one spec for every link is taken as given)
        if (i === j || mesh.bandwidth_mbps?.[i][j] === 0) continue;
        const spec: RateSpec = mesh.bandwidth_mbps ? mesh.bandwidth_mbps[i][j] : mesh.bandwidth!;
        const path = mesh.bandwidth_mbps ? ['mesh', 'bandwidth_mbps', i, j] : ['mesh', 'bandwidth'];
        addDirected(ctx, ctx.nodes[i], ctx.nodes[j], spec, path, {
          delay_ms: Array.isArray(delays) ? delays[i][j] : delays,
          jitter_ms: mesh.jitter_ms,
          reorder: mesh.reorder,
          loss_percent: mesh.loss_percent,
          queue_packets: mesh.queue_packets,
        }, (field) => ['mesh', field]);
      }
    }
  }
}

/** A data center's LAN: a link between each of its workers' nodes and its own node, both ways (forward: from the worker). */
export function addLanLinks(ctx: LinkContext, dc: string, workers: string[], lan: LinkProps & { bandwidth: BandwidthSpec }, pathOf: PropsPath): void {
  const bw = lan.bandwidth;
  const path = pathOf('bandwidth');
  for (const w of workers) {
    if (typeof bw === 'object' && 'forward' in bw) {
      addDirected(ctx, w, dc, bw.forward, [...path, 'forward'], lan, pathOf);
      addDirected(ctx, dc, w, bw.reverse, [...path, 'reverse'], lan, pathOf);
    } else {
      addDirected(ctx, w, dc, bw, path, lan, pathOf);
      addDirected(ctx, dc, w, bw, path, lan, pathOf);
    }
  }
}

function addDirected(ctx: LinkContext, from: string, to: string, spec: RateSpec | undefined, path: (string | number)[], props: LinkProps, propsPath: PropsPath): void {
  if (spec === undefined) {
    ctx.problem(path, 'missing; every link needs a bandwidth (here or in link_defaults)');
    return;
  }
  const name = `${from}->${to}`;
  const made = makeTrace(spec, name, path, ctx);
  const delay = overTime(props.delay_ms, DELAY_COLUMN, `${name} delay`, propsPath('delay_ms'), ctx);
  const loss = overTime(props.loss_percent, LOSS_COLUMN, `${name} loss`, propsPath('loss_percent'), ctx);
  if (!made || delay === undefined || loss === undefined) return;
  if (made.maxMbps !== undefined && made.maxMbps > MAX_MBPS) {
    ctx.problem(path, `a rate of ${made.maxMbps} Mbit/s is above the largest geobed accepts (${MAX_MBPS} Mbit/s, 1 Tbit/s)`);
    return;
  }
  const constant = (v: DelaySpec | LossSpec | undefined) => (typeof v === 'number' ? v : 0);
  // Jitter beyond the delay would be cut at 0 on one side only, so the mean delay would grow past delay_ms
  // (an emulated run took 8x the simulated time); the simulator runs delay_ms, jitter's mean.
  const leastDelay = delay ? delay.min : constant(props.delay_ms);
  if ((props.jitter_ms ?? 0) > leastDelay) {
    ctx.problem(propsPath('jitter_ms'), `jitter_ms (${props.jitter_ms}) must not exceed ${delay ? 'the smallest delay_ms the link has' : 'delay_ms'} (${leastDelay}): ` +
      'a packet\'s delay is uniform in delay_ms +- jitter_ms, and below 0 it would be cut, raising the mean delay above delay_ms');
    return;
  }
  ctx.links.push({
    id: ctx.links.length, from, to, name,
    delayS: (delay ? delay.trace.rateAt(0) : constant(props.delay_ms)) / 1000,
    maxDelayS: (delay ? delay.max : constant(props.delay_ms)) / 1000,
    delayOverTime: delay,
    jitterS: (props.jitter_ms ?? 0) / 1000,
    reorder: props.reorder ?? false,
    lossPercent: loss ? loss.trace.rateAt(0) : constant(props.loss_percent),
    lossOverTime: loss,
    queuePackets: props.queue_packets ?? null,
    trace: made.trace, rateSource: made.source, mahimahi: made.mahimahi ?? null,
  });
}

/** Where a link's delay_ms or loss_percent was given (for its problems). */
type PropsPath = (field: 'bandwidth' | 'delay_ms' | 'jitter_ms' | 'loss_percent') => (string | number)[];

/**
 * A delay or loss that changes over time, as a trace of its values (ms or
 * percent); null when it is a constant (or not given); undefined when it
 * has a problem (reported).
 */
function overTime(spec: DelaySpec | LossSpec | undefined, column: TraceColumn, label: string, path: (string | number)[], ctx: LinkContext): OverTime | null | undefined {
  if (spec === undefined || typeof spec === 'number') return null;
  if ('trace' in spec) {
    const tracePath = resolve(ctx.baseDir, spec.trace);
    noteFile(ctx, tracePath);
    try {
      const table = readTraceCsv(tracePath, column);
      return { trace: traceFromTable(table, spec.loop, spec.duration_s), max: max(table.mbps), min: min(table.mbps), source: `trace ${spec.trace}${spec.loop ? ' (looped)' : ''}` };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      ctx.problem([...path, 'trace'], e.message);
      return undefined;
    }
  }
  const unit = column === DELAY_COLUMN ? 'ms' : 'percent';
  const g = spec as Record<string, unknown> & { generator: string; period_s: number };
  const field = (name: string) => g[`${name}_${unit}`] as number;
  const source = `generator ${spec.generator}`;
  if (g.generator === 'steps') {
    const values = g[unit] as number[];
    return { trace: generateTrace({ generator: 'steps', mbps: values, period_s: g.period_s, loop: g.loop as boolean }, ctx.seed, label), max: Math.max(...values), min: Math.min(...values), source };
  }
  if (field('min') > field('max')) {
    ctx.problem([...path, `min_${unit}`], `min_${unit} (${field('min')}) must not exceed max_${unit} (${field('max')})`);
    return undefined;
  }
  if (g.generator === 'redraw-uniform') {
    return { trace: generateTrace({ generator: 'redraw-uniform', min_mbps: field('min'), max_mbps: field('max'), period_s: g.period_s }, ctx.seed, label), max: field('max'), min: field('min'), source };
  }
  if (field('start') < field('min') || field('start') > field('max')) {
    ctx.problem([...path, `start_${unit}`], `start_${unit} (${field('start')}) must lie in [min_${unit}, max_${unit}]`);
    return undefined;
  }
  const walk = { generator: 'random-walk' as const, start_mbps: field('start'), step_mbps: field('step'), min_mbps: field('min'), max_mbps: field('max'), period_s: g.period_s };
  return { trace: generateTrace(walk, ctx.seed, label), max: field('max'), min: field('min'), source };
}

interface MadeTrace {
  trace: Trace;
  source: string;
  mahimahi?: string;
  maxMbps?: number;
}

function makeTrace(spec: RateSpec, label: string, path: (string | number)[], ctx: LinkContext): MadeTrace | null {
  if (typeof spec === 'number') return { trace: PiecewiseTrace.constant(spec), source: `${spec} Mbit/s` };
  if ('mahimahi' in spec) {
    const tracePath = resolve(ctx.baseDir, spec.mahimahi);
    noteFile(ctx, tracePath);
    try {
      const table = convertMahimahi(readText(tracePath, 'Mahimahi trace'), tracePath, spec.bin_ms);
      return { trace: traceFromTable(table, true, table.periodS), source: `mahimahi ${spec.mahimahi}`, mahimahi: tracePath, maxMbps: table.mbps.reduce((a, b) => Math.max(a, b), 0) };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      ctx.problem([...path, 'mahimahi'], e.message);
      return null;
    }
  }
  if ('trace' in spec) {
    const tracePath = resolve(ctx.baseDir, spec.trace);
    noteFile(ctx, tracePath);
    let table: TraceTable;
    try {
      table = readTraceCsv(tracePath);
    } catch (e) {
      ctx.problem([...path, 'trace'], (e as Error).message);
      return null;
    }
    const scaled = spec.scale === 1 ? table : { times: table.times, mbps: table.mbps.map((r) => r * spec.scale) };
    return {
      trace: traceFromTable(scaled, spec.loop, spec.duration_s), source: `trace ${spec.trace}${spec.loop ? ' (looped)' : ''}`,
      maxMbps: scaled.mbps.reduce((a, b) => Math.max(a, b), 0),
    };
  }
  const wrong = generatorProblem(spec);
  if (wrong) {
    ctx.problem([...path, wrong.field], wrong.message);
    return null;
  }
  return { trace: generateTrace(spec, ctx.seed, label), source: `generator ${spec.generator}` };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Every node must reach every other over directed links (a mesh may leave out one direction). */
export function checkConnected(nodes: string[], links: DirectedLinkSpec[], problem: Problem): void {
  const reached = (forward: boolean) => {
    const adjacent = new Map<string, string[]>(nodes.map((n) => [n, []]));
    for (const l of links) adjacent.get(forward ? l.from : l.to)!.push(forward ? l.to : l.from);
    const seen = new Set([nodes[0]]);
    const stack = [nodes[0]];
    while (stack.length) for (const next of adjacent.get(stack.pop()!)!) if (!seen.has(next)) { seen.add(next); stack.push(next); }
    return nodes.filter((n) => !seen.has(n));
  };
  const unreachable = reached(true);
  const cannotReturn = reached(false);
  const list = (names: string[]) => (names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', '));
  if (unreachable.length) problem(['links'], `the topology is not connected: ${list(unreachable)} cannot be reached from ${nodes[0]}`);
  else if (cannotReturn.length) problem(['links'], `the topology is not connected: ${nodes[0]} cannot be reached from ${list(cannotReturn)}`);
}
