/**
 * The plots of a results folder, as vega-lite specs with their data inline
 * (so the same spec renders to SVG/PNG here and interactively in the HTML
 * report), each with the rows it shows (written beside it as a CSV):
 * iteration time per scheduler (box and CDF), test accuracy against time,
 * each directed link's trace capacity against what it carried, the
 * topology a scheduler used at an iteration, speedups with their intervals,
 * and the traffic characterisation (traffic.ts). One colour per scheduler
 * across every plot; axes say their units.
 */
import type { ComparisonRow } from './compare.js';
import { PLOT_FONT } from './render.js';

/** One plot: its file name (without extension), title, vega-lite spec and data rows. */
export interface Plot {
  name: string;
  title: string;
  spec: Record<string, unknown>;
  rows: Record<string, string | number>[];
}

type Row = Record<string, string>;

/** The schedulers' order and colours: the published ones first, in a fixed colour each; others after, from the rest of the palette. */
const KNOWN = ['star', 'mlnet', 'tsengine', 'ring', 'netstorm'];
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'];

export function schedulerColours(labels: string[]): { domain: string[]; range: string[] } {
  const rank = (l: string) => {
    const k = KNOWN.findIndex((n) => l === n || l.startsWith(`${n}-`));
    return k < 0 ? KNOWN.length : k;
  };
  const domain = [...new Set(labels)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  // a published scheduler under its own name has its colour in every folder; variants and others take the rest in turn
  const own = (l: string) => (KNOWN.includes(l) ? PALETTE[KNOWN.indexOf(l)] : null);
  const taken = new Set(domain.map(own).filter((c) => c !== null));
  const spare = PALETTE.filter((c) => !taken.has(c));
  let next = 0;
  return { domain, range: domain.map((l) => own(l) ?? spare[next++ % spare.length]) };
}

const FONT = PLOT_FONT;
/** Readable in a two-column paper at its printed size. */
const CONFIG = {
  font: FONT,
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true },
  legend: { labelFontSize: 12, titleFontSize: 13, labelLimit: 260, titleLimit: 260 },
  title: { fontSize: 15 },
  header: { labelFontSize: 12, titleFontSize: 13 },
  background: 'white',
};

function spec(title: string, rows: Record<string, unknown>[], body: Record<string, unknown>): Record<string, unknown> {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title, config: CONFIG, data: { values: rows }, ...body };
}

const colour = (colours: { domain: string[]; range: string[] }) => ({ field: 'scheduler', type: 'nominal', title: 'scheduler', scale: colours });

/** Iteration times per scheduler: a box plot and an empirical CDF. */
export function iterationPlots(iterations: Row[], colours: ReturnType<typeof schedulerColours>): Plot[] {
  const rows = iterations.map((r) => ({ scheduler: r.scheduler, seed: Number(r.seed), iteration: Number(r.iteration), iteration_s: Number(r.iteration_s) }));
  const box: Plot = {
    name: 'iteration-time-box', title: 'Iteration time per scheduler', rows,
    spec: spec('Iteration time per scheduler', rows, {
      width: 420, height: 260,
      mark: { type: 'boxplot', extent: 1.5 },
      encoding: {
        x: { field: 'scheduler', type: 'nominal', title: 'scheduler', sort: colours.domain, axis: { labelAngle: 0 } },
        y: { field: 'iteration_s', type: 'quantitative', title: 'iteration time (s)', scale: { zero: true } },
        color: { ...colour(colours), legend: null },
      },
    }),
  };
  const cdfRows: Record<string, string | number>[] = [];
  for (const label of colours.domain) {
    const times = rows.filter((r) => r.scheduler === label).map((r) => r.iteration_s).sort((a, b) => a - b);
    times.forEach((t, i) => cdfRows.push({ scheduler: label, iteration_s: t, fraction: (i + 1) / times.length }));
  }
  const cdf: Plot = {
    name: 'iteration-time-cdf', title: 'Iteration time, cumulative distribution', rows: cdfRows,
    spec: spec('Iteration time, cumulative distribution', cdfRows, {
      width: 420, height: 260,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
      encoding: {
        x: { field: 'iteration_s', type: 'quantitative', title: 'iteration time (s)' },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of iterations', scale: { domain: [0, 1] } },
        color: colour(colours),
      },
    }),
  };
  return [box, cdf];
}

/** Test accuracy against wall (or simulated) time, one line per scheduler (the NetStorm paper's result figure). */
export function accuracyPlot(accuracy: Row[], colours: ReturnType<typeof schedulerColours>): Plot | null {
  if (accuracy.length === 0) return null;
  const rows = accuracy.map((r) => ({ scheduler: r.scheduler, seed: Number(r.seed), time_s: Number(r.time_s), test_accuracy: Number(r.test_accuracy) }));
  return {
    name: 'accuracy', title: 'Test accuracy against time', rows,
    spec: spec('Test accuracy against time', rows, {
      width: 420, height: 260,
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: { field: 'time_s', type: 'quantitative', title: 'time (s)' },
        y: { field: 'test_accuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '.0%' } },
        color: colour(colours),
        detail: { field: 'seed', type: 'nominal' },
      },
    }),
  };
}

/**
 * Real training: test accuracy against the bytes sent so far (the DML
 * traffic study's accuracy against data sent): each evaluation at
 * `iteration` steps joined with the iterations before it in
 * iterations.csv (the same scenario, mode, profile, seed and scheduler),
 * their bytes summed, on a log scale (compression moves a run by orders
 * of magnitude); with LANs, a second plot of the WAN's bytes.
 */
export function accuracyBytesPlots(accuracy: Row[], iterations: Row[], colours: ReturnType<typeof schedulerColours>): Plot[] {
  if (accuracy.length === 0) return [];
  const key = (r: Row) => [r.scenario, r.mode, r.profile, r.seed, r.scheduler].join('|');
  const cumulative = new Map<string, { bytes: number[]; wan: number[] }>();
  const byRun = new Map<string, Row[]>();
  for (const r of iterations) byRun.set(key(r), [...(byRun.get(key(r)) ?? []), r]);
  for (const [k, rows] of byRun) {
    const sorted = rows.sort((a, b) => Number(a.iteration) - Number(b.iteration));
    const bytes = [0], wan = [0];
    for (const r of sorted) {
      bytes.push(bytes.at(-1)! + Number(r.bytes));
      wan.push(wan.at(-1)! + Number(r.wan_bytes ?? r.bytes));
    }
    cumulative.set(k, { bytes, wan });
  }
  const hasLans = iterations.some((r) => r.wan_bytes !== undefined);
  const plot = (name: string, title: string, which: 'bytes' | 'wan'): Plot => {
    const rows = accuracy.flatMap((r) => {
      const sums = cumulative.get(key(r))?.[which];
      const steps = Number(r.iteration);
      // (a log scale: the evaluation before any step, at 0 bytes, is left out)
      if (!sums || steps >= sums.length || sums[steps] <= 0) return [];
      return [{ scheduler: r.scheduler, seed: Number(r.seed), gigabytes: sums[steps] / 1e9, test_accuracy: Number(r.test_accuracy) }];
    });
    return {
      name, title, rows,
      spec: spec(title, rows, {
        width: 420, height: 260,
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'gigabytes', type: 'quantitative', title: which === 'wan' ? 'GB sent over the WAN (log scale)' : 'GB sent (log scale)', scale: { type: 'log' } },
          y: { field: 'test_accuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '.0%' } },
          color: colour(colours),
          detail: { field: 'seed', type: 'nominal' },
        },
      }),
    };
  };
  return [
    plot('accuracy-bytes', 'Test accuracy against data sent', 'bytes'),
    ...(hasLans ? [plot('accuracy-wan-bytes', 'Test accuracy against data sent over the WAN', 'wan')] : []),
  ];
}

/**
 * Asynchronous schedulers (updates.csv): how stale the global servers'
 * updates were, as the share of updates at each staleness, per scheduler.
 */
export function stalenessPlot(updates: Row[], colours: ReturnType<typeof schedulerColours>): Plot | null {
  if (updates.length === 0) return null;
  const counts = new Map<string, Map<number, number>>();
  for (const u of updates) {
    const perScheduler = counts.get(u.scheduler) ?? new Map<number, number>();
    perScheduler.set(Number(u.staleness), (perScheduler.get(Number(u.staleness)) ?? 0) + 1);
    counts.set(u.scheduler, perScheduler);
  }
  const rows = [...counts].flatMap(([scheduler, byStaleness]) => {
    const total = [...byStaleness.values()].reduce((a, b) => a + b, 0);
    return [...byStaleness].sort(([a], [b]) => a - b).map(([staleness, n]) => ({ scheduler, staleness, share: n / total }));
  });
  return {
    name: 'staleness', title: 'Staleness of the global servers\' updates (asynchronous schedulers)', rows,
    spec: spec('Staleness of the global servers\' updates (asynchronous schedulers)', rows, {
      width: 420, height: 220,
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: { field: 'staleness', type: 'quantitative', title: 'staleness (versions behind)', axis: { tickMinStep: 1, format: 'd' } },
        y: { field: 'share', type: 'quantitative', title: 'share of updates', axis: { format: '.0%' } },
        color: colour(colours),
      },
    }),
  };
}

/** Per scheduler: each directed link's trace capacity and what it carried, over time, a panel per link. */
export function linkPlots(links: Row[]): Plot[] {
  const plots: Plot[] = [];
  for (const scheduler of [...new Set(links.map((r) => r.scheduler))]) {
    const rows = links.filter((r) => r.scheduler === scheduler).flatMap((r) => [
      { link: r.link, time_s: Number(r.bin_start_s), series: 'trace capacity', mbps: Number(r.capacity_mbps) },
      { link: r.link, time_s: Number(r.bin_start_s), series: 'carried', mbps: Number(r.carried_mbps) },
    ]);
    plots.push({
      name: `links-${scheduler}`, title: `Links under ${scheduler}: trace capacity and carried traffic`, rows,
      spec: spec(`Links under ${scheduler}: trace capacity and carried traffic`, rows, {
        facet: { row: { field: 'link', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } } },
        spec: {
          width: 480, height: 60,
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'time_s', type: 'quantitative', title: 'time (s)' },
            y: { field: 'mbps', type: 'quantitative', title: 'Mbit/s' },
            color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['trace capacity', 'carried'], range: ['#9e9e9e', '#1f77b4'] }, legend: { orient: 'top' } },
            strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: ['trace capacity', 'carried'], range: [[4, 3], [1, 0]] }, legend: { orient: 'top' } },
          },
        },
        resolve: { scale: { y: 'independent' } },
      }),
    });
  }
  return plots;
}

/**
 * The topology a scheduler used at one iteration: the physical links in
 * grey, the messages of that iteration as arrows weighted by the bytes they
 * carried (dashed: auxiliary paths, NetStorm's detours), and each chunk's
 * root (the node it was broadcast from) ringed. Nodes on a circle.
 */
export function topologyPlots(transfers: Row[], links: Row[], nodes: string[], iteration: number): Plot[] {
  const pos = new Map(nodes.map((n, i) => {
    const a = (2 * Math.PI * i) / nodes.length - Math.PI / 2;
    return [n, { x: Math.cos(a), y: Math.sin(a) }];
  }));
  const physical = [...new Map(links.map((l) => [[l.from, l.to].sort().join('|'), [l.from, l.to]])).values()];
  const plots: Plot[] = [];
  for (const scheduler of [...new Set(transfers.map((t) => t.scheduler))]) {
    const at = transfers.filter((t) => t.scheduler === scheduler && Number(t.iteration) === iteration && t.from !== t.to);
    if (at.length === 0) continue;
    const used = new Map<string, { from: string; to: string; bytes: number; aux: boolean }>();
    for (const t of at) {
      const key = `${t.from}>${t.to}>${t.aux}`;
      const e = used.get(key) ?? { from: t.from, to: t.to, bytes: 0, aux: t.aux === '1' };
      e.bytes += Number(t.bytes);
      used.set(key, e);
    }
    // a chunk's root sends it down (or answers pulls) without having received it so
    const downSenders = new Map<string, Set<string>>();
    const downReceivers = new Map<string, Set<string>>();
    for (const t of at.filter((x) => x.kind === 'down' || x.kind === 'pull')) {
      (downSenders.get(t.chunk) ?? downSenders.set(t.chunk, new Set()).get(t.chunk)!).add(t.from);
      (downReceivers.get(t.chunk) ?? downReceivers.set(t.chunk, new Set()).get(t.chunk)!).add(t.to);
    }
    const roots = new Set<string>();
    for (const [chunk, senders] of downSenders) for (const s of senders) if (!downReceivers.get(chunk)!.has(s)) roots.add(s);
    const rows: Record<string, string | number>[] = [
      ...physical.map(([a, b]) => ({ layer: 'link', from: a, to: b, x: pos.get(a)!.x, y: pos.get(a)!.y, x2: pos.get(b)!.x, y2: pos.get(b)!.y, mb: 0, aux: 0, node: '', root: 0 })),
      ...[...used.values()].map((e) => {
        // arrows stop short of the node, and the two directions sit side by side
        const [p, q] = [pos.get(e.from)!, pos.get(e.to)!];
        const [dx, dy] = [q.x - p.x, q.y - p.y];
        const len = Math.hypot(dx, dy);
        const [ox, oy] = [(-dy / len) * 0.03, (dx / len) * 0.03];
        return {
          layer: 'message', from: e.from, to: e.to, x: p.x + dx * 0.12 + ox, y: p.y + dy * 0.12 + oy, x2: p.x + dx * 0.84 + ox, y2: p.y + dy * 0.84 + oy,
          // the arrowhead: at the end, pointing along the message (degrees clockwise from up, as the screen shows it)
          hx: p.x + dx * 0.84 + ox, hy: p.y + dy * 0.84 + oy, angle: (Math.atan2(dx, dy) * 180) / Math.PI,
          mb: e.bytes / 1e6, aux: e.aux ? 1 : 0, node: '', root: 0,
        };
      }),
      ...nodes.map((n) => ({ layer: 'node', from: '', to: '', x: pos.get(n)!.x, y: pos.get(n)!.y, x2: 0, y2: 0, mb: 0, aux: 0, node: n, root: roots.has(n) ? 1 : 0 })),
    ];
    const axis = { field: 'x', type: 'quantitative', axis: null, scale: { domain: [-1.3, 1.3] } };
    const yAxis = { field: 'y', type: 'quantitative', axis: null, scale: { domain: [-1.3, 1.3] } };
    plots.push({
      name: `topology-${scheduler}`, title: `Topology ${scheduler} used at iteration ${iteration}`, rows,
      spec: spec(`Topology ${scheduler} used at iteration ${iteration}`, rows, {
        width: 380, height: 380, view: { stroke: null },
        layer: [
          { transform: [{ filter: "datum.layer === 'link'" }], mark: { type: 'rule', color: '#d0d0d0', strokeWidth: 6 }, encoding: { x: axis, y: yAxis, x2: { field: 'x2' }, y2: { field: 'y2' } } },
          {
            transform: [{ filter: "datum.layer === 'message'" }],
            mark: { type: 'rule', color: '#1f77b4' },
            encoding: {
              x: axis, y: yAxis, x2: { field: 'x2' }, y2: { field: 'y2' },
              strokeWidth: { field: 'mb', type: 'quantitative', title: 'MB sent this iteration', scale: { range: [1, 6] } },
              strokeDash: { field: 'aux', type: 'nominal', title: 'path', scale: { domain: [0, 1], range: [[1, 0], [5, 3]] }, legend: { labelExpr: "datum.value == 1 ? 'auxiliary (detour)' : 'main'" } },
              tooltip: [{ field: 'from' }, { field: 'to' }, { field: 'mb', format: '.1f', title: 'MB' }],
            },
          },
          {
            transform: [{ filter: "datum.layer === 'message'" }],
            mark: { type: 'point', shape: 'triangle-up', filled: true, size: 140, color: '#1f77b4', opacity: 1 },
            encoding: { x: { ...axis, field: 'hx' }, y: { ...yAxis, field: 'hy' }, angle: { field: 'angle', type: 'quantitative', scale: null } },
          },
          {
            transform: [{ filter: "datum.layer === 'node'" }],
            mark: { type: 'circle', size: 900, opacity: 1 },
            encoding: {
              x: axis, y: yAxis,
              color: { field: 'root', type: 'nominal', title: 'node', scale: { domain: [0, 1], range: ['#ffffff', '#ffd966'] }, legend: { labelExpr: "datum.value == 1 ? 'root' : 'other'" } },
              stroke: { value: '#333333' }, strokeWidth: { value: 1.5 },
            },
          },
          { transform: [{ filter: "datum.layer === 'node'" }], mark: { type: 'text', fontSize: 12, fontWeight: 'bold' }, encoding: { x: axis, y: yAxis, text: { field: 'node' } } },
        ],
      }),
    });
  }
  return plots;
}

/** Speedup over the baseline with its 95% interval, per scheduler, a panel per scenario and grid point. */
export function speedupPlot(rows: ComparisonRow[], colours: ReturnType<typeof schedulerColours>): Plot | null {
  if (rows.length === 0) return null;
  const data = rows.map((r) => ({
    case: [r.group.scenario, ...Object.entries(r.group.params).map(([p, v]) => `${p}=${v}`)].join(', '),
    scheduler: r.scheduler, speedup: r.speedup.ratio, low: Number.isFinite(r.speedup.low) ? r.speedup.low : r.speedup.ratio,
    high: Number.isFinite(r.speedup.high) ? r.speedup.high : r.speedup.ratio, baseline: r.baseline, seeds: r.seeds,
  }));
  const x = { field: 'scheduler', type: 'nominal', title: null, sort: colours.domain, axis: { labelAngle: 0 } };
  return {
    name: 'speedup', title: `Speedup over ${rows[0].baseline} (95% intervals across seeds)`, rows: data,
    spec: spec(`Speedup over ${rows[0].baseline} (95% intervals across seeds)`, data, {
      facet: { column: { field: 'case', type: 'nominal', title: null } },
      spec: {
        width: 260, height: 240,
        layer: [
          { mark: { type: 'bar' }, encoding: { x, y: { field: 'speedup', type: 'quantitative', title: `speedup over ${rows[0].baseline} (×)` }, color: { ...colour(colours), legend: null } } },
          {
            mark: { type: 'errorbar', ticks: { color: '#222222' }, rule: { color: '#222222' } },
            encoding: { x, y: { field: 'low', type: 'quantitative', title: `speedup over ${rows[0].baseline} (×)` }, y2: { field: 'high' } },
          },
          { mark: { type: 'rule', strokeDash: [4, 3], color: '#555555' }, encoding: { y: { datum: 1 } } },
        ],
      },
    }),
  };
}
