/**
 * Columns a table has only for some runs (iterations.csv's lan_bytes,
 * wan_bytes, dense_bytes and compression_ratio; transfers.csv's network and
 * dense_bytes; summary.csv's lan/wan MB per iteration), so that runs with
 * and without them combine into one table (a sweep's): the union of their
 * columns, each missing cell filled with what it means for a run without
 * it (no LAN: every byte on the WAN; no compression: dense bytes = bytes,
 * ratio 1), or left empty where the run cannot say.
 */

type Fill = (cell: (name: string) => string) => string;

const FILLS: Record<string, Fill> = {
  lan_bytes: () => '0',
  wan_bytes: (cell) => cell('bytes'),
  network: () => 'wan',
  dense_bytes: (cell) => cell('bytes'),
  compression_ratio: (cell) => (Number(cell('bytes')) > 0 ? (1).toFixed(4) : ''),
  lan_mb_per_iteration: () => '',
  wan_mb_per_iteration: () => '',
};

/**
 * The columns of every header, in an order each keeps (each missing
 * column after the one it follows where it appears); null when two headers
 * differ by a column that is not optional, or order their columns
 * differently (tables of different geobed versions).
 */
export function unionOfColumns(headers: string[][]): string[] | null {
  const union = [...headers[0]];
  for (const header of headers.slice(1)) {
    header.forEach((column, k) => {
      if (union.includes(column)) return;
      union.splice(k === 0 ? 0 : union.indexOf(header[k - 1]) + 1, 0, column);
    });
  }
  for (const header of headers) {
    let at = -1;
    for (const column of header) {
      const k = union.indexOf(column);
      if (k < at) return null;
      at = k;
    }
    for (const column of union) if (!header.includes(column) && !(column in FILLS)) return null;
  }
  return union;
}

/** A row of `header` as a row of `union` (unionOfColumns), missing cells filled. */
export function rowInUnion(header: string[], union: string[], cells: string[]): string[] {
  const cell = (name: string) => cells[header.indexOf(name)] ?? '';
  return union.map((column) => (header.includes(column) ? cell(column) : FILLS[column](cell)));
}
