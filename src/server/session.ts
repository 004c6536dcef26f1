import { createHash, timingSafeEqual } from 'node:crypto';
import type net from 'node:net';
import type { Packet, ReceivedPayload, Request, WireParam } from '../protocol/index.js';
import {
  ErrorCode,
  encodeFrame,
  Flag,
  isValidUrl,
  Method,
  receivedPayload,
  replyFrame,
  Status,
  Type,
  VsoaError,
} from '../protocol/index.js';
import { normalizeAddress } from '../transport/address.js';
import { FrameConnection } from '../transport/frame-connection.js';
import type { QuickSocket } from '../transport/quick-socket.js';
import { setPriority } from '../transport/sockopt.js';
import type { Logger } from '../util/log.js';
import { safely } from '../util/safely.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { CommandTable, Invocation } from './commands.js';
import type { ServerConfig } from './options.js';
import type { PeerSession } from './peer.js';
import { RemoteClient } from './remote-client.js';
import { subscriptionUrls } from './subscribe-request.js';
import { Subscriptions } from './subscriptions.js';

/** What a session needs from its server. */
export interface SessionHost {
  readonly config: ServerConfig;
  /** The current password ('' for none): it may change while the server runs. */
  readonly password: string;
  readonly throttle: AuthThrottle;
  readonly quick: QuickSocket | undefined;
  readonly commands: CommandTable;
  /** The handshake completed: onclient(cli, true). */
  connected(session: Session): void;
  /** The connection ended (after `connected`, onclient(cli, false, reason)). */
  closed(session: Session, reason: VsoaError): void;
  /** A DATAGRAM arrived: ondata. */
  datagram(session: Session, url: string, payload: ReceivedPayload, quick: boolean): void;
  /** A client's priority changed: publish order follows. */
  priorityChanged(): void;
}

/** Packets a peer may pipeline behind a SERVINFO whose password check waits for the backoff. */
const MAX_HELD_PACKETS = 64;

/**
 * One peer of a Server: its connection, handshake timer, password check, packet dispatch and
 * subscriptions. The application sees it through `cli` (a RemoteClient); nothing else
 * changes a session's state.
 */
export class Session implements PeerSession, Invocation {
  readonly cli: RemoteClient;
  readonly conn: FrameConnection;
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly log: Logger;
  /** seqnos whose handler runs and has not replied; made at the first call (an idle client makes none). */
  private running: Set<number> | undefined;
  authed = false;
  private handshakedFlag = false;
  private quickPortNumber = 0;
  private prio = 0;
  private readonly subscriptions: Subscriptions;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** Why we are closing the connection, when it is more than a local close (a refused password). */
  private closeCause: VsoaError | undefined;
  /** A password check is waiting for this address's backoff; later packets wait with it. */
  private checking = false;
  private held: Packet[] = [];
  private pausedForCheck = false;

  constructor(
    private readonly host: SessionHost,
    readonly id: number,
    socket: net.Socket,
    log: Logger,
  ) {
    const { config } = host;
    this.log = log;
    this.remoteAddr = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.subscriptions = new Subscriptions(config.maxSubscriptions, config.maxSubscriptionBytes);
    this.conn = new FrameConnection(
      socket,
      (packet) => this.onPacket(packet),
      (reason) => this.onClose(reason),
      { sendTimeout: config.sendTimeout, maxQueuedBytes: config.maxSendQueue, log },
    );
    this.cli = new RemoteClient(this);
    this.handshakeTimer = setTimeout(() => {
      log.info({ peer: this.remoteAddr }, 'no handshake in time, closing');
      this.conn.destroy(
        new VsoaError(ErrorCode.HANDSHAKE_TIMEOUT, `no handshake within ${config.handshakeTimeout} ms`),
      );
    }, config.handshakeTimeout);
    log.debug({ peer: this.remoteAddr, port: this.remotePort }, 'connection');
  }

  get unanswered(): Set<number> {
    if (this.running === undefined) this.running = new Set();
    return this.running;
  }

  /** SERVINFO completed (with the right password, if the server has one). */
  get handshaked(): boolean {
    return this.handshakedFlag;
  }

  /** The client's announced quick (UDP) port, 0 when it announced none. */
  get quickPort(): number {
    return this.quickPortNumber;
  }

  get priority(): number {
    return this.prio;
  }

  setPriority(priority: number): void {
    this.prio = priority;
    this.conn.send(replyFrame(Type.QOSSETUP, 0, priority));
    setPriority(this.conn.socket, priority);
    this.host.priorityChanged();
  }

  /** Whether a handshaked, authed client gets a publish on `url` (`keys`: cachedMatchKeys(url)). */
  receives(url: string, keys: readonly string[] | undefined): boolean {
    return this.handshakedFlag && this.authed && this.subscriptions.matches(url, keys);
  }

  isSubscribed(url: string, keys?: readonly string[]): boolean {
    return this.subscriptions.matches(url, keys);
  }

  /** Live and handshaked: what server.clients() lists. */
  get live(): boolean {
    return this.handshakedFlag && !this.conn.isClosed;
  }

  /** Quick datagrams name their sender by id; only the announced quick address and port may use it. */
  ownsQuickSender(address: string, port: number): boolean {
    return (
      this.quickPortNumber !== 0 &&
      port === this.quickPortNumber &&
      this.live &&
      normalizeAddress(address) === this.remoteAddr
    );
  }

  reply(
    seqno: number,
    status: number,
    tunid: number,
    param: WireParam,
    data: Uint8Array | undefined,
  ): boolean {
    const frame = replyFrame(Type.RPC, seqno, status, param, data, tunid);
    this.running?.delete(seqno);
    return this.conn.send(frame);
  }

  datagram(url: string, param: WireParam, data: Uint8Array | undefined, quick: boolean): boolean {
    if (!quick) return this.conn.send(encodeFrame({ type: Type.DATAGRAM, url }, param, data));
    const socket = this.host.quick;
    if (!socket || this.quickPortNumber === 0 || this.conn.isClosed) return false;
    return socket.send({ type: Type.DATAGRAM, url }, param, data, this.quickPortNumber, this.remoteAddr);
  }

  /** A handler threw or rejected: logged, and answered with NO_RESPONDING unless it had replied. */
  handlerFailed(request: Request, error: unknown): void {
    const { seqno } = request;
    this.log.error({ err: error, url: request.url }, 'command handler failed');
    if (this.running?.delete(seqno) === true && !this.conn.isClosed) {
      this.conn.send(replyFrame(Type.RPC, seqno, Status.NO_RESPONDING));
    }
  }

  /** A quick DATAGRAM attributed to this client by the server. */
  quickDatagram(packet: Packet): void {
    this.onDatagram(packet, true);
  }

  private onClose(reason: VsoaError): void {
    clearTimeout(this.handshakeTimer);
    this.held = [];
    const why = this.closeCause ?? reason;
    this.log.debug({ code: why.code, reason: why.message }, 'connection closed');
    this.host.closed(this, why);
  }

  private onPacket(packet: Packet): void {
    if (this.checking) {
      this.hold(packet);
      return;
    }
    if (packet.flags & Flag.REPLY) {
      this.log.debug({ type: packet.type }, 'ignoring a reply packet sent to the server');
      return;
    }
    if (packet.type === Type.SERVINFO) {
      this.onServInfo(packet);
      return;
    }
    if (this.host.password && !this.handshakedFlag) {
      this.refuse(packet.type, packet.seqno);
      return;
    }
    switch (packet.type) {
      case Type.RPC:
        this.onRpc(packet);
        break;
      case Type.SUBSCRIBE:
      case Type.UNSUBSCRIBE:
        this.onSubscription(packet);
        break;
      case Type.DATAGRAM:
        this.onDatagram(packet, false);
        break;
      case Type.PINGECHO:
        this.conn.send(replyFrame(Type.PINGECHO, packet.seqno));
        break;
      case Type.NOOP:
        break;
      default:
        this.log.debug({ type: packet.type }, 'ignoring unexpected packet type');
    }
  }

  /** Wrong or missing password: status PASSWORD with the offending packet's type, then close. */
  private refuse(type: number, seqno: number): void {
    const throttled = this.host.throttle.isThrottled(this.remoteAddr);
    // While an address is throttled its refusals are one warning (the throttle's), not a line each.
    const fields = { type, peer: this.remoteAddr, port: this.remotePort };
    if (throttled) this.log.debug(fields, 'authentication failed, closing');
    else this.log.info(fields, 'authentication failed, closing');
    this.closeCause = new VsoaError(ErrorCode.AUTH, 'wrong or missing password');
    this.conn.send(replyFrame(type, seqno, Status.PASSWORD));
    this.conn.end();
  }

  private onServInfo(packet: Packet): void {
    const { seqno } = packet;
    const tunid = packet.flags & Flag.TUNNEL ? packet.tunid : undefined;
    if (!this.host.password) {
      this.complete(seqno, tunid);
      return;
    }
    const given = passwordOf(packet);
    this.checking = true;
    this.host.throttle.admit(this.remoteAddr, () => {
      if (this.conn.isClosed) return false;
      this.checking = false;
      if (!samePassword(given, this.host.password)) {
        this.host.throttle.failed(this.remoteAddr);
        this.refuse(Type.SERVINFO, seqno);
        return true;
      }
      this.complete(seqno, tunid);
      this.release();
      return true;
    });
    if (this.checking && !this.pausedForCheck) {
      this.pausedForCheck = true;
      this.conn.socket.pause(); // waits for the backoff: read nothing more meanwhile
    }
  }

  /** A packet that arrived while a password check waits; copied, since it views the read buffer. */
  private hold(packet: Packet): void {
    if (this.held.length >= MAX_HELD_PACKETS) {
      this.conn.destroy(new VsoaError(ErrorCode.PROTOCOL, 'too many packets pipelined behind a SERVINFO'));
      return;
    }
    this.held.push({
      ...packet,
      param: packet.param && Buffer.from(packet.param),
      data: packet.data && Buffer.from(packet.data),
    });
  }

  /** The delayed check passed: what was held is handled, and reading resumes. */
  private release(): void {
    const held = this.held;
    this.held = [];
    for (const packet of held) {
      if (this.conn.isClosed) return;
      // A held SERVINFO may start another wait: the rest is held again, in order.
      safely(this.log, 'packet handler', () => this.onPacket(packet));
    }
    if (this.pausedForCheck && !this.checking && !this.conn.isClosed) {
      this.pausedForCheck = false;
      this.conn.socket.resume();
    }
  }

  private complete(seqno: number, tunid: number | undefined): void {
    if (tunid !== undefined) this.quickPortNumber = tunid;
    const idBytes = Buffer.allocUnsafe(4);
    idBytes.writeUInt32BE(this.id, 0);
    this.conn.send(replyFrame(Type.SERVINFO, seqno, Status.SUCCESS, this.host.config.info, idBytes));
    if (this.handshakedFlag) return;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.handshakedFlag = true;
    this.authed = true;
    this.log.debug({ quickPort: this.quickPortNumber }, 'handshake complete');
    this.host.connected(this);
  }

  private onRpc(packet: Packet): void {
    const { seqno, url } = packet;
    if (!isValidUrl(url)) {
      this.conn.send(replyFrame(Type.RPC, seqno, Status.ARGUMENTS));
      return;
    }
    const request: Request = { url, seqno, method: packet.flags & Flag.SET ? Method.SET : Method.GET };
    const payload = receivedPayload(packet.param, packet.data, this.host.config.raw);
    if (!this.host.commands.dispatch(this, request, payload)) {
      this.conn.send(replyFrame(Type.RPC, seqno, Status.INVALID_URL));
    }
  }

  private onSubscription(packet: Packet): void {
    const subscribe = packet.type === Type.SUBSCRIBE;
    const request = subscriptionUrls(packet);
    const changed = request
      ? subscribe
        ? this.subscriptions.add(request.urls)
        : this.subscriptions.remove(request.urls)
      : undefined;
    // Malformed: ARGUMENTS. Past maxSubscriptions / maxSubscriptionBytes: NO_MEMORY, nothing changed.
    const status = !request ? Status.ARGUMENTS : changed ? Status.SUCCESS : Status.NO_MEMORY;
    this.conn.send(replyFrame(packet.type, packet.seqno, status));
    if (!request || !changed || changed.length === 0) {
      if (status === Status.NO_MEMORY) {
        this.log.info(
          { held: this.subscriptions.size, bytes: this.subscriptions.byteLength },
          'subscription limit reached: SUBSCRIBE refused',
        );
      }
      return;
    }
    const arg = request.list ? changed : (changed[0] as string);
    const cli = this.cli;
    if (subscribe) safely(this.log, 'onsubscribe callback', () => cli.onsubscribe?.(cli, arg));
    else safely(this.log, 'onunsubscribe callback', () => cli.onunsubscribe?.(cli, arg));
  }

  private onDatagram(packet: Packet, quick: boolean): void {
    if (!isValidUrl(packet.url)) {
      this.log.debug({ url: packet.url }, 'dropping datagram with invalid url');
      return;
    }
    const payload = receivedPayload(packet.param, packet.data, this.host.config.raw);
    this.host.datagram(this, packet.url, payload, quick);
  }
}

/** Compares digests in constant time: how long a refusal takes says nothing about the password. */
function samePassword(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function passwordOf(packet: Packet): string | undefined {
  if (!packet.param) return undefined;
  try {
    const parsed: unknown = JSON.parse(packet.param.toString('utf8'));
    const passwd = (parsed as { passwd?: unknown } | null)?.passwd;
    return typeof passwd === 'string' ? passwd : undefined;
  } catch {
    return undefined;
  }
}
