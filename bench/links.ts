/**
 * npm run bench:links — iperf3-style figures of one emulated link on each
 * backend (root): two nodes, 100 Mbit/s each way; TCP goodput over 10 s,
 * the round trip of UDP probes (every 10 ms) idle and under that load, and
 * the loss 100,000 UDP datagrams meet on a link with 1% loss. Kernel links
 * get the delay and loss only where the kernel has netem.
 */
import { execa, type ResultPromise } from 'execa';
import { join } from 'node:path';
import { Topology } from '../src/net/topology.js';
import { NativeNetwork } from '../src/net/native/network.js';
import { KernelNetwork } from '../src/net/kernel/network.js';
import { DEFAULT_NAMESPACE_TCP, type EmulatedLinks, type LinkShape } from '../src/net/emu/links.js';
import { probeQdiscs } from '../src/net/emu/probe.js';
import { PAYLOAD_PER_FRAME, FRAME_BYTES } from '../src/net/wire.js';
import { PACKAGE_ROOT } from '../src/util/paths.js';
import { formatTable } from '../src/cli/table.js';
import { goodputMbps } from './tools/goodput.js';

const BULK = join(PACKAGE_ROOT, 'dist', 'bench', 'tools', 'bulk.js');
const MBPS = 100;
const DELAY_MS = 20;
const children: ResultPromise[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pair = () => Topology.fromSpecs(['a', 'b'], [{ from: 'a', to: 'b', delayS: 0 }, { from: 'b', to: 'a', delayS: 0 }]);

function tool(net: EmulatedLinks, node: string, args: string[]): ResultPromise {
  const child = execa('ip', ['netns', 'exec', net.namespaceOf(node), 'node', BULK, ...args], { reject: false });
  children.push(child);
  return child;
}
const listening = (child: ResultPromise) => new Promise((resolve) => child.stdout!.once('data', resolve));
const lastJson = async (child: ResultPromise) => JSON.parse(String((await child).stdout).trim().split('\n').pop()!);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function probes(net: EmulatedLinks, count: number, port: number): Promise<number[]> {
  const echo = tool(net, 'b', ['udpecho', net.addressOf('b'), String(port), String(count / 100 + 5)]);
  await listening(echo);
  const { probes: p } = await lastJson(tool(net, 'a', ['udpprobe', net.addressOf('b'), String(port), String(count)]));
  return (p as [number, number][]).map(([, rtt]) => rtt).filter((rtt) => rtt >= 0);
}

async function measure(name: string, build: (shape: LinkShape) => Promise<EmulatedLinks>, shape: LinkShape, lossShape: LinkShape | null): Promise<string[]> {
  const net = await build(shape);
  let row: string[];
  try {
    const idle = await probes(net, 200, 6201);
    const recv = tool(net, 'b', ['recv', net.addressOf('b'), '5201', '10']);
    await listening(recv);
    tool(net, 'a', ['send', net.addressOf('b'), '5201', '10.3']);
    await sleep(2000);
    const loaded = await probes(net, 500, 6202); // seconds 2-7 of the transfer
    const goodput = goodputMbps(await lastJson(recv), 20, 98);
    const payloadRate = (MBPS * PAYLOAD_PER_FRAME) / FRAME_BYTES;
    row = [
      name, `${shape.mbps} Mbit/s, ${(shape.delayS * 1000).toFixed(0)} ms each way`,
      `${goodput.toFixed(1)} (${((100 * goodput) / payloadRate).toFixed(1)}% of ${payloadRate.toFixed(1)})`,
      `${quantile(idle, 0).toFixed(2)} / ${quantile(idle, 0.5).toFixed(2)}`,
      `${quantile(loaded, 0.5).toFixed(2)} / ${quantile(loaded, 0.95).toFixed(2)}`,
    ];
  } finally {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await net.teardown();
  }
  if (!lossShape) return [...row, 'n/a (no netem)'];
  const lossy = await build(lossShape);
  try {
    const recv = tool(lossy, 'b', ['udprecv', lossy.addressOf('b'), '5301', '12']);
    await listening(recv);
    await tool(lossy, 'a', ['udpsend', lossy.addressOf('b'), '5301', '100000']);
    const { received } = await lastJson(recv);
    return [...row, `${(100 * (1 - received.length / 100_000)).toFixed(2)}% (of 100,000 at ${lossShape.lossPercent}%)`];
  } finally {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await lossy.teardown();
  }
}

if (process.getuid?.() !== 0) {
  process.stderr.write('bench:links needs root (it creates network namespaces)\n');
  process.exit(2);
}
const netem = (await probeQdiscs()).qdiscs.netem;
const shape = (delayMs: number, lossPercent = 0): LinkShape => ({ mbps: MBPS, delayS: delayMs / 1000, lossPercent, queuePackets: null });
const rows = [
  await measure('kernel (htb)', (s) => KernelNetwork.build(pair(), [s, s]), shape(netem ? DELAY_MS : 0), netem ? shape(DELAY_MS, 1) : null),
  await measure('native', (s) => NativeNetwork.build(pair(), [s, s]), shape(DELAY_MS), shape(DELAY_MS, 1)),
];
/**
 * A path with a high bandwidth-delay product (200 Mbit/s, 75 ms each way:
 * 3.75 MB) on the native emulator with the buffers geobed gives the hosts
 * (auto: 4 x the product, 15 MiB) and the hosts' default congestion
 * control (bbr): TCP goodput over 20 s after 5 s of start-up, against the
 * link's payload rate (issue 14's goal: 95%).
 */
async function highBdp(): Promise<string> {
  const shapeOf = { mbps: 200, delayS: 0.075, lossPercent: 0, queuePackets: null };
  const net = await NativeNetwork.build(pair(), [shapeOf, shapeOf], { tcp: { ...DEFAULT_NAMESPACE_TCP, bufferBytes: 15 * 1024 * 1024 } });
  try {
    const recv = tool(net, 'b', ['recv', net.addressOf('b'), '5401', '25']);
    await listening(recv);
    tool(net, 'a', ['send', net.addressOf('b'), '5401', '25.3']);
    const goodput = goodputMbps(await lastJson(recv), 50, 248);
    const payloadRate = (200 * PAYLOAD_PER_FRAME) / FRAME_BYTES;
    return `high-BDP path (native, 200 Mbit/s, 75 ms each way, 15 MiB buffers, bbr): ${goodput.toFixed(1)} Mbit/s of TCP goodput over 20 s, ${((100 * goodput) / payloadRate).toFixed(1)}% of the link's payload rate (${payloadRate.toFixed(1)}); goal 95%: ${goodput >= 0.95 * payloadRate ? 'met' : 'NOT met'}\n`;
  } finally {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await net.teardown();
  }
}
const fill = await highBdp();

process.stdout.write(`\none emulated link, both ways alike; goodput of bulk TCP (payload, Mbit/s), UDP probe round trips (ms) idle and under that load (fair queueing: the probes are a flow of their own):\n\n${
  formatTable(['backend', 'link', 'TCP goodput', 'RTT idle min / median', 'RTT loaded median / p95', 'UDP loss'], rows)}\n`);
process.stdout.write(`\n${fill}`);
