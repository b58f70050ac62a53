/**
 * Who owns which namespaces. Every emulated network records its tag and
 * its process (PID and the process's start time, so a reused PID is not
 * taken for the owner) in /run/geobed/<tag>.json before it creates
 * anything, and removes the record after its teardown. A namespace whose
 * owner is gone (killed with SIGKILL, out of memory, power cut) is a
 * leftover: the next emulated run and `geobed clean` remove it; a live
 * run's namespaces are never touched (unless `clean --force`).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { processStartTicks } from '../../util/process.js';
import { join } from 'node:path';
import { listNamespaces, run, NAMESPACE_PATTERN } from './exec.js';

/** Cleared at boot, like the namespaces themselves (/run/netns). */
export const OWNERS_DIR = '/run/geobed';

export interface OwnerRecord {
  tag: string;
  pid: number;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat field 22). */
  startTicks: number;
  createdAt: string;
  command: string[];
}

function isAlive(owner: OwnerRecord): boolean {
  const ticks = processStartTicks(owner.pid);
  return ticks !== null && ticks === owner.startTicks;
}

/** Record this process as the owner of `tag`'s namespaces; returns the function that removes the record. */
export function claimTag(tag: string): () => void {
  mkdirSync(OWNERS_DIR, { recursive: true });
  const record: OwnerRecord = {
    tag, pid: process.pid, startTicks: processStartTicks(process.pid) ?? -1, createdAt: new Date().toISOString(), command: process.argv.slice(1),
  };
  const path = join(OWNERS_DIR, `${tag}.json`);
  writeFileSync(path, `${JSON.stringify(record)}\n`);
  return () => rmSync(path, { force: true });
}

function readOwner(tag: string): OwnerRecord | null {
  try {
    return JSON.parse(readFileSync(join(OWNERS_DIR, `${tag}.json`), 'utf8')) as OwnerRecord;
  } catch {
    return null;
  }
}

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
    rmSync(join(OWNERS_DIR, `${group.tag}.json`), { force: true });
    removed.push(group);
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
