/** What the kernel says of a process (Linux /proc). */
import { readFileSync } from 'node:fs';

/** Fields 3.. of /proc/<pid>/stat (the command name, field 2, may hold spaces and parentheses), or null if there is no such process. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** A process's start time (clock ticks since boot, field 22), so a reused PID is not taken for the process; null if none. */
export function processStartTicks(pid: number): number | null {
  const fields = statFields(pid);
  return fields ? Number(fields[22 - 3]) : null;
}

/** A process's state letter (R running, S sleeping, T stopped, Z zombie, ...), or null. */
export function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}
