import { realpathSync, statSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { HashCache } from './hash-cache.js';
import { existingPath, PathRefused, segmentsOf } from './paths.js';
import { sendFile } from './serve-download.js';
import { receiveUpload, type UploadContext } from './serve-upload.js';
import {
  type DirEntry,
  type FileHost,
  type FileReplier,
  type FileRequest,
  FileStatus,
  type FilesLogger,
} from './types.js';

export type { FilesLogger } from './types.js';

export interface ServeFilesOptions {
  /** Accept SET (uploads); default false. */
  writable?: boolean;
  /** Largest file served or accepted, bytes (default 4 GiB). */
  maxFileSize?: number;
  /** Transfers at once, both directions (default 8); more are answered BUSY. */
  maxConcurrent?: number;
  /** How long a stream waits for the client to connect, ms (default 10000). */
  streamTimeout?: number;
  /** A transfer whose peer takes nothing (or sends nothing) for this long is cut off, ms (default 30000). */
  sendTimeout?: number;
  /** How long an interrupted upload is kept for a resume, ms (default 1 hour). */
  partialTtl?: number;
  logger?: FilesLogger;
}

export interface FileService {
  readonly prefix: string;
  readonly root: string;
  /** Transfers in progress. */
  readonly active: number;
  /** Stops serving (transfers in progress finish). */
  close(): void;
}

const SET = 1; // Method.SET of the protocol
const SILENT: FilesLogger = { info() {}, warn() {}, debug() {} };

function checkOptions(options: ServeFilesOptions): Required<Omit<ServeFilesOptions, 'logger'>> {
  const int = (v: unknown, name: string, fallback: number, min: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RangeError(`options.${name} must be an integer ≥ ${min}, got ${String(v)}`);
    }
    return v;
  };
  if (options.writable !== undefined && typeof options.writable !== 'boolean')
    throw new TypeError('options.writable must be a boolean');
  return {
    writable: options.writable === true,
    maxFileSize: int(options.maxFileSize, 'maxFileSize', 4 * 1024 ** 3, 0),
    maxConcurrent: int(options.maxConcurrent, 'maxConcurrent', 8, 1),
    streamTimeout: int(options.streamTimeout, 'streamTimeout', 10_000, 1),
    sendTimeout: int(options.sendTimeout, 'sendTimeout', 30_000, 0),
    partialTtl: int(options.partialTtl, 'partialTtl', 3_600_000, 0),
  };
}

/**
 * Serves the files below `rootDir` at `urlPrefix` (seed 004's get_file/send_file over plain
 * VSOA: an RPC plus a raw stream, so any VSOA client can use it). GET of a file answers
 * `{ size, sha256, mtime, mode, offset }` with a stream tunid that carries the bytes from the
 * param's `offset`; GET of a directory answers its entries; SET (when writable) with
 * `{ size, sha256 }` opens a stream that receives the file (see serve-upload.ts).
 */
export function serveFiles(
  host: FileHost,
  urlPrefix: string,
  rootDir: string,
  options: ServeFilesOptions = {},
): FileService {
  if (typeof urlPrefix !== 'string' || !urlPrefix.startsWith('/'))
    throw new TypeError(`urlPrefix must start with '/', got ${JSON.stringify(urlPrefix)}`);
  if (typeof rootDir !== 'string' || rootDir === '') throw new TypeError('rootDir must be a directory path');
  const settings = checkOptions(options);
  const root = realpathSync(rootDir);
  if (!statSync(root).isDirectory()) throw new TypeError(`rootDir ${rootDir} is not a directory`);
  const prefix = urlPrefix.replace(/\/+$/, '');
  const log = options.logger ?? SILENT;
  const hashes = new HashCache();
  let active = 0;
  const ctx: UploadContext = {
    root,
    hashes,
    log,
    ...settings,
    host,
    acquire: () => {
      if (active >= settings.maxConcurrent) return false;
      active++;
      return true;
    },
    release: () => {
      active--;
    },
    uploading: new Set(),
  };

  const refuse = (cli: FileReplier, req: FileRequest, status: number, error: string): void => {
    log.info({ url: req.url, status, peer: cli.address().addr }, `file request refused: ${error}`);
    cli.reply(req.seqno, { param: { error } }, status);
  };

  const handler = async (cli: FileReplier, req: FileRequest, payload: { param?: unknown }): Promise<void> => {
    try {
      const segments = segmentsOf(req.url, prefix);
      if (req.method === SET) {
        await receiveUpload(ctx, cli, req, segments, payload.param);
        return;
      }
      const real = await existingPath(root, segments);
      const info = await stat(real);
      if (info.isDirectory()) {
        cli.reply(req.seqno, { param: await listing(root, real) });
        return;
      }
      if (req.url.endsWith('/')) throw new PathRefused(FileStatus.NOT_FOUND, 'not a directory');
      if (!info.isFile()) throw new PathRefused(FileStatus.NOT_ALLOWED, 'not a regular file');
      await sendFile(ctx, cli, req, real, payload.param);
    } catch (error) {
      if (error instanceof PathRefused) refuse(cli, req, error.status, error.message);
      else refuse(cli, req, FileStatus.IO_ERROR, (error as Error).message);
    }
  };
  // `/files/` serves `/files` itself and everything below it.
  const commandUrl = `${prefix}/`;
  host.command(commandUrl, handler);
  return {
    prefix,
    root,
    get active() {
      return active;
    },
    close: () => {
      host.removeCommand(commandUrl);
    },
  };
}

async function listing(root: string, dir: string): Promise<DirEntry[]> {
  const entries: DirEntry[] = [];
  for (const dirent of await readdir(dir, { withFileTypes: true })) {
    if (dirent.name.includes('.vsoa-part')) continue; // partial uploads are not files yet
    let full = path.join(dir, dirent.name);
    if (dirent.isSymbolicLink()) {
      // Shown only when it stays inside the root.
      const real = await realpath(full).catch(() => undefined);
      if (real === undefined || !(real === root || real.startsWith(`${root}${path.sep}`))) continue;
      full = real;
    }
    const info = await stat(full).catch(() => undefined);
    if (!info || !(info.isFile() || info.isDirectory())) continue; // special files are not listed
    entries.push({
      name: dirent.name,
      type: info.isDirectory() ? 'dir' : 'file',
      size: info.isDirectory() ? 0 : info.size,
      mtime: Math.round(info.mtimeMs),
    });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
