/**
 * npm run bench:emu — how much traffic this host can emulate faithfully
 * (root). For meshes of 4, 9 and 16 nodes, every directed link set to the
 * same rate and kept busy by the agents' own data plane (loadgen.ts, 256 kB
 * messages to every neighbour): the highest aggregate rate at which every
 * busy link still carries at least 95% of its allowance (rates doubled
 * from 25 Mbit/s until one fails, then the gap halved twice). Then the
 * agents' per-message overhead: empty messages as fast as one sender can,
 * between two namespaces.
 *
 *   npm run bench:emu [-- 4,9,16]     (the node counts to try)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Topology } from '../src/net/topology.js';
import { KernelNetwork } from '../src/net/kernel/network.js';
import { LinkSampler } from '../src/net/emu/sampler.js';
import { onTeardown } from '../src/util/teardown.js';
import { PiecewiseTrace } from '../src/scenario/traces/piecewise.js';
import { PACKAGE_ROOT } from '../src/util/paths.js';
import { formatTable } from '../src/cli/table.js';

const LOADGEN = join(PACKAGE_ROOT, 'dist', 'bench', 'tools', 'loadgen.js');
const GOAL = 0.95;
const MESSAGE_BYTES = 256_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A ring, plus chords to the node three ahead on 8 nodes or more. */
function mesh(n: number): Topology {
  const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
  const pairs = new Set<string>();
  for (let i = 0; i < n; i++) {
    for (const step of n >= 8 ? [1, 3] : [1]) {
      const j = (i + step) % n;
      pairs.add([Math.min(i, j), Math.max(i, j)].join(','));
    }
  }
  const links = [...pairs].flatMap((p) => {
    const [a, b] = p.split(',').map(Number);
    return [{ from: nodes[a], to: nodes[b], delayS: 0 }, { from: nodes[b], to: nodes[a], delayS: 0 }];
  });
  return Topology.fromSpecs(nodes, links);
}

interface Load {
  procs: ChildProcess[];
  stop: () => Promise<{ messages: number; bytes: number; cpuMs: number }[]>;
}

/** One loadgen per node, sending `bytes`-byte messages to the given peers; resolves once all listen and are told to go. */
async function startLoad(net: KernelNetwork, topology: Topology, bytes: number, peersOf: (node: number) => number[]): Promise<Load> {
  const addresses = Object.fromEntries(topology.nodes.map((n) => [n, net.addressOf(n)]));
  const procs: ChildProcess[] = [];
  const lines: AsyncIterator<string>[] = [];
  for (let v = 0; v < topology.nodes.length; v++) {
    const peers = peersOf(v).map((w) => topology.nodes[w]).join(',');
    const child = spawn('ip', ['netns', 'exec', net.namespaces[v], process.execPath, LOADGEN, topology.nodes[v], JSON.stringify(addresses), String(bytes), peers], { stdio: ['pipe', 'pipe', 'inherit'] });
    procs.push(child);
    lines.push(createInterface({ input: child.stdout! })[Symbol.asyncIterator]());
  }
  for (const it of lines) await it.next(); // "listening"
  for (const p of procs) p.stdin!.write('go\n');
  return {
    procs,
    stop: async () => {
      for (const p of procs) p.stdin!.write('stop\n');
      const out = [];
      for (const it of lines) out.push(JSON.parse((await it.next()).value as string));
      for (const p of procs) p.kill('SIGKILL');
      return out;
    },
  };
}

/**
 * The lowest share of its rate any link carried over `seconds` at `mbps`
 * each. The load always has messages queued for every link, so every link
 * is busy throughout and should carry its whole allowance.
 */
async function worstShareAt(net: KernelNetwork, mbps: number, seconds: number): Promise<number> {
  for (const l of net.links) net.setRate(l.id, mbps);
  await sleep(700); // let TCP settle at the new rate
  const t0 = performance.now();
  const sampler = new LinkSampler(net.counters(), net.links.map(() => PiecewiseTrace.constant(mbps)), () => (performance.now() - t0) / 1000, 1);
  sampler.start();
  await sleep(seconds * 1000);
  await sampler.stop();
  const shares = sampler.meanCarriedMbps().map((carried) => (Number.isNaN(carried) ? 0 : carried / mbps));
  return Math.min(...shares);
}

async function highestFaithfulRate(n: number): Promise<Record<string, unknown>> {
  const topology = mesh(n);
  const net = await KernelNetwork.build(topology, topology.links.map(() => 50));
  let load: Load | null = null;
  const unregister = onTeardown(async () => {
    for (const p of load?.procs ?? []) p.kill('SIGKILL');
  });
  try {
    load = await startLoad(net, topology, MESSAGE_BYTES, (v) => topology.neighbours(v));
    await sleep(1000);
    const tried: [number, number][] = [];
    const ok = async (mbps: number) => {
      const worst = await worstShareAt(net, mbps, 2);
      tried.push([mbps, worst]);
      process.stdout.write(`  ${n} nodes, ${mbps} Mbit/s per link: lowest link ${(100 * worst).toFixed(1)}%\n`);
      return worst >= GOAL;
    };
    // Double until a rate fails, then halve the gap twice.
    let good = 0, bad = 0;
    for (let r = 25; r <= 20_000; r *= 2) {
      if (await ok(r)) good = r;
      else {
        bad = r;
        break;
      }
    }
    for (let i = 0; i < 2 && bad > 0; i++) {
      const mid = Math.round((good + bad) / 2);
      if (await ok(mid)) good = mid;
      else bad = mid;
    }
    const stats = await load.stop();
    load = null;
    return {
      nodes: n, 'directed links': net.links.length,
      'per link Mbit/s': good, 'aggregate Gbit/s': ((good * net.links.length) / 1000).toFixed(2),
      'first failing': bad ? `${bad} Mbit/s (worst link ${(100 * tried.find(([r]) => r === bad)![1]).toFixed(1)}%)` : '-',
      'loadgen CPU s': (stats.reduce((s, x) => s + x.cpuMs, 0) / 1000).toFixed(1),
    };
  } finally {
    for (const p of load?.procs ?? []) p.kill('SIGKILL');
    unregister();
    await net.teardown();
  }
}

async function perMessageOverhead(): Promise<Record<string, unknown>> {
  const topology = mesh(2);
  const net = await KernelNetwork.build(topology, [10_000, 10_000]);
  let load: Load | null = null;
  const unregister = onTeardown(async () => {
    for (const p of load?.procs ?? []) p.kill('SIGKILL');
  });
  try {
    const seconds = 3;
    load = await startLoad(net, topology, 0, (v) => (v === 0 ? [1] : []));
    await sleep(seconds * 1000);
    const [sender, receiver] = await load.stop();
    load = null;
    const rate = receiver.messages / seconds;
    return {
      'messages/s (one sender)': Math.round(rate),
      'wall us/message': (1e6 / rate).toFixed(1),
      'sender CPU us/message': ((sender.cpuMs * 1000) / receiver.messages).toFixed(1),
      'receiver CPU us/message': ((receiver.cpuMs * 1000) / receiver.messages).toFixed(1),
    };
  } finally {
    for (const p of load?.procs ?? []) p.kill('SIGKILL');
    unregister();
    await net.teardown();
  }
}

if (process.getuid?.() !== 0) {
  process.stderr.write('bench:emu needs root (it creates network namespaces)\n');
  process.exit(2);
}
const rows = [];
for (const n of (process.argv[2] ?? '4,9,16').split(',').map(Number)) {
  rows.push(await highestFaithfulRate(n));
}
process.stdout.write(`\nHighest rate at which every busy link carries >= ${GOAL * 100}% of its allowance (${MESSAGE_BYTES / 1000} kB messages to every neighbour):\n\n`);
process.stdout.write(`${formatTable(Object.keys(rows[0]), rows.map((r) => Object.values(r).map(String)))}\n`);
const overhead = await perMessageOverhead();
process.stdout.write('\nAgent data plane, empty messages between two namespaces (10 Gbit/s link):\n\n');
process.stdout.write(`${formatTable(Object.keys(overhead), [Object.values(overhead).map(String)])}\n`);
