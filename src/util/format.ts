/** Fixed-precision number formatting, so CSVs are byte-identical across runs. */
export function fixed(value: number, digits = 6): string {
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : value < 0 ? '-inf' : '';
  const s = value.toFixed(digits);
  return s === `-${(0).toFixed(digits)}` ? (0).toFixed(digits) : s;
}

/** Bytes per MB in geobed: decimal megabytes (1e6), as the papers use. */
export const BYTES_PER_MB = 1e6;

/** Mbit/s to bytes per second. */
export function mbpsToBytesPerSec(mbps: number): number {
  return (mbps * 1e6) / 8;
}

export function bytesPerSecToMbps(bps: number): number {
  return (bps * 8) / 1e6;
}
