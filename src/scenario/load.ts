/**
 * Load a scenario file: parse YAML (keeping line numbers), validate against
 * the schema, check what a schema cannot (node names, trace files, servers),
 * and expand links and traces into a `Scenario`. Every problem is reported
 * at once, each naming the file, line, field and expectation.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { scenarioSpec, type ScenarioInput } from './schema.js';
import { flattenIssues, formatPath, type FieldIssue } from './issues.js';
import { ScenarioError } from './errors.js';
import { addLanLinks, checkConnected, expandLinks } from './links.js';
import { dataCentersOf, lanOf } from './data-centers.js';
import { makeWorkload } from './workload.js';
import { configureSchedulers, selectSchedulers } from './schedulers.js';
import type { Scenario } from './types.js';
import { readText } from '../util/files.js';
import { addWantedSchedulers, applyOverrides, type Override } from './overrides.js';
import { schedulerSpec, schedulersWithOption } from '../sync/schedulers/index.js';
import { lineOf, parseYamlFile, plainData } from './yaml.js';

export { ScenarioError };

export interface LoadOptions {
  seed?: number;
  iterations?: number;
  /** Keep only these scheduler labels (or names), in this order. */
  schedulers?: string[];
  profile?: string;
  /** `--set path=value` overrides, applied to the file before it is checked (overrides.ts). */
  set?: string[];
}

export function loadScenario(file: string, options: LoadOptions = {}): Scenario {
  return parseScenario(readText(file, 'scenario file'), file, options);
}

export function parseScenario(text: string, file: string, options: LoadOptions = {}): Scenario {
  const { input, fail, overrides, added } = validate(text, file, options.set ?? [], options.schedulers ?? []);
  const issues: FieldIssue[] = [];
  const reported = new Set<string>();
  // (a spec shared by many directed links, a mesh's say, is reported once)
  const problem = (path: (string | number)[], message: string) => {
    const key = JSON.stringify([path, message]);
    if (!reported.has(key)) issues.push({ path, message });
    reported.add(key);
  };
  const names = input.nodes.map((n) => (typeof n === 'string' ? n : n.name));
  const known = new Set<string>();
  names.forEach((n, i) => {
    if (known.has(n)) problem(['nodes', i], `duplicate node "${n}"`);
    known.add(n);
  });
  const checkNode = (path: (string | number)[], name: string) => {
    if (!known.has(name)) problem(path, `unknown node "${name}"; nodes are ${names.join(', ')}`);
  };
  const seed = options.seed ?? input.seed;
  const dataCenters = dataCentersOf(input, seed, problem);
  const workers = dataCenters.flatMap((dc) => dc.workers);
  if (workers.length === 0) problem(['nodes'], 'at least one node must run a worker');
  const nodes = [...names, ...dataCenters.flatMap((dc) => (dc.workers.length > 1 ? dc.workers : []))];

  const baseDir = dirname(resolve(file));
  const inputFiles = new Map<string, string>();
  const linkContext = { baseDir, seed, nodes: names, known, problem, checkNode, links: [], inputFiles };
  const links = expandLinks(input, linkContext);
  const wanLinks = links.length;
  dataCenters.forEach((dc, i) => {
    if (dc.workers.length < 2) return;
    const { lan, pathOf } = lanOf(input, i);
    addLanLinks(linkContext, dc.name, dc.workers, lan, pathOf);
  });
  const workload = makeWorkload(input, options.profile, baseDir, problem);
  const selected = selectSchedulers(input.schedulers, options.schedulers);
  const schedulers = configureSchedulers(selected, (s) => input.schedulers.indexOf(s), { nodes: names, workers, dataCenters, seed }, checkNode, problem);
  if (issues.length === 0) checkConnected(nodes, links, problem);
  if (issues.length > 0) fail(issues);

  return {
    name: input.name,
    description: input.description ?? '',
    file,
    hash: createHash('sha256').update(text).digest('hex'),
    ...(overrides.length ? { overrides: overrides.map((o) => o.text) } : {}),
    ...(added.length ? { schedulersNotInFile: added } : {}),
    inputFiles: [...inputFiles].sort(([a], [b]) => a.localeCompare(b)).map(([path, sha256]) => ({ path, sha256 })),
    seed,
    iterations: options.iterations ?? input.iterations,
    nodes,
    workers,
    dataCenters,
    wanLinks,
    links,
    workload: workload!,
    schedulers,
    network: input.network,
    results: input.results,
  };
}

/** Parse the YAML and check it against the schema; `fail` throws the problems, each with its line. */
function validate(text: string, file: string, set: string[], wanted: string[]): { input: ScenarioInput; fail: (issues: FieldIssue[]) => never; overrides: Override[]; added: string[] } {
  const yaml = parseYamlFile(text, file);
  const { doc } = yaml;
  // Schedulers named (--schedulers) that the file does not list join it first, so that overrides reach them too;
  // with a selection, so do those an override names (a sweep's star run gets the grid's schedulers.mlnet.k,
  // which changes nothing for star). Without one, adding a scheduler would change what runs: refused as before.
  const named = set.map((t) => t.split('=')[0].split('.')).filter((p) => p[0] === 'schedulers' && p.length > 2 && !/^\d+$/.test(p[1])).map((p) => p[1]);
  const added = addWantedSchedulers(doc, wanted.length ? [...wanted, ...named] : [], (name) => schedulerSpec.safeParse(name).success);
  const overrides = applyOverrides(doc, set);
  const raw = plainData(doc, file);
  const fail = (issues: FieldIssue[]): never => {
    const lines = issues.map((i) => {
      // a field an override wrote has no line in the file: name the override instead
      const from = [...overrides].reverse().find((o) => o.path.every((p, k) => p === i.path[k])
        || (i.path.every((p, k) => p === o.path[k]) && i.message.includes(`"${o.path[i.path.length]}"`)));
      const where = from ? ` (set by --set ${from.text})` : '';
      return `${file}${from ? '' : lineOf(yaml, i.path)}: ${formatPath(i.path)}: ${i.message}${where}`;
    });
    throw new ScenarioError([...new Set(lines)].join('\n'));
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail([{ path: [], message: 'expected a mapping with name, nodes, links or mesh, workload, schedulers' }]);
  }
  const parsed = scenarioSpec.safeParse(raw);
  if (!parsed.success) fail(flattenIssues(parsed.error.issues).map(withOwner));
  return { input: parsed.data as ScenarioInput, fail, overrides, added };
}

/** An unknown field in a scheduler's options that another scheduler has: say whose it is (e.g. sync: mixed given to star). */
function withOwner(issue: FieldIssue): FieldIssue {
  const m = /^unknown fields? (.+)$/.exec(issue.message);
  if (!m || issue.path[0] !== 'schedulers' || issue.path.length !== 2) return issue;
  const owners = [...m[1].matchAll(/"([^"]+)"/g)].map(([, field]) => [field, schedulersWithOption(field)] as const).filter(([, names]) => names.length > 0);
  if (owners.length === 0) return issue;
  return { ...issue, message: `${issue.message} (${owners.map(([field, names]) => `"${field}" is an option of ${names.join(', ')} only`).join('; ')})` };
}
