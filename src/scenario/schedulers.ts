/**
 * A scenario's schedulers: the ones the scenario lists (or --schedulers
 * names, by label or by name), checked against its nodes as each
 * scheduler's definition asks, with the labels that name them in results.
 */
import { compressionRefusal, schedulerDefinition, schedulerSpec, type SchedulerConfig, type SchedulerSpec } from '../sync/schedulers/index.js';
import { flattenIssues } from './issues.js';
import { ScenarioError } from './errors.js';
import type { Problem } from './links.js';
import type { RunFacts } from '../sync/schedulers/definition.js';

/** The schedulers to run: all of them, or those `wanted` names (labels first, then scheduler names; an unlisted name runs with its defaults). */
export function selectSchedulers(all: SchedulerSpec[], wanted: string[] | undefined): SchedulerSpec[] {
  if (!wanted || wanted.length === 0) return all;
  return wanted.map((name) => {
    const found = all.find((s) => (s.label ?? s.name) === name) ?? all.find((s) => s.name === name);
    if (found) return found;
    const parsed = schedulerSpec.safeParse(name);
    if (!parsed.success) {
      const issue = flattenIssues(parsed.error.issues)[0];
      throw new ScenarioError(`--schedulers: unknown scheduler "${name}" (${issue.message})`);
    }
    return parsed.data;
  });
}

/**
 * Check each selected scheduler against the scenario (its node fields name
 * nodes; its own checks) and give each its label; `indexOf` is the
 * scheduler's position in the file, for the error's line.
 */
export function configureSchedulers(
  selected: SchedulerSpec[], indexOf: (s: SchedulerSpec) => number, facts: RunFacts,
  checkNode: (path: (string | number)[], name: string) => void, problem: Problem,
): SchedulerConfig[] {
  const labels = new Set<string>();
  return selected.map((s) => {
    const at = ['schedulers', indexOf(s)];
    const definition = schedulerDefinition(s.name)!;
    for (const field of definition.nodeFields) {
      const value = (s as Record<string, unknown>)[field];
      if (typeof value === 'string' && value !== 'all') checkNode([...at, field], value);
      if (Array.isArray(value)) value.forEach((n, j) => checkNode([...at, field, j], String(n)));
    }
    for (const p of definition.check?.(s as never, facts) ?? []) problem([...at, ...p.path], p.message);
    const refusal = compressionRefusal(s);
    if (refusal) problem([...at, 'compression'], refusal);
    const label = s.label ?? s.name;
    if (labels.has(label)) problem(at, `two schedulers are both labelled "${label}"; give one a label`);
    labels.add(label);
    return { ...s, label };
  });
}
