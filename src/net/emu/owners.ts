/**
 * Who owns which namespaces. Every emulated network records its tag and
 * its process (PID and the process's start time, so a reused PID is not
 * taken for the owner) in /run/geobed/<tag>.json before it creates
 * anything, and removes the record after its teardown. A namespace whose
 * owner is gone (killed with SIGKILL, out of memory, power cut) is a
 * leftover: the next emulated run and `geobed clean` remove it; a live
 * run's namespaces are never touched (unless `clean --force`): see
 * leftovers.ts.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { processStartTicks } from '../../util/process.js';
import { join } from 'node:path';

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

export function isAlive(owner: OwnerRecord): boolean {
  const ticks = processStartTicks(owner.pid);
  return ticks !== null && ticks === owner.startTicks;
}

/** Is the run with this tag still going? */
export function isLiveTag(tag: string): boolean {
  const owner = readOwner(tag);
  return owner !== null && isAlive(owner);
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

export function readOwner(tag: string): OwnerRecord | null {
  try {
    return JSON.parse(readFileSync(join(OWNERS_DIR, `${tag}.json`), 'utf8')) as OwnerRecord;
  } catch {
    return null;
  }
}
