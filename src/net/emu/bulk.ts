/**
 * A bulk TCP transfer for measuring emulated links (tests, benchmarks):
 *   node bulk.js recv <address> <port> <seconds>   prints {"start": epoch ms, "samples": [bytes per 100 ms ...]} once done
 *   node bulk.js send <address> <port> <seconds>   sends as fast as TCP allows, then exits
 * Run inside namespaces with `ip netns exec`. Only ever talks to the given
 * address, which geobed takes from 198.18.0.0/15.
 */
import { createServer, connect } from 'node:net';

const [mode, address, portText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const seconds = Number(secondsText);
if (!/^198\.1[89]\./.test(address ?? '')) {
  process.stderr.write('bulk: the address must be in 198.18.0.0/15\n');
  process.exit(2);
}

// Never outlive the measurement by much, connected or not.
setTimeout(() => process.exit(3), (seconds + 10) * 1000).unref();

if (mode === 'recv') {
  const samples: number[] = [];
  let current = 0;
  let start = 0;
  const server = createServer((socket) => {
    start = Date.now();
    const tick = setInterval(() => {
      samples.push(current);
      current = 0;
    }, 100);
    socket.on('data', (d) => {
      current += d.length;
    });
    setTimeout(() => {
      clearInterval(tick);
      process.stdout.write(`${JSON.stringify({ start, samples })}\n`);
      socket.destroy();
      server.close();
    }, seconds * 1000);
  });
  server.listen(port, address, () => process.stdout.write('listening\n'));
} else if (mode === 'send') {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const socket = connect(port, address);
  let open = true;
  const pump = () => {
    while (open && socket.write(chunk));
  };
  socket.on('connect', pump);
  socket.on('drain', pump);
  socket.on('error', () => process.exit(0));
  setTimeout(() => {
    open = false;
    socket.destroy();
    process.exit(0);
  }, seconds * 1000);
} else {
  process.stderr.write('usage: bulk.js recv|send <address> <port> <seconds>\n');
  process.exit(2);
}
