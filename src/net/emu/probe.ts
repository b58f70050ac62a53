/**
 * What this host can do for emulated runs: probed, not assumed. Qdiscs are
 * tried on a veth pair inside a throwaway namespace, removed on every exit
 * path (also on Ctrl-C).
 */
import { constants, openSync, closeSync } from 'node:fs';
import { cpus } from 'node:os';
import { run, succeeds } from './exec.js';
import { onTeardown } from '../../util/teardown.js';
import { LinkEmulator } from '../native/linkem.js';

export interface HostReport {
  root: boolean;
  /** `ip -V` output, or null when ip is missing. */
  iproute2: string | null;
  tc: boolean;
  namespaces: boolean;
  qdiscs: { htb: boolean; tbf: boolean; netem: boolean };
  tun: boolean;
  cpus: number;
  modes: { sim: string; emuRateOnly: string; emuDelayLoss: string };
}

async function version(file: string, flag: string): Promise<string | null> {
  try {
    return (await run(file, [flag])).trim();
  } catch {
    return null;
  }
}

function tunUsable(): boolean {
  try {
    closeSync(openSync('/dev/net/tun', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

/** Try each qdisc on a veth end in a fresh namespace; the namespace is always removed. */
export async function probeQdiscs(): Promise<{ namespaces: boolean; qdiscs: HostReport['qdiscs'] }> {
  const ns = `gb-probe-${process.pid}`;
  const none = { htb: false, tbf: false, netem: false };
  const remove = async () => {
    await succeeds('ip', ['netns', 'del', ns]);
  };
  const unregister = onTeardown(remove); // also on Ctrl-C / SIGTERM
  try {
    if (!(await succeeds('ip', ['netns', 'add', ns]))) return { namespaces: false, qdiscs: none };
    if (!(await succeeds('ip', ['-n', ns, 'link', 'add', 'gbp0', 'type', 'veth', 'peer', 'name', 'gbp1']))) {
      return { namespaces: true, qdiscs: none };
    }
    const tryQdisc = async (args: string[]) => {
      const ok = await succeeds('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'gbp0', 'root', ...args]);
      if (ok) await succeeds('tc', ['-n', ns, 'qdisc', 'del', 'dev', 'gbp0', 'root']);
      return ok;
    };
    return {
      namespaces: true,
      qdiscs: {
        htb: await tryQdisc(['handle', '1:', 'htb', 'default', '1']),
        tbf: await tryQdisc(['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '50ms']),
        netem: await tryQdisc(['netem', 'delay', '10ms']),
      },
    };
  } finally {
    unregister();
    await remove();
  }
}

export async function probeHost(): Promise<HostReport> {
  const root = process.getuid?.() === 0;
  const iproute2 = await version('ip', '-V');
  const tc = (await version('tc', '-V')) !== null;
  const probed = root && iproute2 && tc ? await probeQdiscs() : { namespaces: false, qdiscs: { htb: false, tbf: false, netem: false } };
  const tun = tunUsable();
  const missing: string[] = [];
  if (!root) missing.push('root');
  if (!iproute2) missing.push('ip (iproute2)');
  if (!tc) missing.push('tc (iproute2)');
  if (root && iproute2 && !probed.namespaces) missing.push('network namespaces');
  if (root && iproute2 && tc && probed.namespaces && !probed.qdiscs.htb) missing.push('the htb qdisc');
  const emuRateOnly = missing.length ? `no: needs ${missing.join(', ')}` : 'yes (htb)';
  const native = LinkEmulator.available() && tun;
  const emuDelayLoss = missing.length
    ? `no: needs ${missing.join(', ')}`
    : probed.qdiscs.netem
      ? `yes (htb + netem${native ? '; or --links native' : ''})`
      : native
        ? 'yes (the native link emulator; the kernel has no netem)'
        : `no: the kernel has no netem, and the native link emulator ${tun ? 'is not built (needs a C compiler, then npm run build)' : 'needs /dev/net/tun'}`;
  return {
    root, iproute2, tc, namespaces: probed.namespaces, qdiscs: probed.qdiscs, tun, cpus: cpus().length,
    modes: { sim: 'yes', emuRateOnly, emuDelayLoss },
  };
}
