/** What the report says of a run that did not complete (issue 25: it said only "status failed"). */
import { describe, expect, it } from 'vitest';
import { incompleteRun } from '../../src/report/folders.js';

describe('the report of an incomplete run', () => {
  const manifest = (status: string, completed: Record<string, number>, error?: string) => ({
    status, error, scenario: { iterations: 20 }, completed_iterations: completed,
    schedulers: [{ label: 'star' }, { label: 'mlnet' }, { label: 'ring' }],
  });

  it('names how it ended, with its error, and each scheduler it did not finish, with how far it got', () => {
    expect(incompleteRun(manifest('failed', { star: 20, mlnet: 7 }, 'no progress for 60 s'))).toEqual([
      'the run ended failed: no progress for 60 s',
      'missing or incomplete: mlnet (7 of 20 iterations), ring (did not run)',
    ]);
    expect(incompleteRun(manifest('interrupted', { star: 3 }))).toEqual([
      'the run ended interrupted', 'missing or incomplete: star (3 of 20 iterations), mlnet (did not run), ring (did not run)',
    ]);
  });

  it('says nothing of a complete run', () => {
    expect(incompleteRun(manifest('complete', { star: 20, mlnet: 20, ring: 20 }))).toEqual([]);
  });
});
