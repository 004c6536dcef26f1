import type { Socket } from 'node:net';
import type { Packet } from '../protocol/index.js';
import { ErrorCode, MAX_PACKET_LENGTH, StreamDecoder, VsoaError } from '../protocol/index.js';
import type { Logger } from '../util/log.js';

/** Corked bytes past which a tick's frames are handed to the kernel at once (one big packet). */
const FLUSH_EARLY_BYTES = 256 * 1024;

/** How long a graceful end() waits for the peer to close before destroying the socket. */
const END_GRACE_MS = 1000;

export interface FrameConnectionOptions {
  /** A queued write that makes no progress for this long cuts the peer off; 0 disables. */
  sendTimeout: number;
  /** Bytes that may wait in user space for one peer before it counts as too slow. */
  maxQueuedBytes: number;
  /**
   * What a full queue means. 'close' (a server's view): the peer is too slow, cut it off.
   * 'refuse' (a client's view): our own application outpaces the link; refuse the frame and
   * let the caller see `false`, keeping the connection.
   */
  whenFull?: 'close' | 'refuse';
  log: Logger;
}

/**
 * VSOA framing over one TCP/TLS socket: decodes received chunks into packets and writes
 * encoded frames whole (cork, write each buffer, uncork: one writev, no copy).
 *
 * Slow peers: a frame is queued only if the peer's queue stays under `maxQueuedBytes`,
 * else the connection is destroyed (never a half-written frame on an open socket). While
 * anything is queued, each completed write re-arms the send timer; if no write completes
 * within `sendTimeout`, the peer is too slow and the connection is destroyed.
 */
export class FrameConnection {
  private readonly decoder: StreamDecoder;
  private sendTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private endTimer: NodeJS.Timeout | undefined;
  private readonly onFlushed = (): void => this.flushed();
  private readonly flushTick = (): void => this.uncorkTick();
  /** Corked until the end of this tick; `corkedBytes` were written since the last uncork. */
  private corked = false;
  private corkedBytes = 0;
  private socketError: Error | undefined;
  /** end() was called: the close that follows is ours, not the peer's. */
  private endedLocally = false;
  /** Why the connection ended, once it has. */
  closeReason: VsoaError | undefined;

  constructor(
    readonly socket: Socket,
    onPacket: (packet: Packet) => void,
    private readonly onClose: (reason: VsoaError) => void,
    private readonly options: FrameConnectionOptions,
  ) {
    const { log } = options;
    this.decoder = new StreamDecoder((packet) => {
      try {
        onPacket(packet);
      } catch (error) {
        log.error({ err: error }, 'packet handler threw');
      }
    }, MAX_PACKET_LENGTH);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const error = this.decoder.push(chunk);
      if (error) {
        log.warn({ code: error.code, peer: socket.remoteAddress }, `closing connection: ${error.message}`);
        this.destroy(
          new VsoaError(ErrorCode.PROTOCOL, `protocol error (${error.code}): ${error.message}`, {
            cause: error,
          }),
        );
      }
    });
    socket.on('error', (error) => {
      log.debug({ err: error }, 'socket error');
      this.socketError ??= error;
    });
    socket.on('close', () =>
      this.closed(
        this.endedLocally
          ? new VsoaError(ErrorCode.LOCAL_CLOSE, 'connection closed locally')
          : this.socketError
            ? new VsoaError(ErrorCode.SOCKET, `socket error: ${this.socketError.message}`, {
                cause: this.socketError,
              })
            : new VsoaError(ErrorCode.PEER_CLOSED, 'the peer closed the connection'),
      ),
    );
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Bytes the kernel did not take, waiting in user space (this tick's corked frames aside). */
  get queuedBytes(): number {
    return this.socket.writableLength - this.corkedBytes;
  }

  setSendTimeout(ms: number): void {
    this.options.sendTimeout = ms;
  }

  /** Writes one encoded frame; false if the connection is closed or was just cut off as too slow. */
  send(frame: readonly Buffer[]): boolean {
    if (this.ended || this.socket.destroyed || !this.socket.writable) return false;
    let length = 0;
    for (const b of frame) length += b.length;
    if (this.socket.writableLength + length > this.options.maxQueuedBytes) {
      if (this.options.whenFull === 'refuse' && this.socket.writableLength > 0) return false;
      this.options.log.warn(
        { peer: this.socket.remoteAddress, queued: this.socket.writableLength },
        'peer too slow: send queue full, closing',
      );
      this.destroy(new VsoaError(ErrorCode.SEND_QUEUE_FULL, 'peer too slow: send queue full'));
      return false;
    }
    // Every frame of this tick leaves in one writev: a syscall per frame was the cost that
    // dominated pipelined RPC and fan-out. Big bursts flush early so the kernel takes them.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.flushTick);
    }
    const last = frame.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(frame[i] as Buffer);
    this.socket.write(frame[last] as Buffer, this.onFlushed);
    this.corkedBytes += length;
    if (this.corkedBytes >= FLUSH_EARLY_BYTES) this.flushCorked(); // stays corked for the tick
    return true;
  }

  /** End of the tick: everything corked goes out; what the kernel did not take starts the send timer. */
  private uncorkTick(): void {
    if (!this.corked) return;
    this.corked = false;
    this.corkedBytes = 0;
    this.socket.uncork();
    if (this.socket.writableLength > 0) this.armSendTimer();
  }

  /** Hands what this tick corked to the kernel now, and corks again. */
  private flushCorked(): void {
    this.socket.uncork();
    this.socket.cork();
    this.corkedBytes = 0;
  }

  /**
   * Graceful close: queued frames are flushed, then FIN. A peer that has not closed its side
   * within `graceMs` (it stopped reading, or ignores our FIN) is destroyed, so no socket lingers.
   */
  end(graceMs = END_GRACE_MS): void {
    if (this.ended || this.endTimer) return;
    this.decoder.stop();
    this.socket.end();
    this.endTimer = setTimeout(() => this.destroy(), graceMs);
    this.endedLocally = true;
    this.endTimer.unref();
  }

  /** Immediate close (RST if linger 0 was set); without a reason it counts as a local close. */
  destroy(reason?: VsoaError): void {
    this.decoder.stop();
    // Frames corked this tick (a reply before a protocol error) still go to the kernel first.
    if (this.corked && !this.socket.destroyed) {
      this.corked = false;
      this.corkedBytes = 0;
      this.socket.uncork();
    }
    this.socket.destroy();
    this.closed(reason ?? new VsoaError(ErrorCode.LOCAL_CLOSE, 'connection closed locally'));
  }

  private armSendTimer(): void {
    const timeout = this.options.sendTimeout;
    if (timeout <= 0) return;
    if (this.sendTimer) {
      return;
    }
    this.sendTimer = setTimeout(() => {
      this.sendTimer = undefined;
      if (this.socket.writableLength === 0) return;
      this.options.log.warn(
        { peer: this.socket.remoteAddress, queued: this.socket.writableLength, timeout },
        'peer too slow: send timeout, closing',
      );
      this.destroy(
        new VsoaError(ErrorCode.SEND_TIMEOUT, `peer too slow: no write completed within ${timeout} ms`),
      );
    }, timeout);
  }

  private flushed(): void {
    if (!this.sendTimer) return;
    if (this.socket.writableLength === 0) {
      clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
    } else {
      this.sendTimer.refresh();
    }
  }

  private closed(reason: VsoaError): void {
    if (this.ended) return;
    this.ended = true;
    this.closeReason = reason;
    this.decoder.stop();
    if (this.sendTimer) clearTimeout(this.sendTimer);
    if (this.endTimer) clearTimeout(this.endTimer);
    this.sendTimer = undefined;
    this.endTimer = undefined;
    this.onClose(reason);
  }
}
