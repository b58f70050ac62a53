/**
 * The results folder of a run, reserved before any work starts: created
 * with one mkdir (which fails if it exists), so two runs started together
 * never share one, and an unusable place (not writable, read-only, not a
 * folder, a name too long) stops the run at once with one clear line.
 */
import { chownSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../util/errors.js';

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EACCES: 'permission denied', EPERM: 'not permitted', EROFS: 'read-only file system', ENOTDIR: 'a part of the path is a file, not a folder',
    ENAMETOOLONG: 'name too long', ENOENT: 'no such place', ENOSPC: 'no space left', EEXIST: 'already exists', EDQUOT: 'disk quota exceeded',
  };
  return code ? `${code}: ${why[code] ?? 'cannot create it'}` : String(e);
}

/**
 * Under sudo, give what geobed creates to the user who ran sudo, so that
 * their next run without sudo can write beside it.
 */
export function giveToSudoUser(path: string): void {
  const uid = Number(process.env.SUDO_UID), gid = Number(process.env.SUDO_GID);
  if (process.getuid?.() !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) return;
  try {
    chownSync(path, uid, gid);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) giveToSudoUser(join(path, entry));
  } catch {
    // ownership is a convenience; never fail a run over it
  }
}

/** Create the folders above `dir` that are missing; returns the topmost one created (or null). */
function makeParents(dir: string, flag: string): string | null {
  const parent = dirname(resolve(dir));
  try {
    const made = mkdirSync(parent, { recursive: true });
    return made ?? null;
  } catch (e) {
    throw new UserError(`${flag}: cannot create the folder ${parent} (${errnoText(e)})`);
  }
}

/** A reserved folder, and the topmost parent folder made for it (null: none was missing). */
export interface RunFolder {
  dir: string;
  madeParent: string | null;
}

/**
 * Reserve `out` (given with --out) or, without it, the first free
 * `<root>/<base>`, `<root>/<base>-2`, ... Returns the folder, created and
 * empty. Throws a UserError (exit 2) when it cannot be created.
 */
export function reserveRunFolder(out: string | undefined, root: string, base: string): RunFolder {
  const flag = out !== undefined ? '--out' : 'results folder';
  const madeParent = makeParents(out ?? join(root, base), flag);
  if (madeParent) giveToSudoUser(madeParent);
  const tryMake = (dir: string): boolean => {
    try {
      mkdirSync(dir);
      giveToSudoUser(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && out === undefined) return false;
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UserError(`--out: ${dir} already exists; choose a new folder`);
      throw new UserError(`${flag}: cannot create ${dir} (${errnoText(e)})${(e as NodeJS.ErrnoException).code === 'EACCES' ? '; choose another place with --out' : ''}`);
    }
  };
  try {
    if (out !== undefined) {
      tryMake(out);
      return { dir: out, madeParent };
    }
    for (let k = 1; k < 10_000; k++) {
      const dir = join(root, k === 1 ? base : `${base}-${k}`);
      if (tryMake(dir)) return { dir, madeParent };
    }
  } catch (e) {
    removeEmptyParents(dirname(resolve(out ?? join(root, base))), madeParent);
    throw e;
  }
  throw new UserError(`results folder: ${join(root, base)} and 9,999 numbered neighbours exist; choose --out`);
}

/** Remove the folders from `dir` up to `top` that are empty (another run's folder keeps a parent). */
function removeEmptyParents(dir: string, top: string | null): void {
  if (top === null) return;
  for (let d = dir; d.startsWith(resolve(top)); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === resolve(top)) return;
  }
}

/**
 * Remove a folder this run reserved, and the parents made for it if they
 * are empty (nothing in it is another process's: our mkdir made it).
 */
export function releaseRunFolder(folder: RunFolder): void {
  rmSync(folder.dir, { recursive: true, force: true });
  removeEmptyParents(dirname(resolve(folder.dir)), folder.madeParent);
}
