import type { Socket } from 'node:net';
import type { Packet } from '../protocol/index.js';
import { ErrorCode, MAX_PACKET_LENGTH, StreamDecoder, VsoaError } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { StallTimer } from './stall-timer.js';

/** Corked bytes past which a tick's frames are handed to the kernel at once (one big packet). */
const FLUSH_EARLY_BYTES = 256 * 1024;

/** How long a graceful end() waits for the peer to close before destroying the socket. */
const END_GRACE_MS = 1000;

/**
 * How long one frame may take from its first byte to its last: 30 s, so a 256 KiB frame needs
 * a link of at least ~70 kbit/s. A peer that stops mid-frame (slowloris) is cut off after it.
 */
export const DEFAULT_FRAME_TIMEOUT = 30_000;

/**
 * Connections that wrote this tick, reset (and uncorked) by one tick callback for all of them
 * (a fan-out to 100 subscribers queued 100 callbacks per tick before).
 */
let corkedNow: FrameConnection[] = [];
let spare: FrameConnection[] = [];

function uncorkAll(): void {
  const list = corkedNow;
  corkedNow = spare;
  for (const conn of list) conn.uncorkTick();
  list.length = 0;
  spare = list;
}

function flushAtTickEnd(conn: FrameConnection): void {
  if (corkedNow.push(conn) === 1) process.nextTick(uncorkAll);
}

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
  /**
   * A received frame still incomplete this long after its first byte closes the link
   * (FRAME_TIMEOUT; detected within 1–2 × the value); 0 disables. Default DEFAULT_FRAME_TIMEOUT.
   */
  frameTimeout?: number;
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
  /** Made when first needed: an idle connection (most of a server's) never has a write wait. */
  private stallTimer: StallTimer | undefined;
  /**
   * The frame watch: armed while a received frame is incomplete. When it fires and the same
   * frame is still incomplete, that frame stalled for at least `frameTimeout`; a frame that
   * completed meanwhile re-arms it for the next one. A stall is cut off within 1–2 × the timeout.
   */
  private frameTimer: NodeJS.Timeout | undefined;
  private readonly frameTimeout: number;
  private frameWatched = 0;
  private ended = false;
  private endTimer: NodeJS.Timeout | undefined;
  private readonly onFlushed = (): void => this.flushed();
  /** Corked until the end of this tick; `corkedBytes` were written since the last uncork. */
  private corked = false;
  private corkedBytes = 0;
  /** A frame went out this tick: the tick's later frames are corked until its end. */
  private wroteThisTick = false;
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
    this.frameTimeout = options.frameTimeout ?? DEFAULT_FRAME_TIMEOUT;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const error = this.decoder.push(chunk);
      // A frame left incomplete starts the frame watch (one timer per period, not per frame).
      if (this.frameTimer === undefined && this.decoder.midFrame) this.watchFrame();
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

  /** Bytes held of a received frame not yet complete (what the peer sent of it, not what it claims). */
  get receiveBuffered(): number {
    return this.decoder.buffered;
  }

  /** Bytes the kernel did not take, waiting in user space (this tick's corked frames aside). */
  get queuedBytes(): number {
    return this.socket.writableLength - this.corkedBytes;
  }

  setSendTimeout(ms: number): void {
    this.options.sendTimeout = ms;
    this.stallTimer?.setTimeout(ms);
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
    const last = frame.length - 1;
    if (!this.corked && (!this.wroteThisTick || length >= FLUSH_EARLY_BYTES)) {
      // The tick's first frame (a reply, a call) and a frame that would flush at once anyway
      // (a 256 KiB publish) go out now: one write or writev, no cork kept for the tick.
      if (!this.wroteThisTick) {
        this.wroteThisTick = true;
        flushAtTickEnd(this);
      }
      if (last === 0) {
        this.socket.write(frame[0] as Buffer, this.onFlushed);
      } else {
        this.socket.cork();
        for (let i = 0; i < last; i++) this.socket.write(frame[i] as Buffer);
        this.socket.write(frame[last] as Buffer, this.onFlushed);
        this.socket.uncork();
      }
      if (this.socket.writableLength > 0) this.sendTimer.arm();
      return true;
    }
    // Later frames of the same tick leave together in one writev at its end: a syscall per
    // frame was the cost that dominated pipelined RPC and fan-out. Big bursts flush early.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    for (let i = 0; i < last; i++) this.socket.write(frame[i] as Buffer);
    this.socket.write(frame[last] as Buffer, this.onFlushed);
    this.corkedBytes += length;
    if (this.corkedBytes >= FLUSH_EARLY_BYTES) this.flushCorked(); // stays corked for the tick
    return true;
  }

  /**
   * End of the tick: everything corked goes out; what the kernel did not take starts the send timer.
   * @internal called by flushAtTickEnd
   */
  uncorkTick(): void {
    this.wroteThisTick = false;
    if (!this.corked) return;
    this.corked = false;
    this.corkedBytes = 0;
    this.socket.uncork();
    if (this.socket.writableLength > 0) this.sendTimer.arm();
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

  private get sendTimer(): StallTimer {
    this.stallTimer ??= new StallTimer(
      this.options.sendTimeout,
      () => this.socket.writableLength > 0,
      (timeout) => {
        this.options.log.warn(
          { peer: this.socket.remoteAddress, queued: this.socket.writableLength, timeout },
          'peer too slow: send timeout, closing',
        );
        this.destroy(
          new VsoaError(ErrorCode.SEND_TIMEOUT, `peer too slow: no write completed within ${timeout} ms`),
        );
      },
    );
    return this.stallTimer;
  }

  private watchFrame(): void {
    if (this.frameTimeout <= 0 || this.ended) return;
    this.frameWatched = this.decoder.partialsStarted;
    // The connection rides as the timer's argument: no closure per connection for a rare timer.
    this.frameTimer = setTimeout(FrameConnection.checkFrameOf, this.frameTimeout, this);
    this.frameTimer.unref();
  }

  private static checkFrameOf(conn: FrameConnection): void {
    conn.checkFrame();
  }

  private checkFrame(): void {
    this.frameTimer = undefined;
    if (this.ended || !this.decoder.midFrame) return;
    if (this.decoder.partialsStarted !== this.frameWatched) {
      this.watchFrame(); // another frame since: watch that one
      return;
    }
    const timeout = this.frameTimeout;
    this.options.log.warn(
      { peer: this.socket.remoteAddress, buffered: this.decoder.buffered, timeout },
      'frame stalled, closing',
    );
    this.destroy(new VsoaError(ErrorCode.FRAME_TIMEOUT, `a frame stayed incomplete for over ${timeout} ms`));
  }

  private flushed(): void {
    this.stallTimer?.progress();
  }

  private closed(reason: VsoaError): void {
    if (this.ended) return;
    this.ended = true;
    this.closeReason = reason;
    this.decoder.stop();
    this.stallTimer?.stop();
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = undefined;
    this.onClose(reason);
  }
}
