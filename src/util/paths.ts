/** Where geobed is installed (the folder holding its package.json), from source or from dist/. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'geobed') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the geobed package root');
    dir = up;
  }
}

export const PACKAGE_ROOT = findRoot();

/** The git commit geobed runs from, when it runs from a checkout (dirty: with uncommitted changes); else null. */
export function gitCommit(): { commit: string; dirty: boolean } | null {
  const git = (args: string[]) => execFileSync('git', ['-C', PACKAGE_ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    if (!existsSync(join(PACKAGE_ROOT, '.git'))) return null;
    return { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '' };
  } catch {
    return null; // (no git here)
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
