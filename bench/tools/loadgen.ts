/**
 * Load for `npm run bench:emu`: one process per node, inside its namespace,
 * sending messages through the agents' own data plane (TcpTransport) to
 * each given peer for as long as it runs, keeping a few queued per peer so
 * every link stays busy.
 *
 *   node loadgen.js <node> <addresses JSON: node -> address> <bytes per message> <peer,peer,...>
 *
 * Prints "listening" once it accepts connections, starts sending on a "go"
 * line on stdin, and on "stop" stops sending and prints one JSON line
 * {messages, bytes, cpuMs} of what it received and the CPU it used; the
 * benchmark then kills it. Addresses
 * must be in 198.18.0.0/15.
 */
import { createInterface } from 'node:readline';
import { TcpTransport, WallClock } from '../../src/net/emu/transport.js';

const [node, addressesJson, bytesText, peersText] = process.argv.slice(2);
const addresses = JSON.parse(addressesJson ?? '{}') as Record<string, string>;
const bytes = Number(bytesText);
const peers = (peersText ?? '').split(',').filter(Boolean);
if (!node || Object.values(addresses).some((a) => !/^198\.1[89]\./.test(a)) || !Number.isFinite(bytes)) {
  process.stderr.write('usage: loadgen.js <node> <addresses JSON, in 198.18.0.0/15> <bytes> <peers>\n');
  process.exit(2);
}
// Never outlive the benchmark by much.
setTimeout(() => process.exit(3), 600_000).unref();

/** Enough queued per peer (about 2 MB, or 2000 empty messages) to outlast the 2 ms between top-ups. */
const QUEUED_PER_PEER = bytes > 0 ? Math.max(4, Math.ceil(2e6 / bytes)) : 2000;
let messages = 0, received = 0, sending = false;
const transport = new TcpTransport(node, addresses[node], (n) => addresses[n], new WallClock(), (e) => {
  // Peers stop at about the same time; a connection they close is no news.
  if (sending && !/ECONNRESET|EPIPE/.test(e.message)) process.stderr.write(`loadgen ${node}: ${e.message}\n`);
});
transport.onMessage((d) => {
  messages++;
  received += d.bytes;
});
const topUp = () => {
  if (!sending) return;
  for (const peer of peers) while (transport.queued(peer) < QUEUED_PER_PEER) transport.send(peer, bytes, null);
};
setInterval(topUp, 2);
await transport.listen();
process.stdout.write('listening\n');
const cpu0 = process.cpuUsage();
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'go') {
    sending = true;
    topUp();
  } else if (line === 'stop') {
    sending = false;
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(`${JSON.stringify({ messages, bytes: received, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
    // and wait to be killed: closing now would break the peers still reporting
  }
}
