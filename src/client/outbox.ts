import type { WireParam } from '../protocol/index.js';

export interface OutboxDatagram {
  url: string;
  param: WireParam;
  data: Uint8Array | undefined;
  quick: boolean;
}

function copy<T extends Uint8Array | string | undefined>(bytes: T): T {
  return (bytes instanceof Uint8Array ? Buffer.from(bytes) : bytes) as T;
}

/**
 * Robot mode's opt-in outbox: datagrams made while disconnected, at most `capacity` of them
 * (the oldest is dropped for a new one, and counted), sent in order after the next connect.
 * Payload bytes are copied in: the application may reuse its buffers as soon as datagram()
 * returns, as it may when the datagram goes out at once.
 */
export class Outbox {
  private readonly items: Array<OutboxDatagram | undefined>;
  private head = 0;
  private count = 0;
  /** Datagrams dropped because the outbox was full. */
  dropped = 0;
  /** Datagrams sent from the outbox after a reconnect. */
  sent = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<OutboxDatagram | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(datagram: OutboxDatagram): void {
    const item = { ...datagram, param: copy(datagram.param), data: copy(datagram.data) };
    if (this.count === this.capacity) {
      this.items[this.head] = item; // the oldest goes, the new one takes its slot at the end
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
      return;
    }
    this.items[(this.head + this.count) % this.capacity] = item;
    this.count++;
  }

  /**
   * Hands each datagram to `send`, oldest first, and empties the outbox. One that `send`
   * refuses (the link's queue is full) is dropped and counted: kept, it would go out after
   * newer ones.
   */
  drain(send: (datagram: OutboxDatagram) => boolean): void {
    while (this.count > 0) {
      const item = this.items[this.head] as OutboxDatagram;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      if (send(item)) this.sent++;
      else this.dropped++;
    }
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}
