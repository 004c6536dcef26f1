import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { ErrorCode, VsoaError } from '../protocol/errors.js';
import type { Logger } from '../util/log.js';
import { setKeepAlive } from './sockopt.js';
import { StallTimer } from './stall-timer.js';

/** Buffering per direction before backpressure applies (Duplex side; the socket has its own). */
const HIGH_WATER_MARK = 64 * 1024;

/** Largest piece of a write handed to the socket at once (see pump). */
const WRITE_SLICE = 256 * 1024;

/**
 * The bound of a stream's write queue for `send()`: once this many bytes wait (in the stream
 * and in its socket), `send()` queues nothing and returns 0 until the queue drains.
 */
export const STREAM_MAX_QUEUED_BYTES = 1024 * 1024;

/**
 * A stream whose queued writes make no progress for this long is destroyed (a peer that
 * stopped reading). The seed blocks forever; a board cannot afford a stalled peer's memory.
 */
export const DEFAULT_STREAM_SEND_TIMEOUT = 30_000;

function checkMs(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new RangeError(`${name} must be an integer number of milliseconds >= 0, got ${String(value)}`);
  }
  return value;
}

/**
 * A VSOA stream (seed: stream object): raw bytes over one TCP or TLS connection, as a Node
 * Duplex with the seed's surface on top. The socket arrives later (`attach`); until then
 * writes wait in the Duplex buffer. Backpressure is end to end: the socket is paused while the
 * readable side is full, and a write completes only once the socket has room.
 *
 * Lifecycle: `onlink(stream, true)` once when the peer is attached; `onlink(stream, false)`
 * once when the connection has closed (with `ondata`: after the last `ondata`), or the
 * stream was destroyed, or the peer never came. The peer's end (FIN) ends our side too, after
 * our pending writes, so closing either side closes the connection; data still unread stays
 * readable until consumed, and the Duplex emits 'end' and 'close' as usual.
 */
export abstract class VsoaStream extends Duplex {
  /** Called with true once the peer is connected and with false once the stream has ended. */
  onlink: ((stream: this, connected: boolean) => void) | undefined;

  protected readonly log: Logger;
  protected socket: Socket | undefined;
  private dataCallback: ((stream: this, data: Buffer) => void) | undefined;
  private flowing = false;
  private gotEnd = false;
  private sentEnd = false;
  private socketClosed = false;
  private readEnded = false;
  private reported = false;
  private keepaliveMs: number | undefined;
  private readonly sendTimer: StallTimer;
  /** ondata delivery paused because our own writes backed up (an echo must not outrun its peer). */
  private pausedForWrites = false;
  /** A write waiting for the peer to connect, or for the socket to drain. */
  private waitingWrite: { chunks: Buffer[]; callback: (error?: Error | null) => void } | undefined;
  /** The write being handed to the socket (sliced), waiting for 'drain' when the socket is full. */
  private writing:
    | { chunks: Buffer[]; index: number; offset: number; callback: (error?: Error | null) => void }
    | undefined;
  private waitingFinal: ((error?: Error | null) => void) | undefined;

  protected constructor(log: Logger) {
    super({ allowHalfOpen: false, highWaterMark: HIGH_WATER_MARK });
    this.log = log;
    this.sendTimer = new StallTimer(
      DEFAULT_STREAM_SEND_TIMEOUT,
      () => this.writing !== undefined,
      (ms) => this.destroy(new VsoaError(ErrorCode.SEND_TIMEOUT, `stream send timeout (${ms} ms)`)),
    );
    // A stream error (peer reset, timeout) is the peer's doing: log it, never crash the process.
    this.on('error', (error: Error) => this.log.debug({ err: error }, 'stream error'));
    this.once('end', () => {
      this.readEnded = true;
      this.maybeUnlinked();
    });
    this.once('close', () => this.unlinked());
  }

  /** The tunnel id (the server stream's port). */
  abstract get tunid(): number;

  /** Whether the peer is connected and the connection still open. */
  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && !this.destroyed;
  }

  /** Data callback; setting one consumes the readable side in flowing mode. */
  get ondata(): ((stream: this, data: Buffer) => void) | undefined {
    return this.dataCallback;
  }

  set ondata(callback: ((stream: this, data: Buffer) => void) | undefined) {
    if (callback !== undefined && typeof callback !== 'function') {
      throw new TypeError('ondata must be a function');
    }
    this.dataCallback = callback;
    if (callback && !this.flowing) {
      this.flowing = true;
      this.on('data', (chunk: Buffer) => this.callApp('ondata', () => this.dataCallback?.(this, chunk)));
    }
  }

  /**
   * Queues all of `data` (while the peer is not yet connected, or the network is slower) and
   * returns its length. Returns 0 and queues nothing when the stream is closed or when its
   * write queue already holds STREAM_MAX_QUEUED_BYTES: that is backpressure, send again after
   * 'drain' (`writableNeedDrain` says the queue is past its high-water mark). While its own
   * writes wait for the socket, `ondata` is paused, so an echo never outruns its peer.
   * Ownership: the bytes are sent by reference; do not modify `data` until 'drain' (or the
   * write callback of `write()`), as with Node's `socket.write`.
   */
  send(data: Uint8Array | string): number {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new TypeError('data must be a Uint8Array, Buffer or string');
    }
    if (this.destroyed || this.writableEnded) return 0;
    if (this.queuedBytes >= STREAM_MAX_QUEUED_BYTES) return 0;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length === 0) return 0;
    this.write(bytes);
    return bytes.length;
  }

  /** Bytes written and not yet taken by the kernel (in this stream and in its socket). */
  get queuedBytes(): number {
    return this.writableLength + (this.socket?.writableLength ?? 0);
  }

  /** The send timeout in ms (0: none). */
  get sendTimeoutMs(): number {
    return this.sendTimer.timeout;
  }

  /** Graceful close: pending writes go out, then the connection ends (the peer's side too). */
  close(): void {
    if (!this.destroyed && !this.writableEnded) this.end();
  }

  /** TCP keepalive: a peer silent for about 4 × idle is dropped; 0 turns it off. */
  keepalive(idleMs: number): void {
    this.keepaliveMs = checkMs(idleMs, 'idleMs');
    if (this.socket && !this.socket.destroyed) setKeepAlive(this.socket, this.keepaliveMs);
  }

  /**
   * Queued writes that make no progress for `ms` destroy the stream (SEND_TIMEOUT); 0 waits
   * forever. Default DEFAULT_STREAM_SEND_TIMEOUT (30 s).
   */
  sendTimeout(ms: number): void {
    this.sendTimer.setTimeout(checkMs(ms, 'ms'));
  }

  /** Subclasses hand over the connected (and, under TLS, handshaken) peer socket. */
  protected attach(socket: Socket): void {
    if (this.destroyed || this.socket) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    socket.setNoDelay(true);
    if (this.keepaliveMs !== undefined) setKeepAlive(socket, this.keepaliveMs);
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => {
      this.gotEnd = true;
      this.push(null);
      // Even when nobody reads: the peer is done, so are we once our writes are out.
      this.close();
    });
    socket.on('drain', () => this.drained());
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => {
      this.socketClosed = true;
      // Anything but a clean close both ways (FIN received, ours sent) aborts the stream.
      if (!this.gotEnd || !this.sentEnd) this.destroy();
      else this.maybeUnlinked();
    });
    this.callApp('onlink', () => this.onlink?.(this, true));
    this.emit('connect');
    // The Duplex calls _final only after every write completed: at most one of these waits.
    const waiting = this.waitingWrite;
    const final = this.waitingFinal;
    this.waitingWrite = undefined;
    this.waitingFinal = undefined;
    if (waiting) this.writeChunks(waiting.chunks, waiting.callback);
    if (final) this._final(final);
  }

  override _read(): void {
    if (this.socket?.isPaused()) this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeChunks([chunk], callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.writeChunks(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    const socket = this.socket;
    if (!socket) {
      this.waitingFinal = callback;
      return;
    }
    this.sentEnd = true;
    socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.sendTimer.stop();
    const pending = [this.waitingWrite?.callback, this.writing?.callback, this.waitingFinal];
    this.waitingWrite = undefined;
    this.writing = undefined;
    this.waitingFinal = undefined;
    // After a clean end both ways the socket closes by itself, its data flushed by the kernel.
    if (this.socket && !(this.gotEnd && this.sentEnd)) this.socket.destroy();
    this.release();
    const aborted = error ?? (pending.some(Boolean) ? new Error('stream closed') : null);
    for (const cb of pending) cb?.(aborted);
    callback(error);
  }

  /** Subclasses free what they hold while waiting for the peer (listener, timers). */
  protected abstract release(): void;

  protected callApp(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error }, `${name} callback threw`);
    }
  }

  /** After a clean close: report it once the last ondata is delivered (at once without ondata). */
  private maybeUnlinked(): void {
    if (this.socketClosed && (this.readEnded || !this.dataCallback)) this.unlinked();
  }

  private unlinked(): void {
    if (this.reported) return;
    this.reported = true;
    this.callApp('onlink', () => this.onlink?.(this, false));
  }

  private writeChunks(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    const socket = this.socket;
    if (!socket) {
      this.waitingWrite = { chunks, callback };
      return;
    }
    if (socket.destroyed || !socket.writable) {
      callback(new Error('stream closed'));
      return;
    }
    this.writing = { chunks, index: 0, offset: 0, callback };
    this.pump(socket);
  }

  /**
   * Hands the current write to the socket, a slice at a time: a big chunk given whole would
   * drain only once all of it is out, so a slow but moving link would look stalled.
   */
  private pump(socket: Socket): void {
    const w = this.writing;
    if (!w) return;
    let room = true;
    socket.cork();
    while (room && w.index < w.chunks.length) {
      const chunk = w.chunks[w.index] as Buffer;
      const end = Math.min(chunk.length, w.offset + WRITE_SLICE);
      room = socket.write(w.offset === 0 && end === chunk.length ? chunk : chunk.subarray(w.offset, end));
      if (end === chunk.length) {
        w.index++;
        w.offset = 0;
      } else {
        w.offset = end;
      }
    }
    socket.uncork();
    if (room) {
      this.writing = undefined;
      w.callback();
      return;
    }
    this.sendTimer.arm();
    // Our writes back up: stop delivering ondata until they drain (the reader then fills its
    // buffer and the socket pauses, so the peer feels the backpressure too).
    if (this.dataCallback && this.readableFlowing) {
      this.pausedForWrites = true;
      this.pause();
    }
  }

  private drained(): void {
    this.sendTimer.stop(); // progress: the next wait, if any, gets a fresh timeout
    const w = this.writing;
    if (w && this.socket) {
      if (w.index < w.chunks.length) {
        this.pump(this.socket);
      } else {
        this.writing = undefined;
        w.callback();
      }
    }
    if (this.pausedForWrites && !this.writing) {
      this.pausedForWrites = false;
      if (!this.destroyed) this.resume();
    }
  }
}
