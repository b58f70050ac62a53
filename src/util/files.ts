/** Reading the files a user names: one clear error for a missing, unreadable or too-large file. */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { UserError } from './errors.js';

/** Text files larger than this are refused: V8 cannot hold a string of more than ~512 MB. */
export const MAX_TEXT_BYTES = 256 * 1024 * 1024;

function cannotRead(path: string, what: string, e: unknown): UserError {
  return new UserError(`${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
}

/**
 * The size of a file that can be read as a whole, or a UserError: a folder,
 * a FIFO, a device or a socket is refused (reading a FIFO would wait for a
 * writer for ever).
 */
export function regularFileSize(path: string, what: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    throw cannotRead(path, what, e);
  }
  if (stat.isDirectory()) throw new UserError(`${path}: cannot read ${what} (it is a folder)`);
  if (!stat.isFile()) throw new UserError(`${path}: cannot read ${what} (not a regular file: a FIFO, a device or a socket)`);
  return stat.size;
}

/** The file's text; `what` names it in errors ("scenario file", "trace file"). */
export function readText(path: string, what: string): string {
  const size = regularFileSize(path, what);
  if (size > MAX_TEXT_BYTES) throw new UserError(`${path}: ${what} too large (${(size / 1e6).toFixed(0)} MB; geobed reads at most ${MAX_TEXT_BYTES / 1024 / 1024} MiB)`);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw cannotRead(path, what, e);
  }
}

/** The file's bytes. */
export function readBytes(path: string, what: string): Buffer {
  regularFileSize(path, what);
  try {
    return readFileSync(path);
  } catch (e) {
    throw cannotRead(path, what, e);
  }
}

/**
 * Write text chunks to `path` (or to stdout when it is undefined), chunk by
 * chunk. A file that cannot be written is a user error naming it; a file
 * left half-written by a failure is removed.
 */
export function writeChunks(path: string | undefined, chunks: Iterable<string>): void {
  if (path === undefined) {
    for (const chunk of chunks) process.stdout.write(chunk);
    return;
  }
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new UserError(`--out: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    for (const chunk of chunks) writeSync(fd, chunk);
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    if (e instanceof UserError) throw e;
    throw new UserError(`--out: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}
