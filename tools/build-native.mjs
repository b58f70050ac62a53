// Builds geobed's native link emulator (native/main.c, state.c, control.c, link.c, pcap.c,
// queue.c; see native/linkem.h) with the system C
// compiler into native/build/. Without a compiler it says so and carries on:
// everything but the native link backend works without it (`geobed doctor`
// tells which backends are available).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'native', 'build');
mkdirSync(out, { recursive: true });
const cc = process.env.CC || 'cc';
const builds = [
  ['geobed-linkem', ['main.c', 'state.c', 'control.c', 'link.c', 'queue.c', 'pcap.c']],
  ['packet-fuzz', ['packet-fuzz.c']],
  ['link-replay', ['link-replay.c', 'state.c', 'link.c', 'queue.c', 'pcap.c']],
];
for (const [binary, sources] of builds) {
  const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', join(out, binary), ...sources.map((s) => join(root, 'native', s))], { stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    process.stderr.write(`geobed: could not build native/${sources.join(', ')} with ${cc} (${r.error?.message ?? `exit ${r.status}`}); the native link backend will be unavailable\n`);
    process.exit(0);
  }
}
