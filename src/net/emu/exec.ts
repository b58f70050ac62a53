/**
 * Running ip and tc. Every namespace geobed makes is named with the prefix
 * "gb-", then a per-run tag, so `geobed clean` can find exactly its own.
 */
import { execa } from 'execa';

/** Names of namespaces geobed made: gb-<6 hex>-<node> for runs, gb-probe-<pid> for doctor's probe. */
export const NAMESPACE_PATTERN = /^gb-(?:[0-9a-f]{6}-[A-Za-z0-9_-]+|probe-\d+)$/;

export class CommandError extends Error {
  constructor(readonly command: string, readonly stderr: string) {
    super(`${command}: ${stderr.trim() || 'failed'}`);
  }
}

/**
 * Every helper process geobed starts runs in a process group of its own
 * (detached), so a Ctrl-C at the terminal reaches geobed alone, which then
 * stops them in order; otherwise the same SIGINT would kill `ip netns del`
 * halfway through a teardown. Long-lived ones exit when geobed's end of
 * their stdin or IPC channel closes, which also happens when geobed is
 * killed.
 */
export const OWN_GROUP = { detached: true } as const;

/** Run a command; throw CommandError with its stderr if it fails. */
export async function run(file: string, args: string[]): Promise<string> {
  const r = await execa(file, args, { reject: false, ...OWN_GROUP });
  if (r.exitCode !== 0) throw new CommandError(`${file} ${args.join(' ')}`, String(r.stderr));
  return String(r.stdout);
}

/** Run many `ip` or `tc` commands in one namespace (null: the host's) through one `-batch -` process. */
export async function batch(tool: 'ip' | 'tc', namespace: string | null, lines: string[]): Promise<void> {
  const where = namespace === null ? [] : ['-n', namespace];
  const r = await execa(tool, [...where, '-batch', '-'], { input: `${lines.join('\n')}\n`, reject: false, ...OWN_GROUP });
  if (r.exitCode !== 0) throw new CommandError(`${[tool, ...where].join(' ')} -batch`, String(r.stderr));
}

/** Does the command succeed? */
export async function succeeds(file: string, args: string[]): Promise<boolean> {
  try {
    await run(file, args);
    return true;
  } catch {
    return false;
  }
}

export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
}
