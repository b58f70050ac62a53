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

/**
 * A piece of a user's file for an error message, in double quotes: control
 * and non-printable characters escaped (\t, \x7f, \u2028...), cut after
 * `max` characters, so a binary file named by mistake never writes raw
 * bytes to the terminal.
 */
export function quoted(text: string, max = 60): string {
  const chars = [...text];
  const shown = chars.slice(0, max).map((c) => {
    if (c === '"' || c === '\\') return `\\${c}`;
    if (c === '\t') return '\\t';
    const code = c.codePointAt(0)!;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0) || c === '\ufffd' || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u.test(c)) {
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
    return c;
  }).join('');
  return `"${shown}"${chars.length > max ? ` (and ${chars.length - max} more characters)` : ''}`;
}
