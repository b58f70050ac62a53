/**
 * Traffic characterisation of a run, as measurement studies of distributed
 * training describe it: per scheduler, each node's bytes sent over time,
 * the distribution of message sizes, burstiness (peak-to-mean of each
 * node's sending over 10 ms and 100 ms bins), the traffic matrix of every
 * iteration, and each directed link's share of the bytes with its
 * utilisation (a link busy at 90% of its capacity or more in at least a
 * quarter of the run's bins is a bottleneck). Messages are spread evenly
 * over [sent, delivered]. Written as one tidy table, traffic.csv:
 * scheduler, measure, subject, x, value (the measures below).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { Plot } from './plots.js';
import { PLOT_FONT } from './render.js';
import { max } from 'simple-statistics';
import { dataCenterOfName } from '../model/data-centers.js';

type Row = Record<string, string>;

export interface TrafficRow {
  scheduler: string;
  /** node_bytes (x: bin start s), message_size (x: size class, MB, upper bound), burstiness_10ms / burstiness_100ms, matrix (x: iteration), network_bytes (subject lan or wan, x: iteration; where data centers hold several workers), link_share, link_utilisation, bottleneck */
  measure: string;
  /** A node, "from->to" or a directed link. */
  subject: string;
  x: number | string;
  value: number;
}

const BURST_BINS_S = [0.01, 0.1];
/** Bins of the bytes-over-time series. */
const SERIES_BIN_S = 0.1;
const BOTTLENECK_UTILISATION = 0.9;
const BOTTLENECK_SHARE_OF_BINS = 0.25;

/** Bytes of messages spread evenly over [sent, delivered], binned by `binS` (indexed from 0 to the run's end). */
function binned(messages: { bytes: number; sent: number; delivered: number }[], binS: number, end: number): Float64Array {
  const bins = new Float64Array(Math.max(1, Math.ceil(end / binS)));
  for (const m of messages) {
    const first = Math.min(bins.length - 1, Math.floor(m.sent / binS));
    const span = m.delivered - m.sent;
    if (!(span > 0)) {
      bins[first] += m.bytes; // (delivered at once)
      continue;
    }
    const last = Math.min(bins.length - 1, Math.floor(m.delivered / binS));
    for (let b = first; b <= last; b++) {
      const overlap = Math.min(m.delivered, (b + 1) * binS) - Math.max(m.sent, b * binS);
      if (overlap > 0) bins[b] += (m.bytes * overlap) / span;
    }
  }
  return bins;
}

export function trafficRows(transfers: Row[], links: Row[]): TrafficRow[] {
  const out: TrafficRow[] = [];
  for (const scheduler of [...new Set(transfers.map((t) => t.scheduler))]) {
    const messages = transfers.filter((t) => t.scheduler === scheduler && t.from !== t.to)
      .map((t) => ({ from: t.from, to: t.to, iteration: Number(t.iteration), bytes: Number(t.bytes), sent: Number(t.sent_s), delivered: Number(t.delivered_s) }));
    if (messages.length === 0) continue;
    const end = max(messages.map((m) => m.delivered)); // (simple-statistics: Math.max(...xs) overflows the stack on a long run's messages)
    const nodes = [...new Set(messages.map((m) => m.from))].sort();
    for (const node of nodes) {
      const mine = messages.filter((m) => m.from === node);
      const series = binned(mine, SERIES_BIN_S, end);
      series.forEach((bytes, b) => out.push({ scheduler, measure: 'node_bytes', subject: node, x: +(b * SERIES_BIN_S).toFixed(3), value: bytes }));
      for (const binS of BURST_BINS_S) {
        const bins = binned(mine, binS, end);
        const mean = bins.reduce((s, x) => s + x, 0) / bins.length;
        out.push({ scheduler, measure: `burstiness_${binS * 1000}ms`, subject: node, x: '', value: mean > 0 ? bins.reduce((m, x) => Math.max(m, x), 0) / mean : 0 });
      }
    }
    // message sizes in powers of two of a kB
    const classes = new Map<number, number>();
    for (const m of messages) {
      const upper = 2 ** Math.ceil(Math.log2(Math.max(m.bytes, 1000) / 1000)) / 1000;
      classes.set(upper, (classes.get(upper) ?? 0) + 1);
    }
    for (const [upper, count] of [...classes].sort((a, b) => a[0] - b[0])) out.push({ scheduler, measure: 'message_size', subject: '', x: upper, value: count });
    const matrix = new Map<string, number>();
    for (const m of messages) {
      const key = `${m.iteration}|${m.from}->${m.to}`;
      matrix.set(key, (matrix.get(key) ?? 0) + m.bytes);
    }
    for (const [key, bytes] of matrix) {
      const [iteration, pair] = key.split('|');
      out.push({ scheduler, measure: 'matrix', subject: pair, x: Number(iteration), value: bytes });
    }
    // where data centers hold several workers: each iteration's bytes within data centers and between them
    if (messages.some((m) => dataCenterOfName(m.from) !== m.from || dataCenterOfName(m.to) !== m.to)) {
      const apart = new Map<number, [number, number]>();
      for (const m of messages) {
        const e = apart.get(m.iteration) ?? [0, 0];
        e[dataCenterOfName(m.from) === dataCenterOfName(m.to) ? 0 : 1] += m.bytes;
        apart.set(m.iteration, e);
      }
      for (const [iteration, [lan, wan]] of [...apart].sort((a, b) => a[0] - b[0])) {
        out.push({ scheduler, measure: 'network_bytes', subject: 'lan', x: iteration, value: lan }, { scheduler, measure: 'network_bytes', subject: 'wan', x: iteration, value: wan });
      }
    }
    const mine = links.filter((l) => l.scheduler === scheduler);
    const perLink = new Map<string, { bytes: number; busyBins: number; bins: number; util: number[] }>();
    for (const l of mine) {
      const e = perLink.get(l.link) ?? { bytes: 0, busyBins: 0, bins: 0, util: [] };
      const [cap, carried, width] = [Number(l.capacity_mbps), Number(l.carried_mbps), Number(l.bin_s)];
      e.bytes += (carried * 1e6 * width) / 8;
      e.bins++;
      if (cap > 0) {
        e.util.push(carried / cap);
        if (carried >= BOTTLENECK_UTILISATION * cap) e.busyBins++;
      }
      perLink.set(l.link, e);
    }
    const total = [...perLink.values()].reduce((s, e) => s + e.bytes, 0);
    for (const [link, e] of perLink) {
      out.push({ scheduler, measure: 'link_share', subject: link, x: '', value: total > 0 ? e.bytes / total : 0 });
      out.push({ scheduler, measure: 'link_utilisation', subject: link, x: '', value: e.util.length ? e.util.reduce((s, x) => s + x, 0) / e.util.length : 0 });
      out.push({ scheduler, measure: 'bottleneck', subject: link, x: '', value: e.bins > 0 && e.busyBins / e.bins >= BOTTLENECK_SHARE_OF_BINS ? 1 : 0 });
    }
  }
  return out;
}

export function writeTrafficCsv(dir: string, rows: TrafficRow[]): string {
  const file = join(dir, 'traffic.csv');
  const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(6));
  writeFileSync(file, stringify([['scheduler', 'measure', 'subject', 'x', 'value'], ...rows.map((r) => [r.scheduler, r.measure, r.subject, r.x, num(r.value)])]));
  return file;
}

/** traffic.csv (written here) and its plots: bytes sent per node over time, message sizes, burstiness, link shares. */
export function trafficPlots(dir: string, transfers: Row[], links: Row[], colours: { domain: string[]; range: string[] }): Plot[] {
  if (transfers.length === 0) return [];
  const rows = trafficRows(transfers, links);
  writeTrafficCsv(dir, rows);
  const config = { font: PLOT_FONT, axis: { labelFontSize: 12, titleFontSize: 13 }, legend: { labelFontSize: 12, titleFontSize: 13 }, title: { fontSize: 15 }, header: { labelFontSize: 12 }, background: 'white' };
  const base = (title: string, data: Record<string, unknown>[]) => ({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', title, config, data: { values: data } });
  const colour = { field: 'scheduler', type: 'nominal', title: 'scheduler', scale: colours };
  const pick = (measure: string) => rows.filter((r) => r.measure === measure).map((r) => ({ scheduler: r.scheduler, subject: r.subject, x: r.x, value: r.value }));
  const series = pick('node_bytes').map((r) => ({ ...r, mbps: (r.value * 8) / SERIES_BIN_S / 1e6 }));
  const sizes = pick('message_size');
  const bursts = rows.filter((r) => r.measure.startsWith('burstiness')).map((r) => ({ scheduler: r.scheduler, node: r.subject, bins: r.measure.replace('burstiness_', ''), peak_to_mean: r.value }));
  const shares = pick('link_share').map((r) => ({ ...r, bottleneck: rows.find((b) => b.measure === 'bottleneck' && b.scheduler === r.scheduler && b.subject === r.subject)?.value ?? 0 }));
  return [
    {
      name: 'traffic-nodes', title: 'Bytes each node sent over time (100 ms bins)', rows: series,
      spec: {
        ...base('Bytes each node sent over time (100 ms bins)', series),
        facet: { row: { field: 'subject', type: 'nominal', title: 'node' } },
        spec: { width: 480, height: 60, mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.2 }, encoding: { x: { field: 'x', type: 'quantitative', title: 'time (s)' }, y: { field: 'mbps', type: 'quantitative', title: 'Mbit/s' }, color: colour } },
      },
    },
    {
      name: 'traffic-message-sizes', title: 'Message sizes', rows: sizes,
      spec: {
        ...base('Message sizes', sizes), width: 420, height: 240,
        mark: { type: 'bar' },
        encoding: { x: { field: 'x', type: 'ordinal', title: 'message size up to (MB)' }, xOffset: { field: 'scheduler' }, y: { field: 'value', type: 'quantitative', title: 'messages' }, color: colour },
      },
    },
    {
      name: 'traffic-burstiness', title: 'Burstiness of each node\'s sending (peak / mean)', rows: bursts,
      spec: {
        ...base('Burstiness of each node\'s sending (peak / mean)', bursts),
        facet: { column: { field: 'bins', type: 'nominal', title: 'bin' } },
        spec: { width: 220, height: 220, mark: { type: 'bar' }, encoding: { x: { field: 'node', type: 'nominal', title: 'node', axis: { labelAngle: 0 } }, xOffset: { field: 'scheduler' }, y: { field: 'peak_to_mean', type: 'quantitative', title: 'peak-to-mean ratio' }, color: colour } },
      },
    },
    {
      name: 'traffic-link-shares', title: 'Share of the bytes each directed link carried (outlined: bottlenecks)', rows: shares,
      spec: {
        ...base('Share of the bytes each directed link carried (outlined: bottlenecks)', shares), width: 480, height: 240,
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'subject', type: 'nominal', title: 'directed link', axis: { labelAngle: -40 } }, xOffset: { field: 'scheduler' },
          y: { field: 'value', type: 'quantitative', title: 'share of bytes', axis: { format: '.0%' } }, color: colour,
          stroke: { condition: { test: 'datum.bottleneck == 1', value: '#000000' }, value: null }, strokeWidth: { value: 1.5 },
        },
      },
    },
  ];
}
