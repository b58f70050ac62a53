/** Shared test helpers: temporary folders that are always removed. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { PiecewiseTrace } from '../src/scenario/traces/piecewise.js';
import type { Scenario } from '../src/scenario/types.js';
import { DEFAULT_TCP } from '../src/scenario/schema.js';
import { oneWorkerEach } from '../src/model/data-centers.js';

/** A fresh temporary folder for each test, removed after it (pass or fail). */
/**
 * A fresh temporary folder for each test of the describe block this is
 * called in (not inside a test: its hooks would not run for that test, and
 * files meant for the folder would land in the working directory).
 */
export function useTempDir(): { readonly path: string } {
  let current: string | null = null;
  beforeEach(() => {
    current = mkdtempSync(join(tmpdir(), 'geobed-test-'));
  });
  afterEach(() => {
    if (current) rmSync(current, { recursive: true, force: true });
    current = null;
  });
  return {
    get path(): string {
      if (current === null) throw new Error('useTempDir(): no folder yet; call it in a describe block, not inside a test');
      return current;
    },
  };
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** A valid two-link scenario; `patch` replaces whole top-level lines by key. */
export function scenarioText(patch: Record<string, string> = {}): string {
  const parts: Record<string, string> = {
    name: 'name: t',
    seed: 'seed: 3',
    iterations: 'iterations: 4',
    nodes: 'nodes: [a, b, c]',
    links: [
      'links:',
      '  - between: [a, b]',
      '    bandwidth: 80',
      '  - between: [b, c]',
      '    bandwidth: { generator: redraw-uniform, min_mbps: 20, max_mbps: 155, period_s: 1 }',
      '    delay_ms: 5',
    ].join('\n'),
    workload: 'workload: { gradient_mb: 8, compute_ms: 50 }',
    schedulers: 'schedulers: [star]',
    ...patch,
  };
  return `${Object.values(parts).filter(Boolean).join('\n')}\n`;
}

/** Two nodes a and b joined by a link of `mbps` each way; a model of one array of `gradientMb`. */
export function lineScenario(mbps: number, gradientMb: number, computeS: number, iterations: number, workers = ['a', 'b']): Scenario {
  const links = [['a', 'b'], ['b', 'a']].map(([from, to], id) => ({
    id, from, to, name: `${from}->${to}`, delayS: 0, maxDelayS: 0, delayOverTime: null, jitterS: 0, reorder: false, lossPercent: 0, lossOverTime: null, queuePackets: null, mahimahi: null,
    trace: PiecewiseTrace.constant(mbps), rateSource: '',
  }));
  const elements = (gradientMb * 1e6) / 4;
  return {
    name: 'line', description: '', file: '', hash: '', seed: 1, iterations, nodes: ['a', 'b'], workers, dataCenters: oneWorkerEach(['a', 'b'], workers), wanLinks: links.length, links,
    workload: { profile: 'custom', arrays: [{ name: 'g', elements }], bytesPerElement: 4, computeS, totalBytes: elements * 4, training: null },
    schedulers: [], network: { framing: 'none', queueing: 'fair', underlay: 'ip', tcp: DEFAULT_TCP, sharing: 'max-min' }, results: { bin_s: 1, transfers: true, packet_log: false, pcap: false, compress: false },
  };
}

/** A results CSV as records by column name. */
export function readCsv(path: string): Record<string, string>[] {
  return parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}
