import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../index.js';
import {
  Assembler,
  DEFAULT_MAX_SEGMENT_SIZE,
  detectGeneration,
  frames,
  type WireGeneration,
} from './wire.js';

export interface TransportOptions {
  /** The peer's generation; null: learn it from the peer's first frame (client side). */
  generation: WireGeneration | null;
  /** Before the peer's first frame, assume this generation after this many ms (null: wait). */
  detectTimeout?: number | null;
  fallbackGeneration?: WireGeneration;
  maxMessageSize: number;
  /** Bytes queued towards the peer past which it is cut off (it stopped reading). */
  sendBufferLimit: number;
  maxSegmentSize?: number;
  /** Ping a peer silent for this long (ms); 0.7 pings, WebSocket pings for 0.6. null: never. */
  pingDelay: number | null;
  pingTimeout: number;
  log: Logger;
  onMessage(message: unknown): void;
  onClose(reason: string): void;
  /** Called once the generation is known (at once when given). */
  onWire?(generation: WireGeneration): void;
}

/** One WebSocket carrying juggler messages: framing, bounds, liveness. */
export class Transport {
  private generation: WireGeneration | null;
  private assembler: Assembler | null = null;
  private queued: string[] = [];
  private queuedBytes = 0;
  private closed = false;
  private lastReceive = Date.now();
  private pingSentAt = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  private detectTimer: NodeJS.Timeout | null = null;
  private readonly maxSegment: number;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: TransportOptions,
  ) {
    this.generation = options.generation;
    this.maxSegment = options.maxSegmentSize ?? DEFAULT_MAX_SEGMENT_SIZE;
    if (this.generation) this.assembler = new Assembler(this.generation, options.maxMessageSize);
    else if (options.detectTimeout != null) {
      this.detectTimer = setTimeout(
        () => this.learn(options.fallbackGeneration ?? '0.7'),
        options.detectTimeout,
      );
    }
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('pong', () => {
      this.lastReceive = Date.now();
    });
    ws.on('close', (code, reason) =>
      this.finish(`closed by peer (${code}${reason.length ? ` ${reason}` : ''})`),
    );
    ws.on('error', (error) => this.fail(`socket error: ${error.message}`));
    this.armPing(options.pingDelay);
  }

  get wire(): WireGeneration | null {
    return this.generation;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes waiting to be written to the peer. */
  get buffered(): number {
    return this.ws.bufferedAmount + this.queuedBytes;
  }

  /** Sends one encoded message; false when closed (or just cut off for not reading). */
  send(text: string): boolean {
    if (this.closed) return false;
    if (this.buffered + text.length > this.options.sendBufferLimit) {
      this.fail(`peer stopped reading: over ${this.options.sendBufferLimit} bytes waiting`, 1008);
      return false;
    }
    if (!this.generation) {
      this.queued.push(text);
      this.queuedBytes += text.length;
      return true;
    }
    for (const frame of frames(text, this.generation, this.maxSegment)) this.ws.send(frame);
    return true;
  }

  /**
   * Sends a message already framed for this transport's generation (encodedFrames); false when
   * closed or cut off. Only valid once the generation is known.
   */
  sendFrames(encoded: readonly Buffer[], size: number): boolean {
    if (this.closed) return false;
    if (!this.generation) return false;
    if (this.buffered + size > this.options.sendBufferLimit) {
      this.fail(`peer stopped reading: over ${this.options.sendBufferLimit} bytes waiting`, 1008);
      return false;
    }
    for (const frame of encoded) this.ws.send(frame, { binary: false });
    return true;
  }

  get segmentSize(): number {
    return this.maxSegment;
  }

  /** Closes with a close frame; the socket is destroyed if the peer does not finish it. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.finish(reason || 'closed');
    this.ws.close(code, reason);
  }

  /** Closes at once without a close handshake. */
  terminate(why: string): void {
    if (this.closed) return;
    this.finish(why);
    this.ws.terminate();
  }

  /** Logs and closes: the peer broke the protocol or stopped reading. */
  fail(why: string, code = 1002): void {
    if (this.closed) return;
    this.options.log.warn({ reason: why }, 'juggler connection closed');
    if (code === 1008) this.terminate(why);
    else this.close(code, why.slice(0, 120));
  }

  private learn(generation: WireGeneration): void {
    if (this.generation || this.closed) return;
    if (this.detectTimer) clearTimeout(this.detectTimer);
    this.detectTimer = null;
    this.generation = generation;
    this.assembler = new Assembler(generation, this.options.maxMessageSize);
    this.options.onWire?.(generation);
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const text of queued) {
      for (const frame of frames(text, generation, this.maxSegment)) this.ws.send(frame);
    }
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    this.lastReceive = Date.now();
    if (isBinary) {
      this.fail('binary frame (juggler is text only)', 1003);
      return;
    }
    const frame = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
    if (!this.generation) {
      const detected = detectGeneration(frame);
      if (!detected) {
        this.fail('first frame is neither juggler 0.6 nor 0.7');
        return;
      }
      this.learn(detected);
    }
    let received: ReturnType<Assembler['push']>;
    try {
      received = (this.assembler as Assembler).push(frame);
    } catch (error) {
      this.fail((error as Error).message, 1009);
      return;
    }
    if (received.kind === 'ping') {
      if (this.buffered < this.options.sendBufferLimit) this.ws.send(`3${received.payload}`);
      return;
    }
    if (received.kind !== 'message') return;
    let message: unknown;
    try {
      message = JSON.parse(received.text);
    } catch {
      this.fail('malformed JSON', 1007);
      return;
    }
    this.options.onMessage(message);
  }

  private armPing(delay: number | null): void {
    if (delay === null || this.closed) return;
    this.pingTimer = setTimeout(() => this.checkLiveness(), delay);
    this.pingTimer.unref();
  }

  private checkLiveness(): void {
    const { pingDelay, pingTimeout } = this.options;
    if (pingDelay === null || this.closed) return;
    const now = Date.now();
    if (this.pingSentAt > 0) {
      if (this.lastReceive < this.pingSentAt) {
        this.fail('ping timeout: the peer went silent', 1008);
        return;
      }
      this.pingSentAt = 0;
    }
    const idle = now - this.lastReceive;
    if (idle < pingDelay) {
      this.armPing(pingDelay - idle);
      return;
    }
    this.pingSentAt = now;
    if (this.generation === '0.6') this.ws.ping();
    else if (this.generation === '0.7') this.ws.send('2');
    this.pingTimer = setTimeout(() => this.checkLiveness(), pingTimeout);
    this.pingTimer.unref();
  }

  private finish(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer) clearTimeout(this.pingTimer);
    if (this.detectTimer) clearTimeout(this.detectTimer);
    this.queued = [];
    this.queuedBytes = 0;
    this.options.onClose(why);
  }
}
