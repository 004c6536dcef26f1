import type net from 'node:net';

/** Faults of one TCP direction. */
export interface PipeFaults {
  /** Added to every chunk's delivery time, ms. */
  latencyMs: number;
  /** Up to this much more, at random, ms (order is kept, as TCP keeps it). */
  jitterMs: number;
  /** 0 = unlimited. */
  bytesPerSecond: number;
  /** Hold every byte (nothing lost: they flow when the stall ends, like TCP retransmission). */
  stalled: boolean;
  /** Discard every byte and close nothing: a half-open link. */
  blackhole: boolean;
}

/** Bytes the pipe holds before it stops reading its source (TCP backpressure, bounded memory). */
const MAX_HELD = 4 * 1024 * 1024;
/** Bandwidth limits send slices of this size, so a big chunk does not leave in one burst. */
const SLICE = 16 * 1024;

interface Held {
  chunk: Buffer;
  releaseAt: number;
}

/** One direction of a proxied TCP link, with faults. */
export class Pipe {
  private faults: PipeFaults = {
    latencyMs: 0,
    jitterMs: 0,
    bytesPerSecond: 0,
    stalled: false,
    blackhole: false,
  };
  private readonly queue: Held[] = [];
  private held = 0;
  private lastRelease = 0;
  private nextSendAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;
  private sourceEnded = false;
  private stopped = false;
  private first: { need: number; parts: Buffer[]; have: number; fn: (head: Buffer) => Buffer } | undefined;
  private reset: { left: number; fn: () => void } | undefined;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly random: () => number,
  ) {}

  /** The first `need` bytes go through `fn` (which may rewrite them) before anything is forwarded. */
  transformFirst(need: number, fn: (head: Buffer) => Buffer): void {
    this.first = { need, parts: [], have: 0, fn };
  }

  start(): void {
    this.from.on('data', (chunk: Buffer) => this.push(chunk));
    this.from.on('end', () => {
      this.sourceEnded = true;
      this.pump();
    });
    this.to.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
  }

  setFaults(faults: PipeFaults): void {
    this.faults = { ...faults };
    this.pump();
  }

  /** Calls `fn` once `bytes` more bytes were forwarded (the rest of that chunk is not). */
  onForwarded(bytes: number, fn: () => void): void {
    this.reset = { left: bytes, fn };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private push(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.first) {
      const first = this.first;
      first.parts.push(chunk);
      first.have += chunk.length;
      if (first.have < first.need) return;
      this.first = undefined;
      const whole = Buffer.concat(first.parts);
      first.fn(whole.subarray(0, first.need));
      chunk = whole;
    }
    if (this.faults.blackhole) return;
    const now = Date.now();
    const delay = this.faults.latencyMs + this.faults.jitterMs * this.random();
    const releaseAt = Math.max(now + delay, this.lastRelease);
    this.lastRelease = releaseAt;
    this.queue.push({ chunk, releaseAt });
    this.held += chunk.length;
    if (this.held > MAX_HELD) this.from.pause();
    this.pump();
  }

  /** Forwards what is due; arms a timer for what is not yet. */
  private pump(): void {
    if (this.stopped || this.waitingDrain) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.faults.blackhole) {
      this.queue.length = 0;
      this.held = 0;
    }
    while (!this.faults.stalled && this.queue.length > 0) {
      const head = this.queue[0] as Held;
      const now = Date.now();
      const bps = this.faults.bytesPerSecond;
      const dueAt = Math.max(head.releaseAt, bps > 0 ? this.nextSendAt : 0);
      if (dueAt > now) {
        this.timer = setTimeout(() => this.pump(), dueAt - now);
        return;
      }
      let piece = head.chunk;
      if (bps > 0 && piece.length > SLICE) piece = piece.subarray(0, SLICE);
      if (this.reset && piece.length >= this.reset.left) {
        const { left, fn } = this.reset;
        this.reset = undefined;
        this.to.write(piece.subarray(0, left), () => fn());
        this.stop();
        return;
      }
      if (this.reset) this.reset.left -= piece.length;
      if (piece.length === head.chunk.length) this.queue.shift();
      else head.chunk = head.chunk.subarray(piece.length);
      this.held -= piece.length;
      if (bps > 0) this.nextSendAt = Math.max(this.nextSendAt, now) + (piece.length * 1000) / bps;
      if (this.held <= MAX_HELD / 2) this.from.resume();
      if (!this.to.write(piece)) {
        this.waitingDrain = true;
        return;
      }
    }
    if (this.queue.length === 0 && this.sourceEnded && !this.to.writableEnded) this.to.end();
  }
}
