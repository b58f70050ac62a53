/**
 * Load a scenario file: parse YAML (keeping line numbers), validate against
 * the schema, check what a schema cannot (node names, trace files, servers),
 * and expand links and traces into a `Scenario`.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { scenarioSpec, type ScenarioInput, type RateSpec, type BandwidthSpec, type SchedulerSpec } from './schema.js';
import { flattenIssues, formatPath, type FieldIssue } from './issues.js';
import { convertMahimahi, generateTrace, readTraceCsv, traceFromTable, PiecewiseTrace, type Trace, type TraceTable } from './trace.js';
import { PROFILES, totalElements, type ModelArray } from '../train/profiles.js';
import type { DirectedLinkSpec, Scenario, SchedulerConfig, Training, Workload } from './types.js';
import type { DatasetSpec } from '../train/data.js';
import { MODEL_ARRAYS } from '../train/model-arrays.js';
import { UserError } from '../util/errors.js';
import { readText } from '../util/files.js';
import { MAX_DIRECTED_LINKS, MAX_MBPS } from './limits.js';

/** Thrown for any problem in a scenario file; the message lists every problem found. */
export class ScenarioError extends UserError {}

export interface LoadOptions {
  seed?: number;
  iterations?: number;
  /** Keep only these scheduler labels (or names), in this order. */
  schedulers?: string[];
  profile?: string;
}

export function loadScenario(file: string, options: LoadOptions = {}): Scenario {
  return parseScenario(readText(file, 'scenario file'), file, options);
}

export function parseScenario(text: string, file: string, options: LoadOptions = {}): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw new ScenarioError(lines.join('\n'));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // the yaml package refuses documents whose aliases would expand without bound ("billion laughs")
    throw new ScenarioError(`${file}: YAML: ${(e as Error).message.replace(/\.$/, '')}; expand the aliases by hand`);
  }
  const where = (path: (string | number)[]) => `${file}${lineOf(doc, lineCounter, path)}`;
  const fail = (issues: FieldIssue[]): never => {
    const lines = issues.map((i) => `${where(i.path)}: ${formatPath(i.path)}: ${i.message}`);
    throw new ScenarioError([...new Set(lines)].join('\n'));
  };

  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail([{ path: [], message: 'expected a mapping with name, nodes, links or mesh, workload, schedulers' }]);
  }
  const parsed = scenarioSpec.safeParse(raw);
  if (!parsed.success) fail(flattenIssues(parsed.error.issues));
  const input = parsed.data as ScenarioInput;

  const issues: FieldIssue[] = [];
  const problem = (path: (string | number)[], message: string) => issues.push({ path, message });
  const nodes = input.nodes.map((n) => (typeof n === 'string' ? n : n.name));
  const workers = input.nodes.filter((n) => typeof n === 'string' || n.worker).map((n) => (typeof n === 'string' ? n : n.name));
  const known = new Set<string>();
  nodes.forEach((n, i) => {
    if (known.has(n)) problem(['nodes', i], `duplicate node "${n}"`);
    known.add(n);
  });
  if (workers.length === 0) problem(['nodes'], 'at least one node must run a worker');
  const checkNode = (path: (string | number)[], name: string) => {
    if (!known.has(name)) problem(path, `unknown node "${name}"; nodes are ${nodes.join(', ')}`);
  };

  const baseDir = dirname(resolve(file));
  const seed = options.seed ?? input.seed;
  const links: DirectedLinkSpec[] = [];
  const makeTrace = (spec: RateSpec, label: string, path: (string | number)[]): { trace: Trace; source: string; mahimahi?: string; maxMbps?: number } | null => {
    if (typeof spec === 'number') return { trace: PiecewiseTrace.constant(spec), source: `${spec} Mbit/s` };
    if ('mahimahi' in spec) {
      const tracePath = resolve(baseDir, spec.mahimahi);
      try {
        const table = convertMahimahi(readText(tracePath, 'Mahimahi trace'), tracePath, spec.bin_ms);
        return { trace: traceFromTable(table, true, table.periodS), source: `mahimahi ${spec.mahimahi}`, mahimahi: tracePath, maxMbps: table.mbps.reduce((a, b) => Math.max(a, b), 0) };
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        problem([...path, 'mahimahi'], e.message);
        return null;
      }
    }
    if ('trace' in spec) {
      const tracePath = resolve(baseDir, spec.trace);
      let table: TraceTable;
      try {
        table = readTraceCsv(tracePath);
      } catch (e) {
        problem([...path, 'trace'], (e as Error).message);
        return null;
      }
      const scaled = spec.scale === 1 ? table : { times: table.times, mbps: table.mbps.map((r) => r * spec.scale) };
      return {
        trace: traceFromTable(scaled, spec.loop, spec.duration_s), source: `trace ${spec.trace}${spec.loop ? ' (looped)' : ''}`,
        maxMbps: scaled.mbps.reduce((a, b) => Math.max(a, b), 0),
      };
    }
    if ('min_mbps' in spec && 'max_mbps' in spec && spec.min_mbps > spec.max_mbps) {
      problem([...path, 'min_mbps'], `min_mbps (${spec.min_mbps}) must not exceed max_mbps (${spec.max_mbps})`);
      return null;
    }
    if (spec.generator === 'random-walk' && (spec.start_mbps < spec.min_mbps || spec.start_mbps > spec.max_mbps)) {
      problem([...path, 'start_mbps'], `start_mbps (${spec.start_mbps}) must lie in [min_mbps, max_mbps]`);
      return null;
    }
    return { trace: generateTrace(spec, seed, label), source: `generator ${spec.generator}` };
  };
  const addDirected = (
    from: string, to: string, spec: RateSpec | undefined, path: (string | number)[],
    props: { delay_ms?: number; jitter_ms?: number; reorder?: boolean; loss_percent?: number; queue_packets?: number },
  ) => {
    if (spec === undefined) {
      problem(path, 'missing; every link needs a bandwidth (here or in link_defaults)');
      return;
    }
    const made = makeTrace(spec, `${from}->${to}`, path);
    if (!made) return;
    if (made.maxMbps !== undefined && made.maxMbps > MAX_MBPS) {
      problem(path, `a rate of ${made.maxMbps} Mbit/s is above the largest geobed accepts (${MAX_MBPS} Mbit/s, 1 Tbit/s)`);
      return;
    }
    links.push({
      id: links.length, from, to, name: `${from}->${to}`,
      delayS: (props.delay_ms ?? 0) / 1000,
      jitterS: (props.jitter_ms ?? 0) / 1000,
      reorder: props.reorder ?? false,
      lossPercent: props.loss_percent ?? 0,
      queuePackets: props.queue_packets ?? null,
      trace: made.trace, rateSource: made.source, mahimahi: made.mahimahi ?? null,
    });
  };

  if (input.links && input.mesh) problem(['mesh'], 'give either links or mesh, not both');
  if (!input.links && !input.mesh) problem([], 'missing links or mesh: the scenario needs a topology');
  if (input.links && !input.mesh) {
    const defaults = input.link_defaults ?? {};
    const seen = new Set<string>();
    input.links.forEach((link, i) => {
      const [a, b] = link.between;
      checkNode(['links', i, 'between', 0], a);
      checkNode(['links', i, 'between', 1], b);
      if (a === b) problem(['links', i, 'between'], `a link needs two different nodes, got "${a}" twice`);
      const key = [a, b].sort().join('\u0000');
      if (seen.has(key)) problem(['links', i, 'between'], `duplicate link between "${a}" and "${b}"`);
      seen.add(key);
      if (!known.has(a) || !known.has(b) || a === b) return;
      const props = { ...defaults, ...stripUndefined(link) };
      const bw: BandwidthSpec | undefined = props.bandwidth;
      // a missing bandwidth is this link's problem; a bad default is link_defaults'
      const path = link.bandwidth === undefined && bw !== undefined ? ['link_defaults', 'bandwidth'] : ['links', i, 'bandwidth'];
      if (bw !== undefined && typeof bw === 'object' && 'forward' in bw) {
        addDirected(a, b, bw.forward, [...path, 'forward'], props);
        addDirected(b, a, bw.reverse, [...path, 'reverse'], props);
      } else {
        addDirected(a, b, bw as RateSpec | undefined, path, props);
        addDirected(b, a, bw as RateSpec | undefined, path, props);
      }
    });
  }
  if (input.mesh && !input.links) {
    const mesh = input.mesh;
    const n = nodes.length;
    const checkMatrix = (m: number[][], field: string) => {
      if (m.length !== n || m.some((row) => row.length !== n)) {
        problem(['mesh', field], `expected a ${n} x ${n} matrix (one row and column per node), got ${m.length} rows of ${m.map((r) => r.length).join('/')}`);
        return false;
      }
      return true;
    };
    if (!mesh.bandwidth_mbps === !mesh.bandwidth) problem(['mesh'], 'give exactly one of bandwidth_mbps (a matrix) or bandwidth');
    if (n * (n - 1) > MAX_DIRECTED_LINKS) {
      fail([{ path: ['nodes'], message: `a full mesh of ${n} nodes has ${n * (n - 1)} directed links, more than geobed holds (${MAX_DIRECTED_LINKS}); use a sparse list of links` }]);
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
          addDirected(nodes[i], nodes[j], spec, path, {
            delay_ms: Array.isArray(delays) ? delays[i][j] : delays,
            jitter_ms: mesh.jitter_ms,
            reorder: mesh.reorder,
            loss_percent: mesh.loss_percent,
            queue_packets: mesh.queue_packets,
          });
        }
      }
    }
  }

  const workload = makeWorkload(input, options.profile, baseDir, problem);
  const schedulers = selectSchedulers(input.schedulers, options.schedulers);
  schedulers.forEach((s) => {
    const index = input.schedulers.indexOf(s);
    if ((s.name === 'mlnet' || s.name === 'tsengine') && s.server !== undefined) checkNode(['schedulers', index, 'server'], s.server);
    if (s.name === 'ring' && s.order) {
      s.order.forEach((n, j) => checkNode(['schedulers', index, 'order', j], n));
      const sorted = [...s.order].sort().join(',');
      if (sorted !== [...workers].sort().join(',')) problem(['schedulers', index, 'order'], `the ring must list every worker exactly once (${workers.join(', ')})`);
    }
    if (s.name === 'netstorm' && s.roots !== undefined && s.roots > nodes.length) {
      problem(['schedulers', index, 'roots'], `at most ${nodes.length}, the number of nodes (every node is a candidate root), got ${s.roots}`);
    }
    if (s.name === 'star' && Array.isArray(s.servers)) {
      s.servers.forEach((server, j) => {
        checkNode(['schedulers', index, 'servers', j], server);
        if (s.servers!.indexOf(server) !== j) problem(['schedulers', index, 'servers', j], `"${server}" is listed twice`);
      });
    }
  });
  const labels = new Set<string>();
  const configs: SchedulerConfig[] = schedulers.map((s) => {
    const label = s.label ?? s.name;
    if (labels.has(label)) problem(['schedulers', input.schedulers.indexOf(s)], `two schedulers are both labelled "${label}"; give one a label`);
    labels.add(label);
    return { ...s, label };
  });

  if (issues.length === 0) checkConnected(nodes, links, problem);
  if (issues.length > 0) fail(issues);

  return {
    name: input.name,
    description: input.description ?? '',
    file,
    hash: createHash('sha256').update(text).digest('hex'),
    seed,
    iterations: options.iterations ?? input.iterations,
    nodes,
    workers,
    links,
    workload: workload!,
    schedulers: configs,
    network: input.network,
    results: input.results,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function makeWorkload(
  input: ScenarioInput, profileOverride: string | undefined, baseDir: string,
  problem: (path: (string | number)[], message: string) => void,
): Workload | null {
  const w = input.workload;
  if (w.train) return makeTraining(w, profileOverride, baseDir, problem);
  const profileName = profileOverride ?? w.profile;
  if (profileOverride !== undefined && !PROFILES[profileOverride]) {
    throw new ScenarioError(`--profile: unknown model profile "${profileOverride}"; expected one of ${Object.keys(PROFILES).join(', ')}`);
  }
  const profile = profileName ? PROFILES[profileName]() : null;
  let arrays: ModelArray[];
  if (w.gradient_mb !== undefined && (profileOverride === undefined)) {
    arrays = [{ name: 'gradient', elements: Math.round((w.gradient_mb * 1e6) / 4) }];
  } else if (profile) {
    arrays = profile.arrays;
  } else {
    problem(['workload'], 'give a profile, gradient_mb, or train');
    return null;
  }
  const computeS = w.compute_ms !== undefined ? w.compute_ms / 1000 : profile ? profile.computeS : null;
  if (computeS === null) {
    problem(['workload', 'compute_ms'], 'missing; expected the compute time per iteration in ms (or a profile)');
    return null;
  }
  return {
    profile: profileOverride ?? (w.gradient_mb !== undefined ? 'custom' : profileName!),
    arrays, bytesPerElement: 4, computeS, totalBytes: totalElements(arrays) * 4, training: null,
  };
}

/** workload.train: a real model; the exchange is its parameters, or a profile's arrays padded around them. */
function makeTraining(
  w: ScenarioInput['workload'], profileOverride: string | undefined, baseDir: string,
  problem: (path: (string | number)[], message: string) => void,
): Workload | null {
  const t = w.train!;
  if (w.profile !== undefined || w.gradient_mb !== undefined) {
    problem(['workload', 'train'], 'give either train or a synthetic profile / gradient_mb, not both (use train.pad_to_profile for a paper-sized exchange)');
    return null;
  }
  const padProfile = profileOverride ?? t.pad_to_profile ?? null;
  if (padProfile !== null && !PROFILES[padProfile]) {
    throw new ScenarioError(`--profile: unknown model profile "${padProfile}"; expected one of ${Object.keys(PROFILES).join(', ')}`);
  }
  const modelArrays = MODEL_ARRAYS[t.model];
  const modelElements = totalElements(modelArrays);
  const arrays = padProfile ? PROFILES[padProfile]().arrays : modelArrays;
  if (totalElements(arrays) < modelElements) {
    problem(['workload', 'train', 'pad_to_profile'], `${padProfile} (${totalElements(arrays)} elements) is smaller than the ${t.model} model (${modelElements})`);
    return null;
  }
  const netstorm = t.preset === 'netstorm';
  const optimizer = t.optimizer ?? 'adam';
  const at = (f: string) => resolve(baseDir, f);
  const d = t.dataset;
  const dataset: DatasetSpec = d === 'mnist' ? { kind: 'mnist' }
    : 'idx' in d ? { kind: 'idx', images: at(d.idx.images), labels: at(d.idx.labels) }
    : 'csv' in d ? { kind: 'csv', file: at(d.csv) }
    : { kind: 'synthetic', samples: d.synthetic.samples };
  for (const [field, file] of dataset.kind === 'idx' ? [['images', dataset.images], ['labels', dataset.labels]] : dataset.kind === 'csv' ? [['csv', dataset.file]] : []) {
    if (!existsSync(file)) problem(['workload', 'train', 'dataset', ...(field === 'csv' ? ['csv'] : ['idx', field])], `${file}: no such file`);
  }
  const computeS = w.compute_ms !== undefined ? w.compute_ms / 1000 : null;
  const training: Training = {
    model: t.model, dataset, testFraction: t.test_fraction,
    optimizer: { name: optimizer, learningRate: t.learning_rate ?? (netstorm ? 1e-4 : optimizer === 'adam' ? 1e-3 : 0.1) },
    batch: t.batch ?? 32, evalEvery: t.eval_every, targetAccuracy: t.target_accuracy,
    modelElements, padProfile, computeS, preset: t.preset ?? null,
  };
  return {
    profile: padProfile ? `${t.model} padded to ${padProfile}` : t.model,
    arrays, bytesPerElement: 4, computeS: computeS ?? 0, totalBytes: totalElements(arrays) * 4, training,
  };
}

function selectSchedulers(all: SchedulerSpec[], wanted: string[] | undefined): SchedulerSpec[] {
  if (!wanted || wanted.length === 0) return all;
  return wanted.map((name) => {
    const found = all.find((s) => (s.label ?? s.name) === name) ?? all.find((s) => s.name === name);
    if (found) return found;
    const parsed = scenarioSpec.shape.schedulers.element.safeParse(name);
    if (!parsed.success) {
      const issue = flattenIssues(parsed.error.issues)[0];
      throw new ScenarioError(`--schedulers: unknown scheduler "${name}" (${issue.message})`);
    }
    return parsed.data;
  });
}

/** Every node must reach every other over directed links (a mesh may leave out one direction). */
function checkConnected(nodes: string[], links: DirectedLinkSpec[], problem: (p: (string | number)[], m: string) => void) {
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

/** ":line" of the deepest YAML node that exists along `path`, or "". */
function lineOf(doc: Document, lineCounter: LineCounter, path: (string | number)[]): string {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) return `:${lineCounter.linePos(node.range[0]).line}`;
  }
  return '';
}
