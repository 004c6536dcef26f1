import type { Payload } from '../protocol/index.js';
import {
  anySubscriptionMatches,
  assertUrl,
  checkPayload,
  encodeFrame,
  Flag,
  Type,
} from '../protocol/index.js';
import { normalizeAddress } from '../transport/address.js';
import type { FrameConnection } from '../transport/frame-connection.js';
import { type PeerCertificate, peerCertificate } from '../transport/peer-cert.js';
import type { QuickSocket } from '../transport/quick-socket.js';
import { setKeepAlive, setPriority } from '../transport/sockopt.js';
import type { Logger } from '../util/log.js';

/** What a RemoteClient needs from its server. */
export interface RemoteClientHost {
  readonly quick: QuickSocket | undefined;
  priorityChanged(cli: RemoteClient): void;
}

export type SubscribeCallback = (cli: RemoteClient, url: string | string[]) => void;

function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${name} must be an integer`);
  if (value < min || value > max) throw new RangeError(`${name} must be within ${min}..${max}, got ${value}`);
  return value;
}

/** A client connected to a Server (seed: "VSOA Server Remote Client Object"). */
export class RemoteClient {
  /** Whether this client receives publishes; true once the handshake passed. */
  authed = false;
  onsubscribe: SubscribeCallback | undefined;
  onunsubscribe: SubscribeCallback | undefined;

  /** @internal */ handshaked = false;
  /** @internal Closes the connection unless SERVINFO completes in time; cleared by the handshake. */
  handshakeTimer: NodeJS.Timeout | undefined;
  /** @internal */ readonly subscriptions = new Set<string>();
  /** @internal */ quickPort = 0;
  /** @internal seqnos whose handler is still running and has not replied. */
  readonly unanswered = new Set<number>();

  private prio = 0;
  /** @internal The peer's address (IPv4-mapped IPv6 normalised), where quick packets go. */
  readonly remoteAddr: string;
  private readonly remotePort: number;

  constructor(
    readonly id: number,
    /** @internal */ readonly conn: FrameConnection,
    private readonly host: RemoteClientHost,
    /** @internal */ readonly log: Logger,
  ) {
    this.remoteAddr = normalizeAddress(conn.socket.remoteAddress ?? '');
    this.remotePort = conn.socket.remotePort ?? 0;
  }

  get priority(): number {
    return this.prio;
  }

  /** 0–7. Sends QOSSETUP on every assignment so the client sets its sockets too. */
  set priority(p: number) {
    this.prio = checkInteger(p, 'priority', 0, 7);
    this.conn.send(encodeFrame({ type: Type.QOSSETUP, flags: Flag.REPLY, status: p }));
    setPriority(this.conn.socket, p);
    this.host.priorityChanged(this);
  }

  isClosed(): boolean {
    return this.conn.isClosed;
  }

  /** Ends the connection after queued frames are flushed. */
  close(): void {
    this.conn.end();
  }

  address(): { addr: string; port: number } {
    return { addr: this.remoteAddr, port: this.remotePort };
  }

  isSubscribed(url: string): boolean {
    assertUrl(url);
    return anySubscriptionMatches(this.subscriptions, url);
  }

  /** Answers an RPC; may be called later, from any async code. False when closed. */
  reply(seqno: number, payload?: Payload | null, status = 0, tunid = 0): boolean {
    checkInteger(seqno, 'seqno', 0, 0xffffffff);
    checkInteger(status, 'status', 0, 255);
    checkInteger(tunid, 'tunid', 0, 65535);
    const { param, data } = checkPayload(payload);
    const frame = encodeFrame(
      { type: Type.RPC, flags: tunid ? Flag.REPLY | Flag.TUNNEL : Flag.REPLY, status, seqno, tunid },
      param,
      data,
    );
    this.unanswered.delete(seqno);
    return this.conn.send(frame);
  }

  /** Sends a DATAGRAM to this client; quick goes by UDP and needs the client's quick port. */
  datagram(url: string, payload?: Payload | null, quick = false): boolean {
    assertUrl(url);
    const { param, data } = checkPayload(payload);
    if (!quick) return this.conn.send(encodeFrame({ type: Type.DATAGRAM, url }, param, data));
    const socket = this.host.quick;
    if (!socket || this.quickPort === 0 || this.conn.isClosed) return false;
    return socket.send({ type: Type.DATAGRAM, url }, param, data, this.quickPort, this.remoteAddr);
  }

  /** TCP keepalive: a peer silent for about 3 × idle is dropped. */
  keepalive(idleMs: number): void {
    checkInteger(idleMs, 'idleMs', 0, 0x7fffffff);
    setKeepAlive(this.conn.socket, idleMs);
  }

  sendTimeout(ms: number): void {
    this.conn.setSendTimeout(checkInteger(ms, 'ms', 0, 0x7fffffff));
  }

  /** The client's TLS certificate (DER bytes with `binary`), or null without TLS or certificate. */
  getPeerCert(binary: true): Buffer | null;
  getPeerCert(binary?: false): PeerCertificate | null;
  getPeerCert(binary: boolean): PeerCertificate | Buffer | null;
  getPeerCert(binary = false): PeerCertificate | Buffer | null {
    return peerCertificate(this.conn.socket, binary);
  }

  /** @internal Whether a quick datagram from `addr:port` may come from this client. */
  ownsQuickSender(addr: string, port: number): boolean {
    return normalizeAddress(addr) === this.remoteAddr && (this.quickPort === 0 || port === this.quickPort);
  }
}
