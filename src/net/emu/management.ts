/**
 * The management network of an emulated run (`--control tcp`): one
 * unshaped veth from each node's namespace to a bridge on the host, so that
 * the control plane can ride TCP (as it would to agents on other hosts)
 * without touching the shaped WAN.
 *
 * Addresses: 198.19.128.0/17 is cut into 16 slots of a /21, one per run
 * that uses a management network at once; in slot s the host's bridge
 * gbm-<tag> answers on 198.19.128.0 + 2048·s + 1 and node i on + 2 + i.
 * The node addresses of the WAN (198.19.(i >> 8).(i & 255)) stay below it,
 * since a run with a management network has at most 2,045 nodes. A slot
 * is claimed with a file in /run/geobed that names the run (made only if
 * absent; a gone run's slot is taken over), like the run's namespaces and
 * bridge it is removed by the run's teardown or by `geobed clean` once the
 * run is gone. Bridge ports are isolated: a namespace reaches the host over
 * its veth, never another namespace.
 */
import { ipv4 } from './addresses.js';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { batch, run } from './exec.js';
import { isLiveTag, OWNERS_DIR } from './owners.js';
import { onTeardown } from '../../util/teardown.js';
import { UserError } from '../../util/errors.js';

const BASE = (198 << 24) | (19 << 16) | (128 << 8);
const SLOT_SIZE = 2048;
export const MANAGEMENT_SLOTS = 16;
/** Nodes one slot can address (its network, broadcast and the host's address are taken). */
export const MANAGEMENT_MAX_NODES = SLOT_SIZE - 3;
/** The interface in each namespace. */
const DEVICE = 'mgmt';

export class ManagementNetwork {
  private tearing: Promise<void> | null = null;
  private unregister: (() => void) | null = null;

  private constructor(readonly tag: string, readonly slot: number, private readonly nodes: readonly string[]) {}

  /** The bridge: gbm-<tag>; its ports gbm<tag>-<node index>. */
  get bridge(): string {
    return `gbm-${this.tag}`;
  }

  /** The host's address on the bridge (where the coordinator listens). */
  get hostAddress(): string {
    return ipv4(BASE + SLOT_SIZE * this.slot + 1);
  }

  addressOf(node: string): string {
    return ipv4(BASE + SLOT_SIZE * this.slot + 2 + this.nodes.indexOf(node));
  }

  /**
   * Claim a free slot and connect every node's namespace to it. On failure
   * everything made so far is removed.
   */
  static async build(tag: string, nodes: readonly string[], namespaceOf: (node: string) => string): Promise<ManagementNetwork> {
    if (nodes.length > MANAGEMENT_MAX_NODES) {
      throw new UserError(`--control tcp: a management network addresses at most ${MANAGEMENT_MAX_NODES} nodes; this scenario has ${nodes.length} (use --control ipc)`);
    }
    const slot = claimSlot(tag);
    const net = new ManagementNetwork(tag, slot, nodes);
    net.unregister = onTeardown(() => net.teardown());
    try {
      await run('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
      // (addrgenmode none: no IPv6 link-local address, so nothing but the control plane's own packets)
      await batch('ip', null, [
        `link set ${net.bridge} addrgenmode none`, `addr add ${net.hostAddress}/21 dev ${net.bridge}`, `link set ${net.bridge} up`,
        ...nodes.flatMap((node, i) => {
          const port = `gbm${tag}-${i}`;
          return [
            `link add ${port} type veth peer name ${DEVICE} netns ${namespaceOf(node)}`,
            `link set ${port} addrgenmode none`, `link set ${port} master ${net.bridge}`, `link set dev ${port} type bridge_slave isolated on`, `link set ${port} up`,
          ];
        }),
      ]);
      for (const node of nodes) {
        await batch('ip', namespaceOf(node), [`link set ${DEVICE} addrgenmode none`, `addr add ${net.addressOf(node)}/21 dev ${DEVICE}`, `link set ${DEVICE} up`]);
      }
    } catch (e) {
      await net.teardown();
      throw e;
    }
    return net;
  }

  /** Remove the bridge and its ports (the namespaces' ends go with their namespaces, or with the ports). */
  teardown(): Promise<void> {
    this.tearing ??= (async () => {
      this.unregister?.();
      await removeManagementOf(this.tag);
    })();
    return this.tearing;
  }
}

/** Claim the first free slot: its file in OWNERS_DIR, made only if it does not exist, names the run. */
function claimSlot(tag: string): number {
  mkdirSync(OWNERS_DIR, { recursive: true });
  for (let slot = 0; slot < MANAGEMENT_SLOTS; slot++) {
    const file = slotFile(slot);
    try {
      writeFileSync(file, `${tag}\n`, { flag: 'wx' });
      return slot;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // a slot of a run that is gone is free again
      if (!isLiveTag(readFileSync(file, 'utf8').trim())) rmSync(file, { force: true });
      else continue;
      try {
        writeFileSync(file, `${tag}\n`, { flag: 'wx' });
        return slot;
      } catch {
        // taken in between
      }
    }
  }
  throw new UserError(`--control tcp: all ${MANAGEMENT_SLOTS} management networks are in use by other runs`);
}

const slotFile = (slot: number) => join(OWNERS_DIR, `management-${slot}`);

/** Remove the management network (bridge, ports, slot) of a run that is gone. */
export async function removeManagementOf(tag: string): Promise<void> {
  const bridge = `gbm-${tag}`;
  const ports = JSON.parse(await run('ip', ['-j', 'link', 'show', 'master', bridge]).catch(() => '[]')) as { ifname: string }[];
  for (const p of ports) await run('ip', ['link', 'del', p.ifname]).catch(() => undefined);
  await run('ip', ['link', 'del', bridge]).catch(() => undefined);
  for (let slot = 0; slot < MANAGEMENT_SLOTS; slot++) {
    try {
      if (readFileSync(slotFile(slot), 'utf8').trim() === tag) rmSync(slotFile(slot), { force: true });
    } catch {
      // no such slot file
    }
  }
}

/** The tags of geobed's management bridges on this host. */
export async function managementTags(): Promise<string[]> {
  const links = JSON.parse(await run('ip', ['-j', 'link', 'show', 'type', 'bridge'])) as { ifname: string }[];
  return links.map((l) => /^gbm-([0-9a-f]{6})$/.exec(l.ifname)?.[1]).filter((t): t is string => t !== undefined);
}
