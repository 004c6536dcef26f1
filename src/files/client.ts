import { createHash } from 'node:crypto';
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { hashInto } from './hash-cache.js';
import {
  type DirEntry,
  type FileClient,
  type FileInfo,
  FileStatus,
  type FileStream,
  FileTransferError,
  fileStatusName,
  type Progress,
} from './types.js';
import { WriteBehind } from './write-behind.js';

/**
 * The client side of file transfer: getFile/putFile/listFiles over any VSOA server that runs
 * serveFiles. Integrity is sha256 on both ends; downloads land in a partial file beside the
 * destination and are renamed into place only when whole and verified.
 */

export interface TransferOptions {
  onProgress?: (progress: Progress) => void;
  /** Bounds the RPC; the stream itself is bounded by the server's send timeout (ms, default 30000). */
  timeout?: number;
}

export interface GetFileOptions extends TransferOptions {
  /** Continue from a partial file left by a broken download (default true). */
  resume?: boolean;
}

export interface TransferResult {
  size: number;
  sha256: string;
  /** Bytes that went over the stream this time. */
  transferred: number;
  /** Where this transfer started (> 0 after a resume). */
  offset: number;
}

const DEFAULT_TIMEOUT = 30_000;

function refusal(url: string, status: number, param: unknown): FileTransferError {
  const error = (param as { error?: unknown } | null | undefined)?.error;
  return new FileTransferError(
    status,
    `${url}: ${fileStatusName(status)}${typeof error === 'string' ? `: ${error}` : ''}`,
  );
}

function openStream(client: FileClient, tunid: number, timeout: number): Promise<FileStream> {
  return new Promise((resolve, reject) => {
    const stream = client.createStream(
      tunid,
      (s, connected) => {
        if (connected) resolve(s);
        else reject(new FileTransferError(FileStatus.IO_ERROR, 'the file stream could not be opened'));
      },
      undefined,
      timeout,
    );
    stream.on('error', () => {});
  });
}

/** Names one version of a remote file (size and mtime), for the partial file of its download. */
function versionTag(info: { size: number; mtime: number }): string {
  return `${info.size.toString(36)}-${Math.round(info.mtime).toString(36)}`;
}

function trailerSha(line: string): string | undefined {
  try {
    const sha = (JSON.parse(line.trim()) as { sha256?: unknown }).sha256;
    return typeof sha === 'string' ? sha : undefined;
  } catch {
    return undefined;
  }
}

async function localPartial(dest: string): Promise<{ file: string; size: number; tag: string } | undefined> {
  const dir = path.dirname(dest);
  const prefix = `.${path.basename(dest)}.`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith('.vsoa-part')) continue;
    const file = path.join(dir, name);
    const info = await lstat(file).catch(() => undefined);
    const tag = name.slice(prefix.length, -'.vsoa-part'.length);
    if (info?.isFile() && /^[0-9a-z]+-[0-9a-z]+$/.test(tag)) return { file, size: info.size, tag };
  }
  return undefined;
}

/** Downloads `url` to `localPath`; resumes a broken download; once more after a reconnect in robot mode. */
export async function getFile(
  client: FileClient,
  url: string,
  localPath: string,
  options: GetFileOptions = {},
): Promise<TransferResult> {
  try {
    return await getOnce(client, url, localPath, options);
  } catch (error) {
    const broken =
      error instanceof FileTransferError && error.status === FileStatus.IO_ERROR && error.received > 0;
    if (!broken || client.robotStats() === undefined || options.resume === false) throw error;
    await connectedAgain(client, options.timeout ?? DEFAULT_TIMEOUT);
    return getOnce(client, url, localPath, options);
  }
}

function connectedAgain(client: FileClient, timeout: number): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('connect', onConnect);
      reject(new FileTransferError(FileStatus.IO_ERROR, 'no reconnect to resume the transfer'));
    }, timeout);
    const onConnect = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('connect', onConnect);
  });
}

async function getOnce(
  client: FileClient,
  url: string,
  localPath: string,
  options: GetFileOptions,
): Promise<TransferResult> {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  let partial = options.resume === false ? undefined : await localPartial(localPath);
  const { header, payload } = await client.fetch(url, {
    // trailer: the server may send the sha256 after the bytes instead of reading the file twice.
    payload: { param: { offset: partial?.size ?? 0, trailer: true } },
    timeout,
  });
  if (header.status !== 0) throw refusal(url, header.status, payload.param);
  const info = payload.param as FileInfo;
  if (Array.isArray(info) || typeof info?.size !== 'number')
    throw new FileTransferError(FileStatus.NOT_FOUND, `${url} is a directory`);
  // A partial belongs to one version of the remote file: its size and mtime name it.
  const tag = versionTag(info);
  if (partial && (partial.tag !== tag || info.offset !== partial.size)) {
    // The remote file changed since the partial was written: start over.
    await unlink(partial.file).catch(() => {});
    partial = undefined;
    if (info.offset !== 0) return getOnce(client, url, localPath, { ...options, resume: false });
  }
  const file =
    partial?.file ?? path.join(path.dirname(localPath), `.${path.basename(localPath)}.${tag}.vsoa-part`);
  const stream = await openStream(client, header.tunid, timeout);
  const handle = await open(file, partial ? 'a+' : 'w'); // a+: a resume hashes what is there
  const hash = createHash('sha256');
  let received = info.offset;
  try {
    if (info.offset > 0) await hashInto(hash, handle, info.offset);
    const sink = new WriteBehind(handle, () => stream.destroy());
    let trailer = '';
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        const room = info.size - received;
        if (chunk.length > room) {
          // Past the file's bytes: the sha256 trailer line (bounded: a broken server is cut off).
          trailer += chunk.subarray(room).toString('latin1');
          if (trailer.length > 256) stream.destroy();
          chunk = chunk.subarray(0, room);
          if (chunk.length === 0) return;
        }
        hash.update(chunk);
        received += chunk.length;
        options.onProgress?.({ bytes: received, total: info.size });
        if (!sink.push(chunk)) {
          stream.pause();
          sink.onDrain(() => stream.resume());
        }
      });
      stream.once('close', () => {
        sink.flush().then(resolve, reject);
      });
    });
    if (received !== info.size) {
      throw new FileTransferError(
        FileStatus.IO_ERROR,
        `${url}: transfer broken at ${received} of ${info.size} bytes (partial kept for a resume)`,
        received,
      );
    }
    await handle.sync();
    await handle.close();
    const digest = hash.digest('hex');
    const expected = info.trailer ? trailerSha(trailer) : info.sha256;
    if (digest !== expected) {
      await unlink(file).catch(() => {});
      throw new FileTransferError(FileStatus.IO_ERROR, `${url}: sha256 mismatch (got ${digest})`);
    }
    await rename(file, localPath);
    return { size: info.size, sha256: digest, transferred: info.size - info.offset, offset: info.offset };
  } finally {
    await handle.close().catch(() => {});
    stream.destroy();
  }
}

/**
 * Uploads `localPath` to `url` (the server must serve it writable). The file is read once: it
 * is hashed as it is sent, and the sha256 follows the bytes as a trailer the server checks
 * before it renames the upload into place. A partial the server kept is resumed.
 */
export async function putFile(
  client: FileClient,
  localPath: string,
  url: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  const handle = await open(localPath, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new TypeError(`${localPath} is not a regular file`);
    const { header, payload } = await client.fetch(url, {
      method: 'SET',
      payload: { param: { size: info.size } },
      timeout,
    });
    if (header.status !== 0) throw refusal(url, header.status, payload.param);
    const offset = (payload.param as { offset?: number }).offset ?? 0;
    const hash = createHash('sha256');
    if (offset > 0) await hashInto(hash, handle, offset);
    const stream = await openStream(client, header.tunid, timeout);
    try {
      const result = await send(stream, handle, offset, info.size, hash, options);
      if (!result.ok)
        throw new FileTransferError(result.status ?? FileStatus.IO_ERROR, `${url}: ${result.error}`);
      return { size: info.size, sha256: result.sha256 ?? '', transferred: info.size - offset, offset };
    } finally {
      stream.destroy();
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

interface UploadOutcome {
  ok: boolean;
  status?: number;
  error?: string;
  sha256?: string;
}

/** Sends the file from `offset`, then its sha256 trailer (the stream stays open), and resolves the server's result line. */
function send(
  stream: FileStream,
  handle: Awaited<ReturnType<typeof open>>,
  offset: number,
  size: number,
  hash: ReturnType<typeof createHash>,
  options: TransferOptions,
): Promise<UploadOutcome> {
  return new Promise((resolve, reject) => {
    let line = '';
    stream.on('data', (chunk: Buffer) => {
      line += chunk.toString('utf8');
      const end = line.indexOf('\n');
      if (end < 0) return;
      try {
        resolve(JSON.parse(line.slice(0, end)) as UploadOutcome);
      } catch {
        reject(new FileTransferError(FileStatus.IO_ERROR, 'the server sent no upload result'));
      }
    });
    stream.once('close', () =>
      reject(new FileTransferError(FileStatus.IO_ERROR, 'the stream closed before the upload result')),
    );
    let sent = offset;
    const source = handle.createReadStream({ start: offset, autoClose: false, highWaterMark: 256 * 1024 });
    source.on('data', (chunk) => {
      const bytes = chunk as Buffer;
      sent += bytes.length;
      hash.update(bytes);
      if (!stream.write(bytes)) {
        source.pause();
        stream.once('drain', () => source.resume());
      }
      options.onProgress?.({ bytes: sent, total: size });
    });
    source.once('end', () => {
      stream.write(`${JSON.stringify({ sha256: hash.digest('hex') })}\n`);
    });
    source.once('error', reject);
  });
}

/** The entries of a served directory. */
export async function listFiles(
  client: FileClient,
  url: string,
  options: { timeout?: number } = {},
): Promise<DirEntry[]> {
  const dirUrl = url.endsWith('/') ? url : `${url}/`;
  const { header, payload } = await client.fetch(dirUrl, { timeout: options.timeout ?? DEFAULT_TIMEOUT });
  if (header.status !== 0) throw refusal(dirUrl, header.status, payload.param);
  if (!Array.isArray(payload.param))
    throw new FileTransferError(FileStatus.NOT_FOUND, `${url} is not a directory`);
  return payload.param as DirEntry[];
}
