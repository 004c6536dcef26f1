import { createHash } from 'node:crypto';
import { lstat, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { HashCache } from './hash-cache.js';
import { hashInto } from './hash-cache.js';
import { PathRefused, parentForWrite } from './paths.js';
import {
  type FileHost,
  type FileReplier,
  type FileRequest,
  FileStatus,
  type FileStream,
  type FilesLogger,
} from './types.js';
import { WriteBehind } from './write-behind.js';

/**
 * The receiving end of SET: the bytes go to a partial file beside the target, are hashed as
 * they arrive, and only a partial of the announced size and sha256 is renamed over the target,
 * so a broken or lying upload never replaces a good file. The sha256 comes either in the SET
 * param (`{ size, sha256 }`: any VSOA client can do that) or, so that the sender reads its file
 * only once, as a trailer line `{"sha256":"<hex>"}\n` right after the last byte (`{ size }`
 * alone). An interrupted partial is kept for `partialTtl` and announced to the next SET of the
 * same target (and content, when known) as its `offset` (resume). The outcome goes back on the
 * stream itself as one JSON line (`{"ok":true,...}` or `{"ok":false,"status":n,"error":"..."}`);
 * then the server closes the stream.
 */

export interface UploadContext {
  root: string;
  host: FileHost;
  hashes: HashCache;
  log: FilesLogger;
  writable: boolean;
  maxFileSize: number;
  streamTimeout: number;
  sendTimeout: number;
  partialTtl: number;
  acquire(): boolean;
  release(): void;
  /** Partial files being written now: one upload per target and content at a time. */
  uploading: Set<string>;
}

interface UploadParam {
  size: number;
  /** undefined: it follows the bytes as a trailer line. */
  sha256: string | undefined;
}

/** The trailer line is short; anything longer is a broken sender. */
const MAX_TRAILER = 256;

const PART = '.vsoa-part.';

function uploadParam(param: unknown): UploadParam {
  const p = param as { size?: unknown; sha256?: unknown } | null | undefined;
  if (typeof p?.size !== 'number' || !Number.isInteger(p.size) || p.size < 0)
    throw new PathRefused(FileStatus.BAD_PATH, 'param.size must be a non-negative integer');
  if (p.sha256 === undefined) return { size: p.size, sha256: undefined };
  if (typeof p.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(p.sha256))
    throw new PathRefused(FileStatus.BAD_PATH, 'param.sha256 must be 64 lowercase hex digits');
  return { size: p.size, sha256: p.sha256 };
}

function partialName(name: string, size: number, sha256: string | undefined): string {
  const tag = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${PART}${tag}.${sha256 ? sha256.slice(0, 16) : `n${size}`}`;
}

/** Removes partials in `dir` older than the ttl (an abandoned upload does not stay forever). */
async function sweep(dir: string, ttl: number, keep: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(PART) || name === keep) continue;
    const full = path.join(dir, name);
    const info = await lstat(full).catch(() => undefined);
    if (info?.isFile() && now - info.mtimeMs > ttl) await unlink(full).catch(() => {});
  }
}

export async function receiveUpload(
  ctx: UploadContext,
  cli: FileReplier,
  req: FileRequest,
  segments: readonly string[],
  param: unknown,
): Promise<void> {
  if (!ctx.writable) throw new PathRefused(FileStatus.NOT_ALLOWED, 'this file service is read-only');
  const { size, sha256 } = uploadParam(param);
  if (size > ctx.maxFileSize)
    throw new PathRefused(FileStatus.TOO_LARGE, `file over maxFileSize (${ctx.maxFileSize})`);
  const dir = await parentForWrite(ctx.root, segments);
  const name = segments[segments.length - 1] as string;
  const target = path.join(dir, name);
  const partName = partialName(name, size, sha256);
  const partial = path.join(dir, partName);
  if (ctx.uploading.has(partial)) throw new PathRefused(FileStatus.BUSY, 'the same upload is in progress');
  if (!ctx.acquire()) throw new PathRefused(FileStatus.BUSY, 'too many transfers at once');
  ctx.uploading.add(partial);
  const release = (): void => {
    if (!ctx.uploading.delete(partial)) return;
    ctx.release();
  };
  try {
    await sweep(dir, ctx.partialTtl, partName);
    const existing = await lstat(partial).catch(() => undefined);
    let offset = existing?.isFile() ? existing.size : 0;
    if (offset > size) {
      await unlink(partial);
      offset = 0;
    }
    const stream = ctx.host.createStream(
      (s, connected) => {
        if (connected) void receive(ctx, s, { partial, target, size, sha256, offset, url: req.url }, release);
        else release();
      },
      undefined,
      ctx.streamTimeout,
    );
    ctx.log.debug({ url: req.url, size, offset, tunid: stream.tunid }, 'file upload');
    const trailer = sha256 === undefined;
    cli.reply(
      req.seqno,
      { param: trailer ? { size, offset, trailer } : { size, sha256, offset } },
      0,
      stream.tunid,
    );
  } catch (error) {
    release();
    throw error;
  }
}

interface Job {
  partial: string;
  target: string;
  size: number;
  sha256: string | undefined;
  offset: number;
  url: string;
}

async function receive(ctx: UploadContext, stream: FileStream, job: Job, release: () => void): Promise<void> {
  stream.pause();
  stream.sendTimeout(ctx.sendTimeout);
  const finish = (result: object): void => {
    stream.end(`${JSON.stringify(result)}\n`);
  };
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(job.partial, 'a+'); // read too: a resume hashes what is there
    const hash = createHash('sha256');
    // A sha256 cannot resume from a digest: the kept partial is hashed again (once per resume).
    if (job.offset > 0) await hashInto(hash, handle, job.offset);
    let received = job.offset;
    let expected = job.sha256;
    let trailer = '';
    let failed: (() => void) | undefined;
    const sink = new WriteBehind(handle, () => failed?.());
    const done = new Promise<'complete' | 'broken' | 'overflow' | 'failed'>((resolve) => {
      // A failing disk ends the upload at once (the queue is not kept growing).
      failed = () => resolve('failed');
      const complete = (): void => {
        if (expected !== undefined) resolve('complete');
        else stream.resume(); // the trailer line is still to come
      };
      const takeTrailer = (bytes: Buffer): void => {
        trailer += bytes.toString('latin1');
        const end = trailer.indexOf('\n');
        if (end < 0) {
          if (trailer.length > MAX_TRAILER) resolve('overflow');
          return;
        }
        const sha = (() => {
          try {
            return (JSON.parse(trailer.slice(0, end)) as { sha256?: unknown }).sha256;
          } catch {
            return undefined;
          }
        })();
        if (typeof sha !== 'string' || end + 1 !== trailer.length) resolve('overflow');
        else {
          expected = sha;
          resolve('complete');
        }
      };
      stream.on('data', (chunk: Buffer) => {
        const room = job.size - received;
        if (chunk.length > room) {
          if (job.sha256 !== undefined) {
            resolve('overflow');
            return;
          }
          takeTrailer(chunk.subarray(room));
          chunk = chunk.subarray(0, room);
          if (chunk.length === 0) return;
        }
        received += chunk.length;
        hash.update(chunk);
        if (!sink.push(chunk)) {
          stream.pause();
          sink.onDrain(() => stream.resume());
        }
        if (received === job.size) complete();
      });
      stream.once('close', () => resolve('broken'));
      if (received === job.size) complete();
      else stream.resume();
    });
    const outcome = await done;
    if (outcome === 'failed' || outcome === 'complete')
      await sink.flush(); // a write error throws: the catch below
    else await sink.flush().catch(() => {});
    if (outcome === 'broken') {
      ctx.log.info(
        { url: job.url, received, size: job.size },
        'upload interrupted; partial kept for a resume',
      );
      return;
    }
    if (outcome === 'overflow') {
      await unlink(job.partial).catch(() => {});
      ctx.log.warn({ url: job.url }, 'upload refused: more bytes than announced, or a bad trailer');
      finish({
        ok: false,
        status: FileStatus.BAD_PATH,
        error: 'more bytes than announced, or a bad trailer',
      });
      return;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    const digest = hash.digest('hex');
    if (digest !== expected) {
      await unlink(job.partial).catch(() => {});
      ctx.log.warn({ url: job.url, expected, got: digest }, 'upload refused: sha256 mismatch');
      finish({ ok: false, status: FileStatus.IO_ERROR, error: 'sha256 mismatch' });
      return;
    }
    await rename(job.partial, job.target);
    ctx.hashes.set(await stat(job.target), digest); // the next GET need not read it to hash it
    ctx.log.info({ url: job.url, size: job.size }, 'file uploaded');
    finish({ ok: true, size: job.size, sha256: digest });
  } catch (error) {
    // A failing disk (ENOSPC, EIO): the partial goes, the good file stays.
    await unlink(job.partial).catch(() => {});
    ctx.log.warn({ url: job.url, err: error }, 'upload failed');
    finish({ ok: false, status: FileStatus.IO_ERROR, error: `write failed: ${(error as Error).message}` });
  } finally {
    await handle?.close().catch(() => {});
    release();
  }
}
