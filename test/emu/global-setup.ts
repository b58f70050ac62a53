/**
 * Before the emulation tests: each test checks that it left no geobed
 * namespace behind, so namespaces already on the host would fail them all.
 * Those of runs whose process is gone (a run or a test suite killed with
 * SIGKILL) are removed here, as `geobed clean` does, and named on stderr;
 * a live run's are not touched, and the suite stops with what to do.
 */
import { removeLeftovers } from '../../src/net/emu/leftovers.js';

export default async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { removed, live } = await removeLeftovers();
  for (const g of removed) process.stderr.write(`emulation tests: removed the namespaces of a run that is gone: ${g.namespaces.join(', ')}\n`);
  if (live.length) {
    const who = live.map((g) => `${g.namespaces.join(', ')}${g.owner ? ` (pid ${g.owner.pid}: ${g.owner.command.join(' ')})` : ''}`).join('; ');
    throw new Error(`emulation tests: another emulated run is using this host's namespaces: ${who}. Let it finish (or stop it, then run geobed clean) and test again.`);
  }
}
