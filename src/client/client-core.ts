import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { resolveServerUrl } from '../position/resolve.js';
import type { Packet, ReceivedPayload } from '../protocol/index.js';
import { ConnectCode, ErrorCode, receivedPayload, Type, VsoaError } from '../protocol/index.js';
import { type PeerCertificate, peerCertificate } from '../transport/peer-cert.js';
import { setLinger } from '../transport/sockopt.js';
import { resolveClientTls } from '../transport/tls-options.js';
import { duration, integer } from '../util/check.js';
import { type Logger, moduleLogger } from '../util/log.js';
import { safely } from '../util/safely.js';
import type { ClientEvents } from './events.js';
import { HeldSubscriptions, replaySubscriptions } from './held.js';
import {
  type ClientOptions,
  type ClientSettings,
  type ConnectOptions,
  clientSettings,
  connectSettings,
  DEFAULT_MAX_SEND_QUEUE,
  DEFAULT_SEND_TIMEOUT,
} from './options.js';
import type { Settle } from './pending.js';
import { type RpcRequest, sendWithRetry } from './request.js';
import type { Robot } from './robot.js';
import { Session, type SessionHandlers } from './session.js';
import type { StreamTarget } from './stream.js';

/**
 * The connection half of a Client: the Session of the current connection (a new one per
 * connect), the handshake's aftermath (replaying held subscriptions, the robot's outbox and
 * retries) and the reports of connection and loss. The Client adds the seed's API on top.
 */
export abstract class ClientCore extends EventEmitter<ClientEvents> {
  /** `(client, true, info)` when connected; `(client, false, reason)` when that connection ends. */
  onconnect: ((client: this, connected: boolean, info: unknown) => void) | undefined;
  onmessage: ((client: this, url: string, payload: ReceivedPayload, quick: boolean) => void) | undefined;
  ondata: ((client: this, url: string, payload: ReceivedPayload, quick: boolean) => void) | undefined;

  protected readonly settings: ClientSettings;
  protected readonly log: Logger;
  protected readonly held: HeldSubscriptions;
  protected session: Session | undefined;
  protected robotRunner: Robot | undefined;
  protected closedForGood = false;
  /** Where streams connect: the server (and TLS settings) of the last connect. */
  protected streamTarget: StreamTarget | undefined;
  /** The session whose connection was reported up (so its end is reported too). */
  private reported: Session | undefined;
  private sendTimeoutMs = DEFAULT_SEND_TIMEOUT;
  private lingerSeconds: number | undefined;
  private serverPriority = 0;
  private endWaiters: Array<() => void> = [];
  private readonly handlers: SessionHandlers = {
    message: (packet, quick) => this.deliver(packet, quick),
    priority: (priority) => {
      this.serverPriority = priority;
      this.emit('priority', priority);
    },
    closed: (session, reason) => this.ended(session, reason),
    rpcActivity: (inFlight) => this.robotRunner?.rpcActivity(inFlight),
  };

  constructor(options: ClientOptions = {}) {
    super();
    this.settings = clientSettings(options);
    this.log = this.settings.logger ?? moduleLogger('client');
    this.held = new HeldSubscriptions(this.log);
  }

  get connected(): boolean {
    return this.session?.connected === true;
  }

  /** Requests waiting for a reply (RPC, ping, subscribe, unsubscribe). */
  get pendings(): number {
    return this.session?.pendings ?? 0;
  }

  /** The priority the server last set with QOSSETUP. */
  get priority(): number {
    return this.serverPriority;
  }

  /** The id the server gave this client, once connected. */
  get id(): number | undefined {
    return this.session?.cid;
  }

  /** The receive buffer the kernel granted the quick socket (bytes, as getsockopt reports it). */
  get quickRecvBufferSize(): number | undefined {
    return this.session?.quick?.recvBufferSize;
  }

  /** Quick datagrams read per system call (see the `quickRecvBatch` option): 0 one at a time. */
  get quickRecvBatch(): number | undefined {
    return this.session?.quick?.recvBatch;
  }

  /** @internal The current link's sockets, for socket-option diagnostics and tests. */
  get sockets(): { tcp: net.Socket | undefined; udp: dgram.Socket | undefined } {
    return { tcp: this.session?.conn.socket, udp: this.session?.quick?.socket };
  }

  /** Connects and shakes hands; resolves a ConnectCode (never rejects for network failures). */
  async connect(url: string, options: ConnectOptions = {}): Promise<ConnectCode> {
    if (this.closedForGood) throw new Error('client is closed');
    const { passwd, timeout, tls } = connectSettings(options);
    // Names are resolved on every connect (default: the position service), so a moved server is followed.
    let target: Awaited<ReturnType<typeof resolveServerUrl>>;
    try {
      target = await (this.settings.resolve ?? resolveServerUrl)(url);
    } catch (error) {
      if (error instanceof VsoaError && error.connectCode !== undefined) return error.connectCode;
      throw error;
    }
    if (this.closedForGood) return ConnectCode.ERROR;
    this.robotRunner?.resolved();
    if (target.security && !tls) {
      throw new TypeError(
        `server ${target.name ?? url} requires TLS (the position service says security: true): pass options.tls`,
      );
    }
    const { host, port } = target;
    const secure = tls ? resolveClientTls(tls, host, 'options.tls') : undefined;
    if (this.session) this.disconnect();
    this.streamTarget = { host, secure };
    const session = new Session(
      {
        host,
        port,
        secure,
        sendTimeout: this.sendTimeoutMs,
        maxSendQueue: DEFAULT_MAX_SEND_QUEUE,
        linger: this.lingerSeconds,
        quickRecvBufferSize: this.settings.quickRecvBufferSize,
        quickRecvBatch: this.settings.quickRecvBatch,
        log: this.log,
      },
      this.handlers,
    );
    this.session = session;
    return new Promise<ConnectCode>((resolve) =>
      session.handshake(passwd, timeout, ({ code, info }) => {
        if (code === ConnectCode.OK) this.replay(session, timeout, info, resolve);
        else resolve(code);
      }),
    );
  }

  /**
   * After the handshake, before the connection is reported: the held subscriptions (robot mode,
   * or calls made while disconnected), then the outbox, then the requests to retry.
   */
  private replay(session: Session, timeout: number, info: unknown, done: (code: ConnectCode) => void): void {
    const replayed = (ok: boolean | 'closed'): void => {
      if (ok === 'closed' || session !== this.session || !session.connected) {
        done(ConnectCode.ERROR);
        return;
      }
      const robot = this.robotRunner;
      robot?.outbox?.drain((d) => session.datagram(d.url, d.param, d.data, d.quick));
      robot?.retries.resendAll();
      this.reported = session;
      safely(this.log, 'onconnect callback', () => this.onconnect?.(this, true, info));
      this.emit('connect', info);
      done(ConnectCode.OK);
      this.held.settle(ok);
    };
    if (this.robotRunner || this.held.owed)
      replaySubscriptions(session, this.held.list(), timeout, this.log, replayed);
    else replayed(true);
  }

  /** The server's TLS certificate (DER bytes with `binary`), or null without TLS. */
  getPeerCert(binary: true): Buffer | null;
  getPeerCert(binary?: false): PeerCertificate | null;
  getPeerCert(binary: boolean): PeerCertificate | Buffer | null;
  getPeerCert(binary = false): PeerCertificate | Buffer | null {
    return peerCertificate(this.session?.conn.socket, binary);
  }

  /** Closes the connection; the client may connect again. */
  disconnect(): void {
    this.session?.close();
  }

  /** @internal Resets the connection (RST, as linger 0): the robot's answer to a dead link. */
  resetConnection(reason?: VsoaError): void {
    this.session?.reset(reason ?? new VsoaError(ErrorCode.LOCAL_CLOSE, 'connection reset locally'));
  }

  sendTimeout(ms = DEFAULT_SEND_TIMEOUT): void {
    this.sendTimeoutMs = duration(ms, 'ms', DEFAULT_SEND_TIMEOUT);
    this.session?.setSendTimeout(this.sendTimeoutMs);
  }

  /**
   * SO_LINGER for the connection, now and on every later connect; 0 resets the connection on
   * close, dropping unsent data. False when it could not be applied (no native addon: only a
   * reset on close is still possible).
   */
  linger(seconds = 0): boolean {
    this.lingerSeconds = integer(seconds, 'seconds', 0, 0, 0x7fff);
    const applied = this.session ? setLinger(this.session.conn.socket, seconds) : true;
    return applied || seconds === 0;
  }

  /** Resolves when the current connection ends (at once when not connected). */
  run(): Promise<void> {
    if (!this.session) return Promise.resolve();
    return new Promise<void>((resolve) => this.endWaiters.push(resolve));
  }

  /** A request with a reply; with `retry` in robot mode, kept across a reconnect (see CallOptions.retry). */
  protected send(request: RpcRequest, settle: Settle): boolean {
    const robot = request.retry ? this.robotRunner : undefined;
    if (robot) {
      // The retry list settles on its own (a timeout while parked): guard it here too.
      const guarded: Settle = (packet, reason) =>
        void safely(this.log, 'reply callback', () => settle(packet, reason));
      return sendWithRetry(
        () => this.session,
        robot.retries,
        () => this.closedForGood,
        request,
        guarded,
      );
    }
    // The session's pending table logs a throwing callback ('reply callback threw').
    const { head, param, data, timeout } = request;
    return this.session?.request(head, param, data, timeout, settle) ?? false;
  }

  private deliver(packet: Packet, quick: boolean): void {
    const which = packet.type === Type.PUBLISH ? 'onmessage' : 'ondata';
    const handler = this[which];
    if (!handler) return;
    const payload = receivedPayload(packet.param, packet.data, this.settings.raw);
    safely(this.log, `${which} callback`, () => handler(this, packet.url, payload, quick));
  }

  /** A session ended: report the loss if its connection was reported up. */
  private ended(session: Session, reason: VsoaError): void {
    if (session !== this.session) return;
    this.session = undefined;
    if (this.reported === session) {
      this.reported = undefined;
      safely(this.log, 'onconnect callback', () => this.onconnect?.(this, false, reason));
      this.emit('disconnect', reason);
      this.robotRunner?.linkLost(reason);
    }
    for (const resolve of this.endWaiters.splice(0)) resolve();
  }
}
