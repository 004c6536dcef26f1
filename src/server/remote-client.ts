import type { Payload } from '../protocol/index.js';
import { assertUrl, checkPayload } from '../protocol/index.js';
import type { FrameConnection } from '../transport/frame-connection.js';
import { type PeerCertificate, peerCertificate } from '../transport/peer-cert.js';
import { setKeepAlive } from '../transport/sockopt.js';
import { duration, integer } from '../util/check.js';
import type { PeerSession } from './peer.js';

export type SubscribeCallback = (cli: RemoteClient, url: string | string[]) => void;

/** A required integer argument (check.ts rules: TypeError for a wrong type, RangeError out of range). */
function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (value === undefined) throw new TypeError(`${name} must be an integer, got undefined`);
  return integer(value, name, 0, min, max);
}

/** A required whole number of milliseconds, refused past what a Node timer can hold. */
function checkMs(value: unknown, name: string): number {
  if (value === undefined) throw new TypeError(`${name} must be a number of milliseconds, got undefined`);
  return integer(duration(value, name, 0), name, 0);
}

/**
 * A client connected to a Server (seed: "VSOA Server Remote Client Object"): the application's
 * handle. Its state lives in the server's session for this peer; this class checks the
 * application's arguments and delegates.
 */
export class RemoteClient {
  onsubscribe: SubscribeCallback | undefined;
  onunsubscribe: SubscribeCallback | undefined;
  readonly #session: PeerSession;

  /** @internal created by the server's session */
  constructor(session: PeerSession) {
    this.#session = session;
  }

  get id(): number {
    return this.#session.id;
  }

  /** Whether this client receives publishes; true once the handshake passed. The application may change it. */
  get authed(): boolean {
    return this.#session.authed;
  }

  set authed(value: boolean) {
    this.#session.authed = value === true;
  }

  get priority(): number {
    return this.#session.priority;
  }

  /** 0–7. Sends QOSSETUP on every assignment so the client sets its sockets too. */
  set priority(p: number) {
    this.#session.setPriority(checkInteger(p, 'priority', 0, 7));
  }

  /** @internal the peer's framed connection (tests and transport tools) */
  get conn(): FrameConnection {
    return this.#session.conn;
  }

  isClosed(): boolean {
    return this.#session.conn.isClosed;
  }

  /** Ends the connection after queued frames are flushed. */
  close(): void {
    this.#session.conn.end();
  }

  address(): { addr: string; port: number } {
    return { addr: this.#session.remoteAddr, port: this.#session.remotePort };
  }

  isSubscribed(url: string): boolean {
    assertUrl(url);
    return this.#session.isSubscribed(url);
  }

  /**
   * Answers an RPC; may be called later, from any async code. False when closed.
   * Ownership: payload buffers over 4 KiB (param over 2 KiB) are sent by reference, as with socket.write: do not modify them after the call (README, Payload ownership).
   */
  reply(seqno: number, payload?: Payload | null, status = 0, tunid = 0): boolean {
    checkInteger(seqno, 'seqno', 0, 0xffffffff);
    checkInteger(status, 'status', 0, 255);
    checkInteger(tunid, 'tunid', 0, 65535);
    const { param, data } = checkPayload(payload);
    return this.#session.reply(seqno, status, tunid, param, data);
  }

  /**
   * Sends a DATAGRAM to this client; quick goes by UDP and needs the client's quick port.
   * Ownership: payload buffers over 4 KiB (param over 2 KiB) are sent by reference, as with socket.write: do not modify them after the call (README, Payload ownership).
   */
  datagram(url: string, payload?: Payload | null, quick = false): boolean {
    assertUrl(url);
    const { param, data } = checkPayload(payload);
    return this.#session.datagram(url, param, data, quick);
  }

  /** TCP keepalive: a peer silent for about 4 × idle is dropped (idle, then 3 probes idle apart). */
  keepalive(idleMs: number): void {
    setKeepAlive(this.#session.conn.socket, checkMs(idleMs, 'idleMs'));
  }

  sendTimeout(ms: number): void {
    this.#session.conn.setSendTimeout(checkMs(ms, 'ms'));
  }

  /** The client's TLS certificate (DER bytes with `binary`), or null without TLS or certificate. */
  getPeerCert(binary: true): Buffer | null;
  getPeerCert(binary?: false): PeerCertificate | null;
  getPeerCert(binary: boolean): PeerCertificate | Buffer | null;
  getPeerCert(binary = false): PeerCertificate | Buffer | null {
    return peerCertificate(this.#session.conn.socket, binary);
  }
}
