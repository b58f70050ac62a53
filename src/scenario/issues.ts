/**
 * Turn zod validation issues into one clear line each: the field path, what
 * was expected, and what was found. Unions are resolved to the branch the
 * user most likely meant, so the message speaks about that branch.
 */
import type { core } from 'zod';

export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

type Issue = core.$ZodIssue;

/** Lower is a better guess at the branch the user meant. */
function branchPenalty(issues: Issue[]): number {
  let penalty = issues.length;
  for (const issue of issues) {
    const atRoot = issue.path.length === 0;
    if (atRoot && (issue.code === 'invalid_type' || issue.code === 'unrecognized_keys')) penalty += 100;
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) penalty += 10;
  }
  return penalty;
}

function describeIssue(issue: Issue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      if (/received undefined/.test(issue.message)) return `missing; expected ${issue.expected}`;
      return issue.message.replace(/^Invalid input: /, '');
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      const disc = issue as Issue & { discriminator?: string; options?: unknown[] };
      if (disc.discriminator && disc.options) {
        return `expected ${disc.discriminator} to be one of ${disc.options.map((o) => JSON.stringify(o)).join(', ')}`;
      }
      return issue.message;
    }
    default:
      return issue.message.replace(/^Too small: /, '').replace(/^Too big: /, '');
  }
}

export function flattenIssues(issues: Issue[], prefix: (string | number)[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const best = [...issue.errors].sort((a, b) => branchPenalty(a) - branchPenalty(b))[0];
      out.push(...flattenIssues(best, path));
    } else {
      out.push({ path, message: describeIssue(issue) });
    }
  }
  return out;
}

export function formatPath(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s || '(top level)';
}
