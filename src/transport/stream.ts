import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from '../util/log.js';
import { setKeepAlive } from './sockopt.js';

/** Buffering per direction before backpressure applies (Duplex side; the socket has its own). */
const HIGH_WATER_MARK = 64 * 1024;

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
  private sendTimeoutMs = 0;
  private sendTimer: NodeJS.Timeout | undefined;
  /** A write waiting for the peer to connect, or for the socket to drain. */
  private waitingWrite: { chunks: Buffer[]; callback: (error?: Error | null) => void } | undefined;
  private drainCallback: ((error?: Error | null) => void) | undefined;
  private waitingFinal: ((error?: Error | null) => void) | undefined;

  protected constructor(log: Logger) {
    super({ allowHalfOpen: false, highWaterMark: HIGH_WATER_MARK });
    this.log = log;
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
   * Writes all of `data` (queued while the peer is not yet connected or the network is
   * slower) and returns its length; 0 when the stream is closed. Use `write()` and 'drain'
   * to follow backpressure. The bytes must not be changed afterwards.
   */
  send(data: Uint8Array | string): number {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new TypeError('data must be a Uint8Array, Buffer or string');
    }
    if (this.destroyed || this.writableEnded) return 0;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length === 0) return 0;
    this.write(bytes);
    return bytes.length;
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

  /** A write that cannot go out within `ms` destroys the stream; 0 (default) waits forever. */
  sendTimeout(ms: number): void {
    this.sendTimeoutMs = checkMs(ms, 'ms');
    if (this.sendTimer) {
      clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
      this.armSendTimer();
    }
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
    if (this.sendTimer) clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    const pending = [this.waitingWrite?.callback, this.drainCallback, this.waitingFinal];
    this.waitingWrite = undefined;
    this.drainCallback = undefined;
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
    let room = true;
    if (chunks.length === 1) {
      room = socket.write(chunks[0] as Buffer);
    } else {
      socket.cork();
      for (const chunk of chunks) room = socket.write(chunk);
      socket.uncork();
    }
    if (room) {
      callback();
      return;
    }
    this.drainCallback = callback;
    this.armSendTimer();
  }

  private drained(): void {
    if (this.sendTimer) clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    const callback = this.drainCallback;
    this.drainCallback = undefined;
    callback?.();
  }

  private armSendTimer(): void {
    if (this.sendTimeoutMs <= 0 || this.sendTimer || !this.drainCallback) return;
    this.sendTimer = setTimeout(() => {
      this.sendTimer = undefined;
      if (!this.drainCallback) return;
      const error = Object.assign(new Error(`stream send timeout (${this.sendTimeoutMs} ms)`), {
        code: 'ETIMEDOUT',
      });
      this.destroy(error);
    }, this.sendTimeoutMs);
  }
}
