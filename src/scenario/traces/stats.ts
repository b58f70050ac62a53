/** What a trace looks like: min, mean, max over a time, and a sparkline (geobed trace show). */
import { meanRate, type Trace } from '../../model/trace.js';

export interface TraceStats {
  min: number;
  max: number;
  /** Time-weighted mean over [0, seconds). */
  mean: number;
  seconds: number;
}

export function traceStats(trace: Trace, seconds: number): TraceStats {
  let t = 0, area = 0, min = Infinity, max = -Infinity;
  while (t < seconds) {
    const r = trace.rateAt(t);
    const next = Math.min(seconds, trace.nextChangeAfter(t));
    area += r * (next - t);
    min = Math.min(min, r);
    max = Math.max(max, r);
    t = next;
  }
  return { min, max, mean: area / seconds, seconds };
}

const SPARKS = '▁▂▃▄▅▆▇█';

export function sparkline(trace: Trace, seconds: number, width = 60): string {
  const values: number[] = [];
  for (let i = 0; i < width; i++) values.push(meanRate(trace, (i * seconds) / width, ((i + 1) * seconds) / width));
  const max = Math.max(...values);
  if (max <= 0) return SPARKS[0].repeat(width);
  return values.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1) + 0.5))]).join('');
}
