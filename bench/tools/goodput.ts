/**
 * Goodput from bulk.js recv's samples. A sample's bytes arrived between the
 * end of the one before it and its own end (`at`, ms from the start), which
 * is 100 ms or a little more (timers fire late, never early): dividing by
 * the stamped time, not by 100 ms per sample, keeps a late timer from
 * reading as a rate above the link's.
 */
export interface RecvResult {
  /** Epoch ms when the connection came in. */
  start: number;
  /** Bytes received per sample. */
  samples: number[];
  /** Ms from the start at each sample's end. */
  at: number[];
}

/** Mbit/s over samples [from, to). */
export function goodputMbps(result: RecvResult, from: number, to: number): number {
  const end = Math.min(to, result.samples.length);
  let bytes = 0;
  for (let i = from; i < end; i++) bytes += result.samples[i];
  const ms = result.at[end - 1] - (from > 0 ? result.at[from - 1] : 0);
  return (bytes * 8) / (ms / 1000) / 1e6;
}

/** Mbit/s of sample i alone. */
export function sampleMbps(result: RecvResult, i: number): number {
  return goodputMbps(result, i, i + 1);
}
