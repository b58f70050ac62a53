/**
 * The sweep file (YAML): a grid of runs, scenarios x schedulers x parameter
 * values x seeds, in one mode. Each parameter is a scenario field by path,
 * set as `geobed run --set path=value` sets it (scenario/overrides.ts), so
 * any scenario or scheduler field can be swept. `geobed schema --sweep`
 * exports this as JSON Schema.
 */
import { z } from 'zod';
import { dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { MAX_ITERATIONS, SAFE_NAME, SAFE_NAME_RULE } from '../model/limits.js';
import { PROFILE_NAMES } from '../model/profiles.js';
import { readText } from '../util/files.js';
import { ScenarioError } from '../scenario/errors.js';
import { flattenIssues } from '../scenario/issues.js';
import { issueLines, parseYamlFile, plainData } from '../scenario/yaml.js';

/** At most this many runs in one sweep (a grid that large is surely a typo). */
export const MAX_SWEEP_POINTS = 100_000;

const seedValue = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const sweepSpec = z.strictObject({
  name: z.string().regex(SAFE_NAME, SAFE_NAME_RULE).describe('the sweep\'s name: its default folder is results/sweep-<name>'),
  description: z.string().optional(),
  mode: z.enum(['sim', 'emu']).default('sim').describe('simulated runs go in parallel (--jobs); emulated runs one at a time'),
  scenarios: z.array(z.string().min(1)).min(1).describe('scenario files, relative to the sweep file'),
  schedulers: z.array(z.string().min(1)).min(1).optional()
    .describe('scheduler labels or names to run, each in runs of its own (default: every scheduler of each scenario)'),
  seeds: z.union([
    z.array(seedValue).min(1),
    z.strictObject({ from: seedValue, count: z.number().int().min(1).max(MAX_SWEEP_POINTS) }).describe('seeds from, from + 1, ...'),
  ]).describe('the seeds: a list, or { from, count }'),
  iterations: z.number().int().min(1).max(MAX_ITERATIONS).optional().describe('override every scenario\'s iterations'),
  profile: z.enum(PROFILE_NAMES as [string, ...string[]]).optional().describe('override every scenario\'s model profile'),
  links: z.enum(['kernel', 'native']).optional().describe('emulated runs: the link backend (as geobed run --links)'),
  parameters: z.record(z.string().min(1), z.array(z.unknown()).min(1))
    .optional()
    .describe('the grid: scenario field path (as --set path=value) -> the values it takes; every combination is run'),
  set: z.array(z.string().min(1)).optional().describe('fixed overrides for every run, path=value (as --set)'),
}).describe('a geobed sweep');

export type SweepInput = z.infer<typeof sweepSpec>;

export interface Sweep {
  name: string;
  file: string;
  /** sha256 of the sweep file's text. */
  hash: string;
  mode: 'sim' | 'emu';
  /** Absolute paths. */
  scenarios: string[];
  schedulers: string[] | null;
  seeds: number[];
  iterations: number | null;
  profile: string | null;
  links: 'kernel' | 'native' | null;
  /** Grid parameters in the file's order: path and values (as YAML text, what --set takes). */
  parameters: { path: string; values: string[] }[];
  set: string[];
}

export function sweepJsonSchema(): object {
  return z.toJSONSchema(sweepSpec, { io: 'input', unrepresentable: 'any' });
}

/** A parameter value as --set takes it: YAML flow text (JSON is YAML). */
function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Read and check a sweep file; every problem names the file, line and field (exit 2). */
export function loadSweep(file: string): Sweep {
  const text = readText(file, 'sweep file');
  const yaml = parseYamlFile(text, file);
  const raw = plainData(yaml.doc, file);
  const parsed = sweepSpec.safeParse(raw ?? {});
  if (!parsed.success) throw new ScenarioError(issueLines(yaml, file, flattenIssues(parsed.error.issues)).join('\n'));
  const input = parsed.data;
  const problems: { path: (string | number)[]; message: string }[] = [];
  if (input.links && input.mode !== 'emu') problems.push({ path: ['links'], message: 'applies to mode: emu only' });
  const parameters = Object.entries(input.parameters ?? {}).map(([path, values]) => ({ path, values: values.map(valueText) }));
  for (const p of parameters) {
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_.-]+)*$/.test(p.path)) problems.push({ path: ['parameters', p.path], message: 'expected a field path such as schedulers.netstorm.roots' });
    if (new Set(p.values).size !== p.values.length) problems.push({ path: ['parameters', p.path], message: 'a value is listed twice' });
  }
  const seeds = Array.isArray(input.seeds) ? input.seeds : Array.from({ length: input.seeds.count }, (_, k) => (input.seeds as { from: number }).from + k);
  if (new Set(seeds).size !== seeds.length) problems.push({ path: ['seeds'], message: 'a seed is listed twice' });
  if (problems.length) throw new ScenarioError(issueLines(yaml, file, problems).join('\n'));
  const base = dirname(resolve(file));
  return {
    name: input.name, file: resolve(file), hash: createHash('sha256').update(text).digest('hex'), mode: input.mode,
    scenarios: input.scenarios.map((s) => resolve(base, s)),
    schedulers: input.schedulers ?? null, seeds, iterations: input.iterations ?? null, profile: input.profile ?? null,
    links: input.links ?? null, parameters, set: input.set ?? [],
  };
}
