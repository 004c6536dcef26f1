import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { hashInto } from './hash-cache.js';
import { PathRefused } from './paths.js';
import type { UploadContext } from './serve-upload.js';
import { type FileReplier, type FileRequest, FileStatus, type FileStream } from './types.js';

/**
 * The sending end of GET: replies `{ size, sha256, mtime, mode, offset }` and a stream that
 * carries the bytes from `offset`, then FIN. The sha256 of a version the server has not hashed
 * yet costs a read of the whole file before the first byte leaves; a client that asks
 * `{ trailer: true }` (ours does) is spared it: the reply then has no sha256, the file is hashed
 * while it is sent, and the sha256 follows the last byte as one line `{"sha256":"<hex>"}\n`.
 * A plain VSOA client that knows nothing of trailers always gets the sha256 in the reply.
 */
export async function sendFile(
  ctx: UploadContext,
  cli: FileReplier,
  req: FileRequest,
  real: string,
  param: unknown,
): Promise<void> {
  const asked = (param ?? {}) as { offset?: unknown; trailer?: unknown };
  const handle = await open(real, 'r');
  let handed = false;
  try {
    const info = await handle.stat();
    if (info.size > ctx.maxFileSize) throw new PathRefused(FileStatus.TOO_LARGE, 'file over maxFileSize');
    const offset = asked.offset ?? 0;
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset > info.size)
      throw new PathRefused(FileStatus.BAD_PATH, `offset must be an integer within 0..${info.size}`);
    if (!ctx.acquire()) throw new PathRefused(FileStatus.BUSY, 'too many transfers at once');
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      ctx.release();
      void handle.close().catch(() => {});
    };
    handed = true;
    let sha256 = ctx.hashes.get(info);
    const trailer = sha256 === undefined && asked.trailer === true;
    if (sha256 === undefined && !trailer) {
      try {
        sha256 = await ctx.hashes.of(handle, info);
      } catch (error) {
        release();
        throw error;
      }
    }
    const send = async (s: FileStream): Promise<void> => {
      s.sendTimeout(ctx.sendTimeout);
      const hash = trailer ? createHash('sha256') : undefined;
      if (hash && offset > 0) await hashInto(hash, handle, offset);
      const source = handle.createReadStream({ start: offset, autoClose: false, highWaterMark: 256 * 1024 });
      source.on('error', (error) => {
        ctx.log.warn({ url: req.url, err: error }, 'file read failed; transfer aborted');
        s.destroy();
      });
      if (!hash) {
        source.pipe(s);
        return;
      }
      source.on('data', (chunk) => hash.update(chunk as Buffer));
      source.once('end', () => {
        const digest = hash.digest('hex');
        ctx.hashes.set(info, digest); // the next GET of this version need not hash it
        s.end(`${JSON.stringify({ sha256: digest })}\n`);
      });
      source.pipe(s, { end: false });
    };
    const stream = ctx.host.createStream(
      (s, connected) => {
        if (!connected) release();
        else
          send(s).catch((error: unknown) => {
            ctx.log.warn({ url: req.url, err: error }, 'file read failed; transfer aborted');
            s.destroy();
          });
      },
      undefined,
      ctx.streamTimeout,
    );
    const { mode, mtimeMs, size } = info;
    const mtime = Math.round(mtimeMs);
    ctx.log.debug({ url: req.url, size, offset, trailer, tunid: stream.tunid }, 'file download');
    const reply = trailer ? { size, mtime, mode, offset, trailer } : { size, sha256, mtime, mode, offset };
    cli.reply(req.seqno, { param: reply }, 0, stream.tunid);
  } finally {
    if (!handed) await handle.close().catch(() => {});
  }
}
