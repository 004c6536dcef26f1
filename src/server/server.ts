import type dgram from 'node:dgram';
import net from 'node:net';
import type { Packet, Payload, ReceivedPayload, Request } from '../protocol/index.js';
import {
  assertUrl,
  cachedMatchKeys,
  checkPayload,
  encodeFrame,
  Flag,
  isValidUrl,
  Method,
  receivedPayload,
  routeCommand,
  Status,
  Type,
} from '../protocol/index.js';
import { FrameConnection } from '../transport/frame-connection.js';
import { bindPair } from '../transport/listen.js';
import { QuickSocket } from '../transport/quick-socket.js';
import { resolveServerTls, type TlsOptions } from '../transport/tls-options.js';
import { createTlsServer } from '../transport/tls-server.js';
import type { Logger } from '../util/log.js';
import { moduleLogger } from '../util/log.js';
import type { WorkQueue } from '../util/work-queue.js';
import { RemoteClient } from './remote-client.js';
import {
  SERVER_STREAM_TIMEOUT,
  type ServerStream,
  type ServerStreamDataCallback,
  type ServerStreamLinkCallback,
  StreamHost,
} from './stream.js';
import { subscriptionUrls } from './subscribe-request.js';

export type CommandHandler = (cli: RemoteClient, request: Request, payload: ReceivedPayload) => unknown;

export interface ServerOptions {
  /** Server info sent to every client in the SERVINFO reply: any JSON value. */
  info?: unknown;
  /** Password clients must present; '' means none. */
  passwd?: string;
  /** Hand RPC and DATAGRAM params over as bytes, without JSON parsing. */
  raw?: boolean;
  /** Send timeout for clients in ms (seed default 100). */
  sendTimeout?: number;
  /** Bytes that may queue for one client before it is cut off as too slow (default 8 MiB). */
  maxSendQueue?: number;
  /** A connection that completes no handshake within this many ms is closed (default 5000). */
  handshakeTimeout?: number;
  logger?: Logger;
}

interface Command {
  handler: CommandHandler;
  wq: WorkQueue | undefined;
}

const DEFAULT_SEND_TIMEOUT = 100;
const DEFAULT_MAX_SEND_QUEUE = 8 * 1024 * 1024;
const DEFAULT_HANDSHAKE_TIMEOUT = 5000;

function optionalNumber(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** A VSOA server (seed: vsoa.Server): TCP normal channel plus the UDP quick channel on one port. */
export class Server {
  onclient: ((cli: RemoteClient, connected: boolean) => void) | undefined;
  ondata: ((cli: RemoteClient, url: string, payload: ReceivedPayload, quick: boolean) => void) | undefined;

  private readonly log: Logger;
  private readonly info: string;
  private password: string;
  private readonly raw: boolean;
  private sendTimeoutMs: number;
  private readonly maxSendQueue: number;
  private readonly handshakeTimeout: number;
  private readonly commands = new Map<string, Command>();
  private readonly byId = new Map<number, RemoteClient>();
  /** Clients by priority, highest first: publish visits them in this order. */
  private ordered: RemoteClient[] = [];
  private nextId = 0;
  private listener: net.Server | undefined;
  private quickSocket: QuickSocket | undefined;
  private streams: StreamHost | undefined;
  private boundPort = 0;
  private boundHost = '';
  private closing: Promise<void> | undefined;
  private closedWaiters: Array<() => void> = [];

  constructor(options: ServerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const info = JSON.stringify(options.info ?? '');
    if (info === undefined) throw new TypeError('options.info must be a JSON value');
    this.info = info;
    this.password = checkPassword(options.passwd ?? '');
    this.raw = options.raw === true;
    this.sendTimeoutMs = optionalNumber(options.sendTimeout, 'options.sendTimeout', DEFAULT_SEND_TIMEOUT);
    this.maxSendQueue = optionalNumber(options.maxSendQueue, 'options.maxSendQueue', DEFAULT_MAX_SEND_QUEUE);
    this.handshakeTimeout = optionalNumber(
      options.handshakeTimeout,
      'options.handshakeTimeout',
      DEFAULT_HANDSHAKE_TIMEOUT,
    );
    this.log = options.logger ?? moduleLogger('server');
  }

  /** @internal used by RemoteClient */
  get quick(): QuickSocket | undefined {
    return this.quickSocket;
  }

  /** Registers an RPC handler. A url ending in `/` also serves everything below it. */
  command(url: string, handler: CommandHandler, options: { wq?: WorkQueue } = {}): this {
    assertUrl(url);
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    this.commands.set(url, { handler, wq: options.wq });
    return this;
  }

  removeCommand(url: string): boolean {
    return this.commands.delete(url);
  }

  /**
   * Binds TCP and UDP on one port (0: a port free for both); resolves once listening. With
   * `tls` the normal channel is TLS and there is no quick channel (no UDP socket).
   */
  async listen(port = 0, host = '0.0.0.0', tls?: TlsOptions): Promise<void> {
    if (this.listener) throw new Error('server is already listening');
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new RangeError(`port must be 0..65535, got ${port}`);
    if (typeof host !== 'string' || net.isIP(host) === 0)
      throw new TypeError(`host must be an IP address, got ${host}`);
    const secure = tls === undefined || tls === null ? undefined : resolveServerTls(tls);
    const makeListener = secure
      ? () =>
          createTlsServer(secure, { handshakeTimeout: this.handshakeTimeout, log: this.log }, (socket) =>
            this.accept(socket),
          )
      : () => net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    const pair = await bindPair(makeListener, port, host, !secure);
    const streams = new StreamHost(host, secure, this.handshakeTimeout, this.log);
    await streams.start();
    this.streams = streams;
    this.listener = pair.listener;
    this.boundPort = pair.port;
    this.boundHost = host;
    if (pair.udp) this.quickSocket = new QuickSocket(pair.udp, (p, from) => this.onQuick(p, from), this.log);
    this.closing = undefined;
    this.log.debug({ host, port: pair.port }, 'listening');
  }

  /** The seed's run(): listens, then resolves when the server is closed. */
  async run(host = '0.0.0.0', port = 0, tls?: TlsOptions): Promise<void> {
    await this.listen(port, host, tls);
    await new Promise<void>((resolve) => this.closedWaiters.push(resolve));
  }

  /** Ends every client and stops listening; resolves when all sockets are closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    const listener = this.listener;
    if (!listener) return Promise.resolve();
    this.listener = undefined;
    this.quickSocket?.close();
    this.quickSocket = undefined;
    this.streams?.close();
    this.streams = undefined;
    const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
    for (const cli of this.byId.values()) cli.conn.end();
    this.closing = listenerClosed.then(() => {
      for (const resolve of this.closedWaiters.splice(0)) resolve();
    });
    return this.closing;
  }

  /** Publishes to every matching, authed client, highest priority first. False when not listening. */
  publish(url: string, payload?: Payload | null, quick = false): boolean {
    assertUrl(url);
    const { param, data } = checkPayload(payload);
    if (!this.listener) return false;
    const keys = cachedMatchKeys(url);
    if (quick) {
      const socket = this.quickSocket;
      if (!socket) return false;
      let encoded = false;
      for (const cli of this.ordered) {
        if (!cli.handshaked || !cli.authed || cli.quickPort === 0 || !matches(cli, keys)) continue;
        if (!encoded) {
          socket.encode({ type: Type.PUBLISH, url }, param, data);
          encoded = true;
        }
        socket.sendEncoded(cli.quickPort, cli.remoteAddr);
      }
      if (!encoded) socket.encode({ type: Type.PUBLISH, url }, param, data); // limit checks still apply
      return true;
    }
    const frame = encodeFrame({ type: Type.PUBLISH, url }, param, data);
    for (const cli of this.ordered) {
      if (cli.handshaked && cli.authed && matches(cli, keys)) cli.conn.send(frame);
    }
    return true;
  }

  isSubscribed(url: string): boolean {
    assertUrl(url);
    const keys = cachedMatchKeys(url);
    for (const cli of this.ordered) if (cli.handshaked && matches(cli, keys)) return true;
    return false;
  }

  /** Connected (handshaked) clients. */
  clients(): RemoteClient[] {
    return this.ordered.filter((cli) => cli.handshaked && !cli.isClosed());
  }

  count(): number {
    let n = 0;
    for (const cli of this.ordered) if (cli.handshaked && !cli.isClosed()) n++;
    return n;
  }

  /** The bound address; throws when the server is not listening (as the seed does). */
  address(): { addr: string; port: number } {
    if (!this.listener) throw new Error('server is not listening');
    return { addr: this.boundHost, port: this.boundPort };
  }

  /** Sets a new password ('' for none); applies to later handshakes. */
  passwd(passwd = ''): void {
    this.password = checkPassword(passwd ?? '');
  }

  sendTimeout(ms = DEFAULT_SEND_TIMEOUT, syncToClients = true): void {
    this.sendTimeoutMs = optionalNumber(ms, 'ms', DEFAULT_SEND_TIMEOUT);
    if (syncToClients) for (const cli of this.byId.values()) cli.conn.setSendTimeout(this.sendTimeoutMs);
  }

  /**
   * A stream for one client (seed: create_stream): listens on an ephemeral port of the
   * server's address, whose number (`stream.tunid`) goes to the client in the RPC reply:
   * `cli.reply(seqno, payload, 0, stream.tunid)`. TLS when the server is TLS.
   */
  createStream(
    onlink: ServerStreamLinkCallback,
    ondata?: ServerStreamDataCallback,
    timeout = SERVER_STREAM_TIMEOUT,
  ): ServerStream {
    if (typeof onlink !== 'function') throw new TypeError('onlink must be a function');
    if (ondata !== undefined && ondata !== null && typeof ondata !== 'function')
      throw new TypeError('ondata must be a function');
    optionalNumber(timeout, 'timeout', SERVER_STREAM_TIMEOUT);
    if (!this.streams) throw new Error('server is not listening');
    return this.streams.create(onlink, ondata ?? undefined, timeout);
  }

  /** @internal keeps `ordered` sorted by priority, highest first, stable by arrival. */
  priorityChanged(_cli: RemoteClient): void {
    this.ordered.sort((a, b) => b.priority - a.priority || a.id - b.id);
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = (this.nextId + 1) % 0x1_0000_0000;
      if (!this.byId.has(id)) return id;
    }
  }

  private accept(socket: net.Socket): void {
    const id = this.allocateId();
    const log = this.log.child({ cid: id });
    let cli: RemoteClient | undefined;
    const conn = new FrameConnection(
      socket,
      (packet) => this.onPacket(cli as RemoteClient, packet),
      () => this.dropped(cli as RemoteClient),
      { sendTimeout: this.sendTimeoutMs, maxQueuedBytes: this.maxSendQueue, log },
    );
    cli = new RemoteClient(id, conn, this, log);
    this.byId.set(id, cli);
    this.ordered.push(cli);
    cli.handshakeTimer = setTimeout(() => {
      log.info({ peer: socket.remoteAddress }, 'no handshake in time, closing');
      conn.destroy();
    }, this.handshakeTimeout);
    log.debug({ peer: socket.remoteAddress, port: socket.remotePort }, 'connection');
  }

  private dropped(cli: RemoteClient): void {
    clearTimeout(cli.handshakeTimer);
    this.byId.delete(cli.id);
    // A new array, not splice: a client cut off inside publish() must not make its loop skip the next one.
    this.ordered = this.ordered.filter((c) => c !== cli);
    cli.log.debug('connection closed');
    if (cli.handshaked) this.callApp('onclient', () => this.onclient?.(cli, false));
  }

  private onPacket(cli: RemoteClient, packet: Packet): void {
    if (packet.flags & Flag.REPLY) {
      cli.log.debug({ type: packet.type }, 'ignoring a reply packet sent to the server');
      return;
    }
    if (packet.type === Type.SERVINFO) {
      this.onServInfo(cli, packet);
      return;
    }
    if (this.password && !cli.handshaked) {
      this.refuse(cli, packet);
      return;
    }
    switch (packet.type) {
      case Type.RPC:
        this.onRpc(cli, packet);
        break;
      case Type.SUBSCRIBE:
      case Type.UNSUBSCRIBE:
        this.onSubscription(cli, packet);
        break;
      case Type.DATAGRAM:
        this.onDatagram(cli, packet, false);
        break;
      case Type.PINGECHO:
        cli.conn.send(encodeFrame({ type: Type.PINGECHO, flags: Flag.REPLY, seqno: packet.seqno }));
        break;
      case Type.NOOP:
        break;
      default:
        cli.log.debug({ type: packet.type }, 'ignoring unexpected packet type');
    }
  }

  /** Wrong or missing password: status PASSWORD with the offending packet's type, then close. */
  private refuse(cli: RemoteClient, packet: Packet): void {
    cli.log.info({ type: packet.type }, 'authentication failed, closing');
    cli.conn.send(
      encodeFrame({ type: packet.type, flags: Flag.REPLY, status: Status.PASSWORD, seqno: packet.seqno }),
    );
    cli.conn.end();
  }

  private onServInfo(cli: RemoteClient, packet: Packet): void {
    if (this.password && passwordOf(packet) !== this.password) {
      this.refuse(cli, packet);
      return;
    }
    if (packet.flags & Flag.TUNNEL) cli.quickPort = packet.tunid;
    const idBytes = Buffer.allocUnsafe(4);
    idBytes.writeUInt32BE(cli.id, 0);
    cli.conn.send(
      encodeFrame({ type: Type.SERVINFO, flags: Flag.REPLY, seqno: packet.seqno }, this.info, idBytes),
    );
    if (cli.handshaked) return;
    clearTimeout(cli.handshakeTimer);
    cli.handshaked = true;
    cli.authed = true;
    cli.log.debug({ quickPort: cli.quickPort }, 'handshake complete');
    this.callApp('onclient', () => this.onclient?.(cli, true));
  }

  private onRpc(cli: RemoteClient, packet: Packet): void {
    const { seqno, url } = packet;
    if (!isValidUrl(url)) {
      cli.conn.send(encodeFrame({ type: Type.RPC, flags: Flag.REPLY, status: Status.ARGUMENTS, seqno }));
      return;
    }
    const command = routeCommand(this.commands, url);
    if (!command) {
      cli.conn.send(encodeFrame({ type: Type.RPC, flags: Flag.REPLY, status: Status.INVALID_URL, seqno }));
      return;
    }
    const request: Request = { url, seqno, method: packet.flags & Flag.SET ? Method.SET : Method.GET };
    const payload = receivedPayload(packet.param, packet.data, this.raw);
    if (command.wq) command.wq.add(() => this.invoke(cli, command.handler, request, payload));
    else this.invoke(cli, command.handler, request, payload);
  }

  /** Runs a handler; one that throws (or rejects) before replying gets an error reply. */
  /** A handler threw or rejected: logged, and answered with NO_RESPONDING unless it had replied. */
  private handlerFailed(cli: RemoteClient, request: Request, error: unknown): void {
    const { seqno } = request;
    cli.log.error({ err: error, url: request.url }, 'command handler failed');
    if (cli.unanswered.delete(seqno) && !cli.isClosed()) {
      cli.conn.send(encodeFrame({ type: Type.RPC, flags: Flag.REPLY, status: Status.NO_RESPONDING, seqno }));
    }
  }

  private invoke(
    cli: RemoteClient,
    handler: CommandHandler,
    request: Request,
    payload: ReceivedPayload,
  ): unknown {
    const { seqno } = request;
    cli.unanswered.add(seqno);
    try {
      const result = handler(cli, request, payload);
      if (result instanceof Promise) {
        return result.then(
          () => cli.unanswered.delete(seqno),
          (error: unknown) => this.handlerFailed(cli, request, error),
        );
      }
      cli.unanswered.delete(seqno);
    } catch (error) {
      this.handlerFailed(cli, request, error);
    }
    return undefined;
  }

  private onSubscription(cli: RemoteClient, packet: Packet): void {
    const subscribe = packet.type === Type.SUBSCRIBE;
    const request = subscriptionUrls(packet);
    const status = request ? Status.SUCCESS : Status.ARGUMENTS;
    cli.conn.send(encodeFrame({ type: packet.type, flags: Flag.REPLY, status, seqno: packet.seqno }));
    if (!request) return;
    const changed: string[] = [];
    for (const url of request.urls) {
      if (subscribe ? !cli.subscriptions.has(url) : cli.subscriptions.has(url)) {
        if (subscribe) cli.subscriptions.add(url);
        else cli.subscriptions.delete(url);
        changed.push(url);
      }
    }
    if (changed.length === 0) return;
    const arg = request.list ? changed : (changed[0] as string);
    if (subscribe) this.callApp('onsubscribe', () => cli.onsubscribe?.(cli, arg));
    else this.callApp('onunsubscribe', () => cli.onunsubscribe?.(cli, arg));
  }

  private onDatagram(cli: RemoteClient, packet: Packet, quick: boolean): void {
    if (!isValidUrl(packet.url)) {
      cli.log.debug({ url: packet.url }, 'dropping datagram with invalid url');
      return;
    }
    const payload = receivedPayload(packet.param, packet.data, this.raw);
    this.callApp('ondata', () => this.ondata?.(cli, packet.url, payload, quick));
  }

  /** Quick datagrams name their sender by client id in seqno; the sender's address must match. */
  private onQuick(packet: Packet, from: dgram.RemoteInfo): void {
    if (packet.type !== Type.DATAGRAM || packet.flags & Flag.REPLY) {
      this.log.debug(
        { from: from.address, port: from.port, type: packet.type },
        'dropping quick packet that is not a DATAGRAM',
      );
      return;
    }
    const cli = this.byId.get(packet.seqno);
    if (!cli?.handshaked || cli.isClosed() || !cli.ownsQuickSender(from.address, from.port)) {
      this.log.debug(
        { from: from.address, port: from.port, cid: packet.seqno },
        'dropping unattributable quick datagram',
      );
      return;
    }
    this.onDatagram(cli, packet, true);
  }

  private callApp(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error }, `${name} callback threw`);
    }
  }
}

function matches(cli: RemoteClient, keys: readonly string[]): boolean {
  const subs = cli.subscriptions;
  if (subs.size === 0) return false;
  for (const key of keys) if (subs.has(key)) return true;
  return false;
}

function checkPassword(passwd: unknown): string {
  if (typeof passwd !== 'string') throw new TypeError('passwd must be a string');
  return passwd;
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
