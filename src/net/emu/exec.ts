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

/** Run a command; throw CommandError with its stderr if it fails. */
export async function run(file: string, args: string[]): Promise<string> {
  const r = await execa(file, args, { reject: false });
  if (r.exitCode !== 0) throw new CommandError(`${file} ${args.join(' ')}`, String(r.stderr));
  return String(r.stdout);
}

/** Run many `ip` or `tc` commands in one namespace through one `-batch -` process. */
export async function batch(tool: 'ip' | 'tc', namespace: string, lines: string[]): Promise<void> {
  const r = await execa(tool, ['-n', namespace, '-batch', '-'], { input: `${lines.join('\n')}\n`, reject: false });
  if (r.exitCode !== 0) throw new CommandError(`${tool} -n ${namespace} -batch`, String(r.stderr));
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

/** Delete every namespace geobed made (and so every veth in them); returns their names. */
export async function removeGeobedNamespaces(): Promise<string[]> {
  const ours = (await listNamespaces()).filter((n) => NAMESPACE_PATTERN.test(n));
  for (const ns of ours) await run('ip', ['netns', 'del', ns]);
  return ours;
}
