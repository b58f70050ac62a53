/**
 * npm run bench:native — what the native link emulator sustains on this
 * host (root). Two pairs of nodes (a-b, c-d), every link at the same rate,
 * a->b and c->d kept busy by bulk TCP (the reverse links carry their
 * ACKs): the highest rate at which both loaded links carry at least 95% of it (rates doubled from 100 Mbit/s until one fails,
 * then the gap halved twice), as bits and packets per second in aggregate.
 * Then the latency it adds at zero configured delay: TCP round trips over
 * it against the same over a plain veth pair, halved per hop.
 * Goals: at least 1 Gbit/s aggregate of 1500-byte packets; under 0.2 ms
 * added per hop.
 */
import { execa, type ResultPromise } from 'execa';
import { join } from 'node:path';
import { Topology } from '../src/net/topology.js';
import { NativeNetwork } from '../src/net/native/network.js';
import { KernelNetwork } from '../src/net/kernel/network.js';
import type { LinkemCounters } from '../src/net/native/linkem.js';
import { PACKAGE_ROOT } from '../src/util/paths.js';
import { formatTable } from '../src/cli/table.js';

const BULK = join(PACKAGE_ROOT, 'dist', 'bench', 'tools', 'bulk.js');
const GOAL_SHARE = 0.95;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pair = () => Topology.fromSpecs(['a', 'b'], [{ from: 'a', to: 'b', delayS: 0 }, { from: 'b', to: 'a', delayS: 0 }]);
const twoPairs = () => Topology.fromSpecs(['a', 'b', 'c', 'd'], [['a', 'b'], ['b', 'a'], ['c', 'd'], ['d', 'c']].map(([from, to]) => ({ from, to, delayS: 0 })));
const shape = (mbps: number) => ({ mbps, delayS: 0, lossPercent: 0, queuePackets: null });
const children: ResultPromise[] = [];

function inNamespace(ns: string, args: string[]): ResultPromise {
  const child = execa('ip', ['netns', 'exec', ns, 'node', BULK, ...args], { reject: false });
  children.push(child);
  return child;
}

const firstLine = (child: ResultPromise) => new Promise((resolve) => child.stdout!.once('data', resolve));

/** The loaded links' (a->b: 0, c->d: 2) carried share of `mbps`, and the packet rate of all links. */
async function sharesAt(mbps: number): Promise<{ shares: number[]; pps: number; mbpsCarried: number }> {
  const net = await NativeNetwork.build(twoPairs(), [shape(mbps), shape(mbps), shape(mbps), shape(mbps)]);
  try {
    const seconds = 3;
    for (const [from, to, port] of [['a', 'b', 5001], ['c', 'd', 5002]] as const) {
      const recv = inNamespace(net.namespaceOf(to), ['recv', net.addressOf(to), String(port), String(seconds + 1)]);
      await firstLine(recv);
      inNamespace(net.namespaceOf(from), ['send', net.addressOf(to), String(port), String(seconds + 1.3)]);
    }
    await sleep(1000); // past slow start
    const samples: LinkemCounters[][] = [[], [], [], []];
    net.linkem.onStats((c) => samples[c.link]?.push(c));
    await net.linkem.command('stats 100');
    await sleep(seconds * 1000);
    await net.linkem.command('stats 0');
    let pps = 0, carried = 0;
    const rates = samples.map((s) => {
      const [first, last] = [s[0], s[s.length - 1]];
      const dt = (last.atMs - first.atMs) / 1000;
      pps += (last.outPackets - first.outPackets) / dt;
      return ((last.outBytes - first.outBytes) * 8) / 1e6 / dt;
    });
    carried = rates.reduce((a, b) => a + b, 0);
    return { shares: [rates[0] / mbps, rates[2] / mbps], pps, mbpsCarried: carried };
  } finally {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await net.teardown();
  }
}

async function medianRttMs(namespaceA: string, namespaceB: string, addressB: string): Promise<number> {
  const echo = inNamespace(namespaceB, ['echo', addressB, '6001', '30']);
  await firstLine(echo);
  const ping = await inNamespace(namespaceA, ['ping', addressB, '6001', '60']);
  echo.kill('SIGKILL');
  const rtts = (JSON.parse(String(ping.stdout).trim()) as { rttMs: number[] }).rttMs.slice(10).sort((x, y) => x - y);
  return rtts[Math.floor(rtts.length / 2)];
}

if (process.getuid?.() !== 0) {
  process.stderr.write('bench:native needs root (it creates network namespaces)\n');
  process.exit(2);
}

// Throughput: double, then bisect.
const tried: Record<string, string>[] = [];
const found: { good: { mbps: number; pps: number; carried: number } | null } = { good: null };
let bad = 0;
const trial = async (mbps: number) => {
  const r = await sharesAt(mbps);
  const worst = Math.min(...r.shares);
  tried.push({ 'per link Mbit/s': String(mbps), 'lowest loaded link': `${(100 * worst).toFixed(1)}%`, 'carried Mbit/s (all links)': r.mbpsCarried.toFixed(0), 'packets/s (all links)': r.pps.toFixed(0) });
  process.stdout.write(`  ${mbps} Mbit/s per link: lowest link ${(100 * worst).toFixed(1)}%, ${r.pps.toFixed(0)} packets/s\n`);
  if (worst >= GOAL_SHARE) found.good = { mbps, pps: r.pps, carried: r.mbpsCarried };
  return worst >= GOAL_SHARE;
};
for (let r = 100; r <= 20_000; r *= 2) {
  if (!(await trial(r))) {
    bad = r;
    break;
  }
}
for (let i = 0; i < 2 && bad > 0 && found.good; i++) {
  const mid = Math.round((found.good.mbps + bad) / 2);
  if (!(await trial(mid))) bad = mid;
}

// Latency at zero delay: native against a plain veth pair.
const native = await NativeNetwork.build(pair(), [shape(10_000), shape(10_000)]);
let nativeRtt: number;
try {
  nativeRtt = await medianRttMs(native.namespaceOf('a'), native.namespaceOf('b'), native.addressOf('b'));
} finally {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await native.teardown();
}
const veth = await KernelNetwork.build(pair(), [10_000, 10_000], { queueing: 'fifo' });
let vethRtt: number;
try {
  vethRtt = await medianRttMs(veth.namespaceOf('a'), veth.namespaceOf('b'), veth.addressOf('b'));
} finally {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await veth.teardown();
}

const best = found.good;
process.stdout.write(`\nnative link emulator, two pairs of nodes, bulk TCP a->b and c->d (1500-byte packets; carried and packets count every link, ACKs included):\n\n${formatTable(Object.keys(tried[0]), tried.map((t) => Object.values(t)))}\n\n`);
process.stdout.write(best
  ? `highest rate with both loaded links >= ${GOAL_SHARE * 100}%: ${best.mbps} Mbit/s per link, ${(best.carried / 1000).toFixed(2)} Gbit/s and ${Math.round(best.pps)} packets/s in aggregate; goal >= 1 Gbit/s: ${best.carried >= 1000 ? 'met' : 'NOT met'}\n`
  : 'no rate tried kept both links within 5%\n');
const perHop = (nativeRtt - vethRtt) / 2;
process.stdout.write(`TCP round trip at zero delay: ${nativeRtt.toFixed(3)} ms native, ${vethRtt.toFixed(3)} ms over a veth pair; added per hop ${perHop.toFixed(3)} ms; goal < 0.2 ms: ${perHop < 0.2 ? 'met' : 'NOT met'}\n`);
