/**
 * Leftovers of emulated runs whose owner is gone (owners.ts): their
 * namespaces and management networks. The next emulated run and `geobed
 * clean` remove them; a live run's are kept (unless `clean --force`).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTicks } from '../../util/process.js';
import { listNamespaces, run, NAMESPACE_PATTERN } from './exec.js';
import { isAlive, OWNERS_DIR, readOwner, type OwnerRecord } from './owners.js';
import { managementTags, removeManagementOf } from './management.js';

export interface NamespaceGroup {
  /** A run's tag, or "probe-<pid>" for doctor's probe. */
  tag: string;
  namespaces: string[];
  owner: OwnerRecord | null;
  alive: boolean;
}

/** geobed's namespaces on this host, grouped by the run (or probe) that made them. */
export async function namespaceGroups(): Promise<NamespaceGroup[]> {
  const groups = new Map<string, string[]>();
  for (const ns of (await listNamespaces()).filter((n) => NAMESPACE_PATTERN.test(n))) {
    const probe = /^gb-(probe-\d+)$/.exec(ns);
    const tag = probe ? probe[1] : ns.slice(3, 9);
    groups.set(tag, [...(groups.get(tag) ?? []), ns]);
  }
  return [...groups].map(([tag, namespaces]) => {
    if (tag.startsWith('probe-')) {
      const alive = processStartTicks(Number(tag.slice(6))) !== null;
      return { tag, namespaces, owner: null, alive };
    }
    const owner = readOwner(tag);
    // no record: made by a process that never wrote one (an older geobed), and so not a live run of this one
    return { tag, namespaces, owner, alive: owner !== null && isAlive(owner) };
  });
}

/** Remove the namespaces of runs whose owner is gone (every run's, with `force`); returns what was removed. */
export async function removeLeftovers(options: { force?: boolean } = {}): Promise<{ removed: NamespaceGroup[]; live: NamespaceGroup[] }> {
  const removed: NamespaceGroup[] = [];
  const live: NamespaceGroup[] = [];
  for (const group of await namespaceGroups()) {
    if (group.alive && !options.force) {
      live.push(group);
      continue;
    }
    for (const ns of group.namespaces) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await removeManagementOf(group.tag);
    rmSync(join(OWNERS_DIR, `${group.tag}.json`), { force: true });
    removed.push(group);
  }
  // management networks whose namespaces are gone already
  for (const tag of await managementTags()) {
    const owner = readOwner(tag);
    if (removed.some((g) => g.tag === tag) || (owner && isAlive(owner) && !options.force)) continue;
    await removeManagementOf(tag);
  }
  // records whose namespaces are all gone already
  let records: string[] = [];
  try {
    records = readdirSync(OWNERS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    // no folder: nothing recorded
  }
  for (const file of records) {
    const owner = readOwner(file.replace(/\.json$/, ''));
    if (owner && !isAlive(owner) && !removed.some((g) => g.tag === owner.tag)) rmSync(join(OWNERS_DIR, file), { force: true });
  }
  return { removed, live };
}

/** "3 namespaces of run 1a2b3c (pid 4242, gone)" */
export function describeGroup(g: NamespaceGroup): string {
  const who = g.owner ? `pid ${g.owner.pid}` : g.tag.startsWith('probe-') ? `pid ${g.tag.slice(6)}` : 'no owner recorded';
  return `${g.namespaces.length} namespace(s) of ${g.tag.startsWith('probe-') ? 'a doctor probe' : `run ${g.tag}`} (${who}, ${g.alive ? 'running' : 'gone'})`;
}
