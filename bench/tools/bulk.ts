/**
 * Traffic for measuring emulated links (tests, benchmarks):
 *   node bulk.js recv <address> <port> <seconds>   prints {"start": epoch ms, "samples": [bytes per ~100 ms ...],
 *                                                  "at": [ms from start at each sample's end ...]} once done
 *   node bulk.js send <address> <port> <seconds>   sends as fast as TCP allows, then exits
 *   node bulk.js echo <address> <port> <seconds>   a TCP server echoing what it gets
 *   node bulk.js ping <address> <port> <count>     one byte there and back over TCP, every 20 ms; prints {"rttMs": [...]}
 *   node bulk.js udprecv <address> <port> <seconds>  prints {"received": [sequence numbers]} once done
 *   node bulk.js udpsend <address> <port> <count>  that many 100-byte UDP datagrams numbered 0.., 20 per ms
 *   node bulk.js udpecho <address> <port> <seconds>  a UDP server echoing every datagram
 *   node bulk.js udpprobe <address> <port> <count>   a datagram every 10 ms to an echo; prints {"probes": [[sent epoch ms, round trip ms or -1 if lost]...]}
 * Run inside namespaces with `ip netns exec`. Only ever talks to the given
 * address, which geobed takes from 198.18.0.0/15.
 */
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';

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
  // when each sample ended: timers fire late, never early, so a sample spans 100 ms or a little more
  const at: number[] = [];
  let current = 0;
  let start = 0;
  const server = createServer((socket) => {
    start = Date.now();
    const t0 = performance.now();
    const tick = setInterval(() => {
      samples.push(current);
      at.push(performance.now() - t0);
      current = 0;
    }, 100);
    socket.on('data', (d) => {
      current += d.length;
    });
    setTimeout(() => {
      clearInterval(tick);
      process.stdout.write(`${JSON.stringify({ start, samples, at })}\n`);
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
} else if (mode === 'echo') {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => undefined);
  });
  server.listen(port, address, () => process.stdout.write('listening\n'));
  setTimeout(() => process.exit(0), seconds * 1000);
} else if (mode === 'ping') {
  const count = seconds;
  const rttMs: number[] = [];
  const socket = connect(port, address);
  socket.setNoDelay(true);
  let sentAt = 0;
  const ping = () => {
    sentAt = performance.now();
    socket.write('x');
  };
  socket.on('connect', ping);
  socket.on('data', () => {
    rttMs.push(performance.now() - sentAt);
    if (rttMs.length === count) {
      process.stdout.write(`${JSON.stringify({ rttMs })}\n`, () => process.exit(0));
      return;
    }
    setTimeout(ping, 20);
  });
  socket.on('error', (e) => {
    process.stderr.write(`ping: ${e.message}\n`);
    process.exit(1);
  });
} else if (mode === 'udprecv') {
  const received: number[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (m) => received.push(m.readUInt32BE(0)));
  socket.bind(port, address, () => process.stdout.write('listening\n'));
  // exit once the (large) answer is written: a pipe takes it in pieces
  setTimeout(() => process.stdout.write(`${JSON.stringify({ received })}\n`, () => process.exit(0)), seconds * 1000);
} else if (mode === 'udpsend') {
  const count = seconds;
  const socket = createSocket('udp4');
  let next = 0;
  const burst = () => {
    for (let i = 0; i < 20 && next < count; i++, next++) {
      const b = Buffer.alloc(100);
      b.writeUInt32BE(next, 0);
      socket.send(b, port, address);
    }
    if (next < count) setTimeout(burst, 1);
    else setTimeout(() => process.exit(0), 200);
  };
  burst();
} else if (mode === 'udpecho') {
  const socket = createSocket('udp4');
  socket.on('message', (m, from) => socket.send(m, from.port, from.address));
  socket.bind(port, address, () => process.stdout.write('listening\n'));
  setTimeout(() => process.exit(0), seconds * 1000);
} else if (mode === 'udpprobe') {
  const count = seconds;
  const socket = createSocket('udp4');
  // (send times on the emulated runs' clock, CLOCK_MONOTONIC ms: WallClock.epochNow)
  const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
  const sentAt: number[] = [];
  const rtt: number[] = [];
  socket.on('message', (m) => {
    const seq = m.readUInt32BE(0);
    if (rtt[seq] === -1) rtt[seq] = nowMs() - sentAt[seq];
  });
  let next = 0;
  const probe = () => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(next, 0);
    sentAt[next] = nowMs();
    rtt[next] = -1;
    socket.send(b, port, address);
    if (++next < count) setTimeout(probe, 10);
    // (a probe unanswered 1 s after the last one was sent is lost)
    else setTimeout(() => process.stdout.write(`${JSON.stringify({ probes: sentAt.map((t, i) => [t, rtt[i]]) })}\n`, () => process.exit(0)), 1000);
  };
  probe();
} else {
  process.stderr.write('usage: bulk.js recv|send|echo|udprecv|udpecho <address> <port> <seconds>, or ping|udpsend|udpprobe <address> <port> <count>\n');
  process.exit(2);
}
