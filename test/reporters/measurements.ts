/**
 * At the end of `npm test`: how many measurement tests asserted their
 * figures, and which were not asserted because the host was too busy (with
 * why), so a CI log shows the count (goal: none) and a busy laptop's run
 * says what it could not judge. Measurement tests mark themselves
 * (test/emu/emu-helpers.ts: assertFiguresOnlyIfHostKeptUp).
 */
import type { Reporter, TestModule } from 'vitest/node';
import { HOST_BUSY_NOTE } from '../emu/emu-helpers.js';

export default class MeasurementReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let asserted = 0;
    const busy: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        if (!test.meta().measurement) continue;
        const result = test.result();
        if (result.state === 'skipped' && result.note?.startsWith(HOST_BUSY_NOTE)) busy.push(`  ${test.fullName}: ${result.note}`);
        else if (result.state === 'passed' || result.state === 'failed') asserted++;
      }
    }
    if (asserted + busy.length === 0) return; // (no emulation tests ran: not root)
    process.stdout.write(`\nmeasurement tests: ${asserted} asserted their figures, ${busy.length} not asserted because the host was too busy${busy.length ? `:\n${busy.join('\n')}` : ''}\n`);
  }
}
