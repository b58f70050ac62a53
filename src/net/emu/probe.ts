/**
 * What this host's kernel can do for emulated runs: probed, not assumed.
 * Qdiscs are tried on a veth pair inside a throwaway namespace, removed on
 * every exit path (also on Ctrl-C). Which modes follow is for
 * run/link-backends.ts to say.
 */
import { constants, openSync, closeSync } from 'node:fs';
import { run, succeeds } from './exec.js';
import { onTeardown } from '../../util/teardown.js';

/** The qdiscs emulated links may use, and the filter action kernel links need (mirred: an outage's nudge, net/kernel/shaping.ts). */
export interface Qdiscs {
  htb: boolean;
  tbf: boolean;
  netem: boolean;
  mirred: boolean;
}

export async function version(file: string, flag: string): Promise<string | null> {
  try {
    return (await run(file, [flag])).trim();
  } catch {
    return null;
  }
}

export function tunUsable(): boolean {
  try {
    closeSync(openSync('/dev/net/tun', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

/** Try each qdisc on a veth end in a fresh namespace; the namespace is always removed. */
export async function probeQdiscs(): Promise<{ namespaces: boolean; qdiscs: Qdiscs }> {
  const ns = `gb-probe-${process.pid}`;
  const none = { htb: false, tbf: false, netem: false, mirred: false };
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
    const mirred = async () => {
      if (!(await succeeds('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'gbp0', 'root', 'handle', '1:', 'htb']))) return false;
      return succeeds('tc', ['-n', ns, 'filter', 'add', 'dev', 'gbp0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dport', '9', '0xffff',
        'action', 'mirred', 'egress', 'redirect', 'dev', 'lo']);
    };
    return {
      namespaces: true,
      qdiscs: {
        htb: await tryQdisc(['handle', '1:', 'htb', 'default', '1']),
        tbf: await tryQdisc(['tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '50ms']),
        netem: await tryQdisc(['netem', 'delay', '10ms']),
        mirred: await mirred(),
      },
    };
  } finally {
    unregister();
    await remove();
  }
}
