/**
 * What a benchmark side must offer. One server adapter and one client adapter per library
 * (ours, the official npm `vsoa`); the scenario code is shared, so both run the same loops.
 */

export type Side = 'ours' | 'official' | 'raw';

/** A JSON object exchanged over the control RPC and the ack datagram. */
export type Json = Record<string, unknown>;

export interface ServerAdapter {
  /** Listens on 127.0.0.1, port from the OS; resolves the TCP port. */
  listen(): Promise<number>;
  /** Registers the library's idiomatic echo handler: reply with the request's payload. */
  echo(url: string): void;
  /** Registers a control RPC: JSON param in, JSON param out. */
  command(url: string, handler: (param: Json) => Promise<Json>): void;
  /** Datagrams (normal channel) with a JSON param: used for subscriber acks. */
  ondata(handler: (url: string, param: Json) => void): void;
  publish(url: string, data: Buffer, quick: boolean): void;
  /** Connected clients. */
  count(): number;
  close(): Promise<void>;
}

export type EchoFraming = 'pipe' | 'message';

export interface ClientAdapter {
  connect(port: number): Promise<void>;
  /** Echo RPC; `done(false)` when no successful reply came. */
  echo(url: string, data: Buffer | undefined, done: (ok: boolean) => void): void;
  /** Control RPC with a JSON param; resolves the reply's JSON param. */
  control(url: string, param: Json, timeoutMs: number): Promise<Json>;
  /** Fire-and-forget datagram over TCP with a JSON param. */
  datagram(url: string, param: Json): void;
  /** A quick (UDP) datagram with `data` to the server; false when it could not be sent. */
  quickSend(url: string, data: Buffer): boolean;
  /**
   * The raw floor's echo framing, chosen before the first echo: 'pipe' (the default) writes
   * every chunk straight back, 'message' reads each request whole and then replies, as an RPC
   * does. The VSOA sides have only the RPC.
   */
  echoFraming?(framing: EchoFraming): void;
  /** Readies the quick channel before quickSend() (the raw floor binds its UDP socket). */
  prepareQuick?(): Promise<void>;
  subscribe(url: string): Promise<void>;
  /** Every PUBLISH received: its data length and channel. */
  onMessage(handler: (bytes: number, quick: boolean) => void): void;
  close(): void;
}

export type ClientFactory = () => ClientAdapter;

/** Parses a received param that may come as text, bytes or an already parsed object. */
export function jsonParam(param: unknown): Json {
  if (param === undefined || param === null) return {};
  if (typeof param === 'string' || param instanceof Uint8Array) {
    const text = typeof param === 'string' ? param : Buffer.from(param).toString('utf8');
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed !== null && typeof parsed === 'object' ? (parsed as Json) : {};
    } catch {
      return {};
    }
  }
  return typeof param === 'object' ? (param as Json) : {};
}

/** Raised by an adapter for a feature its side does not have (the raw floor has no pub/sub). */
export function unsupported(what: string): never {
  throw new Error(`not supported by this side: ${what}`);
}
