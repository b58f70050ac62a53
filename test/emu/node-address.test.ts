/**
 * A node's address sits on an interface of its own in its namespace, not
 * on the loopback (issue 29): programs that look for their address skip
 * loopback interfaces (ps-lite's address detection, Open MPI's TCP
 * transport) or take an interface's address (gloo's GLOO_SOCKET_IFNAME),
 * and must find the node's. Both link backends.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { parseScenario } from '../../src/scenario/load.js';
import { scenarioTopology } from '../../src/run/simulate.js';
import { buildLinks, type LinkBackend } from '../../src/run/link-backends.js';
import type { EmulatedLinks } from '../../src/net/emu/links.js';
import { scenarioText } from '../helpers.js';
import { cleanUpAfterEach, isRoot } from './emu-helpers.js';

let net: EmulatedLinks | null = null;
const children = cleanUpAfterEach(async () => {
  await net?.teardown();
  net = null;
});

/** As gloo does with GLOO_SOCKET_IFNAME: the interface's IPv4 address (SIOCGIFADDR), bound to, and a connection from it. */
const PROGRAM = `
import fcntl, socket, struct, sys
iface, role, peer, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket()
own = socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, struct.pack('256s', iface.encode()))[20:24])
if role == 'listen':
    s.bind((own, port)); s.listen(1)
    print(own, flush=True)
    c, (addr, _) = s.accept()
    data = b''
    while len(data) < 1 << 20:
        chunk = c.recv(65536)
        if not chunk: break
        data += chunk
    print(addr, len(data), flush=True)
else:
    s.bind((own, 0)); s.connect((peer, port)); s.sendall(b'x' * (1 << 20)); s.close()
    print(own, flush=True)
`;

describe.skipIf(!isRoot)('node addresses (root)', () => {
  for (const backend of ['kernel', 'native'] as const satisfies readonly LinkBackend[]) {
    it(`${backend} links: the node's address on a non-loopback interface that is up, and a program that takes that interface's address connects from it`, async () => {
      const scenario = parseScenario(scenarioText({ nodes: 'nodes: [a, b]', links: 'links:\n  - between: [a, b]\n    bandwidth: 100' }), 's.yaml');
      const n = (net = await buildLinks(backend, scenario, scenarioTopology(scenario)));
      for (const node of ['a', 'b']) {
        const interfaces = JSON.parse((await execa('ip', ['-n', n.namespaceOf(node), '-j', 'addr', 'show'])).stdout) as {
          ifname: string; flags: string[]; addr_info: { family: string; local: string }[];
        }[];
        const holders = interfaces.filter((i) => i.addr_info.some((a) => a.family === 'inet' && a.local === n.addressOf(node)));
        expect(holders.map((i) => i.ifname)).toEqual([n.nodeInterface]);
        expect(holders[0].flags).not.toContain('LOOPBACK');
        expect(holders[0].flags).toContain('UP');
      }
      const listener = execa('ip', ['netns', 'exec', n.namespaceOf('b'), 'python3', '-c', PROGRAM, n.nodeInterface, 'listen', '-', '5400']);
      children.push(listener);
      const lines: string[] = [];
      listener.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
      for (let t = 0; t < 100 && lines.length === 0; t++) await new Promise((r) => setTimeout(r, 50));
      expect(lines[0]).toBe(n.addressOf('b'));
      const sender = await execa('ip', ['netns', 'exec', n.namespaceOf('a'), 'python3', '-c', PROGRAM, n.nodeInterface, 'send', n.addressOf('b'), '5400']);
      expect(sender.stdout.trim()).toBe(n.addressOf('a'));
      await listener;
      expect(lines[1]).toBe(`${n.addressOf('a')} ${1 << 20}`);
    }, 30_000);
  }
});
