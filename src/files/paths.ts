import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileStatus } from './types.js';

/** Turns a request url under the service prefix into a path inside the root, or refuses it. */

export class PathRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_NAME_BYTES = 255;

/** The relative segments of `url` below `prefix`; refuses `..`, empty segments (`//`), NUL, long names. */
export function segmentsOf(url: string, prefix: string): string[] {
  let rest = url.slice(prefix.length);
  if (rest.startsWith('/')) rest = rest.slice(1);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (rest === '') return [];
  const segments = rest.split('/');
  for (const s of segments) {
    if (s === '') throw new PathRefused(FileStatus.BAD_PATH, 'empty path segment (an absolute path?)');
    if (s === '..' || s === '.')
      throw new PathRefused(FileStatus.BAD_PATH, `'${s}' segments are not allowed`);
    if (s.includes('\0')) throw new PathRefused(FileStatus.BAD_PATH, 'NUL in a path');
    if (Buffer.byteLength(s) > MAX_NAME_BYTES)
      throw new PathRefused(FileStatus.BAD_PATH, 'a name over 255 bytes');
  }
  return segments;
}

function inside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The real path of an existing entry, refused when it (through a symlink) leaves the root. */
export async function existingPath(root: string, segments: readonly string[]): Promise<string> {
  const joined = path.join(root, ...segments);
  let real: string;
  try {
    real = await realpath(joined);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new PathRefused(FileStatus.NOT_FOUND, 'no such file');
    throw new PathRefused(FileStatus.IO_ERROR, (error as Error).message);
  }
  if (!inside(root, real))
    throw new PathRefused(FileStatus.NOT_ALLOWED, 'the path leaves the served directory');
  return real;
}

/**
 * The directory a new file goes into, created (inside the root) when missing; every existing
 * component is checked so a symlink cannot lead a write outside the root.
 */
export async function parentForWrite(root: string, segments: readonly string[]): Promise<string> {
  if (segments.length === 0) throw new PathRefused(FileStatus.BAD_PATH, 'no file name');
  let dir = root;
  for (const s of segments.slice(0, -1)) {
    const next = path.join(dir, s);
    const info = await lstat(next).catch(() => undefined);
    if (info === undefined) {
      await mkdir(next);
    } else if (info.isSymbolicLink()) {
      const real = await realpath(next);
      if (!inside(root, real) || !(await stat(real)).isDirectory())
        throw new PathRefused(FileStatus.NOT_ALLOWED, 'the path leaves the served directory');
    } else if (!info.isDirectory()) {
      throw new PathRefused(FileStatus.NOT_ALLOWED, `${s} is not a directory`);
    }
    dir = next;
  }
  const target = path.join(dir, segments[segments.length - 1] as string);
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !existing.isFile()) throw new PathRefused(FileStatus.NOT_ALLOWED, 'not a regular file');
  return dir;
}
