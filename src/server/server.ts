import type dgram from 'node:dgram';
import net from 'node:net';
import type { FileService, ServeFilesOptions } from '../files/serve.js';
import type { Packet, Payload, ReceivedPayload, VsoaError } from '../protocol/index.js';
import { assertUrl, cachedMatchKeys, checkPayload, encodeFrame, Flag, Type } from '../protocol/index.js';
import { bindPair } from '../transport/listen.js';
import { QuickSocket } from '../transport/quick-socket.js';
import { resolveServerTls, type TlsOptions } from '../transport/tls-options.js';
import { createTlsServer } from '../transport/tls-server.js';
import { duration, integer } from '../util/check.js';
import type { Logger } from '../util/log.js';
import { safely } from '../util/safely.js';
import type { WorkQueue } from '../util/work-queue.js';
import { AuthThrottle } from './auth-throttle.js';
import { type CommandHandler, CommandTable } from './commands.js';
import {
  checkPassword,
  DEFAULT_SEND_TIMEOUT,
  resolveServerOptions,
  type ServerConfig,
  type ServerOptions,
} from './options.js';
import { ClientRegistry } from './registry.js';
import type { RemoteClient } from './remote-client.js';
import { Session, type SessionHost } from './session.js';
import {
  SERVER_STREAM_TIMEOUT,
  type ServerStream,
  type ServerStreamDataCallback,
  type ServerStreamLinkCallback,
  StreamHost,
} from './stream.js';

export type { CommandHandler } from './commands.js';
export type { ServerOptions } from './options.js';

/** onclient: `reason` (why the connection ended) comes with `connected` false. */
export type ClientCallback = (cli: RemoteClient, connected: boolean, reason?: VsoaError) => void;
export type DataCallback = (cli: RemoteClient, url: string, payload: ReceivedPayload, quick: boolean) => void;

/**
 * A VSOA server (seed: vsoa.Server): TCP normal channel plus the UDP quick channel on one port.
 * A facade: each peer is a Session (session.ts), the clients are a ClientRegistry, RPC
 * handlers a CommandTable, options are checked in options.ts.
 */
export class Server {
  onclient: ClientCallback | undefined;
  ondata: DataCallback | undefined;

  private readonly config: ServerConfig;
  private readonly log: Logger;
  private password: string;
  private sendTimeoutMs: number;
  private readonly commands = new CommandTable();
  private readonly registry = new ClientRegistry<Session>();
  private readonly throttle: AuthThrottle;
  private readonly host: SessionHost;
  private listener: net.Server | undefined;
  private quickSocket: QuickSocket | undefined;
  private streams: StreamHost | undefined;
  private boundPort = 0;
  private boundHost = '';
  private closing: Promise<void> | undefined;
  private closedWaiters: Array<() => void> = [];

  constructor(options: ServerOptions = {}) {
    this.config = resolveServerOptions(options);
    this.log = this.config.log;
    this.password = this.config.passwd;
    this.sendTimeoutMs = this.config.sendTimeout;
    this.throttle = new AuthThrottle({
      free: this.config.authFreeFailures,
      base: this.config.authBackoffBase,
      max: this.config.authBackoffMax,
      log: this.log,
    });
    this.host = this.sessionHost();
  }

  /** @internal the quick (UDP) socket, while listening */
  get quick(): QuickSocket | undefined {
    return this.quickSocket;
  }

  /**
   * The receive buffer the kernel granted the quick socket, bytes as getsockopt reports them
   * (Linux: twice the usable size), capped by `net.core.rmem_max`; undefined without one.
   */
  get quickRecvBufferSize(): number | undefined {
    return this.quickSocket?.recvBufferSize;
  }

  /**
   * Quick datagrams read per system call (the `quickRecvBatch` option once listening); 0 when
   * Node reads them one at a time (option 0, or no addon); undefined without a quick socket.
   */
  get quickRecvBatch(): number | undefined {
    return this.quickSocket?.recvBatch;
  }

  /** Registers an RPC handler. A url ending in `/` also serves everything below it. */
  command(url: string, handler: CommandHandler, options: { wq?: WorkQueue } = {}): this {
    this.commands.set(url, handler, options.wq);
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
    const { handshakeTimeout } = this.config;
    const makeListener = secure
      ? () => createTlsServer(secure, { handshakeTimeout, log: this.log }, (socket) => this.accept(socket))
      : () => net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    const pair = await bindPair(makeListener, port, host, !secure, {
      recvBufferSize: this.config.quickRecvBufferSize,
    });
    const streams = new StreamHost(host, secure, handshakeTimeout, this.log);
    await streams.start();
    this.streams = streams;
    this.listener = pair.listener;
    this.boundPort = pair.port;
    this.boundHost = host;
    if (pair.udp)
      this.quickSocket = new QuickSocket(
        pair.udp,
        (p, from) => this.onQuick(p, from),
        this.log,
        this.config.quickRecvBatch,
      );
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
    this.throttle.close();
    const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
    for (const session of this.registry.inOrder) session.conn.end();
    this.closing = listenerClosed.then(() => {
      for (const resolve of this.closedWaiters.splice(0)) resolve();
    });
    return this.closing;
  }

  /**
   * Publishes to every matching, authed client, highest priority first. False when not listening.
   * Ownership: payload buffers over 4 KiB (param over 2 KiB) are sent by reference, as with socket.write: do not modify them after the call (README, Payload ownership).
   */
  publish(url: string, payload?: Payload | null, quick = false): boolean {
    assertUrl(url);
    const { param, data } = checkPayload(payload);
    if (!this.listener) return false;
    const keys = cachedMatchKeys(url);
    if (quick) {
      const socket = this.quickSocket;
      if (!socket) return false;
      let encoded = false;
      for (const session of this.registry.inOrder) {
        if (session.quickPort === 0 || !session.receives(url, keys)) continue;
        if (!encoded) {
          socket.encode({ type: Type.PUBLISH, url }, param, data);
          encoded = true;
        }
        socket.sendEncoded(session.quickPort, session.remoteAddr);
      }
      if (!encoded) socket.encode({ type: Type.PUBLISH, url }, param, data); // limit checks still apply
      return true;
    }
    const frame = encodeFrame({ type: Type.PUBLISH, url }, param, data);
    for (const session of this.registry.inOrder) if (session.receives(url, keys)) session.conn.send(frame);
    return true;
  }

  isSubscribed(url: string): boolean {
    assertUrl(url);
    const keys = cachedMatchKeys(url);
    for (const session of this.registry.inOrder)
      if (session.handshaked && session.isSubscribed(url, keys)) return true;
    return false;
  }

  /** Connected (handshaked) clients, highest priority first. */
  clients(): RemoteClient[] {
    const list: RemoteClient[] = [];
    for (const session of this.registry.inOrder) if (session.live) list.push(session.cli);
    return list;
  }

  count(): number {
    let n = 0;
    for (const session of this.registry.inOrder) if (session.live) n++;
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
    this.sendTimeoutMs = integer(duration(ms, 'ms', DEFAULT_SEND_TIMEOUT), 'ms', DEFAULT_SEND_TIMEOUT);
    if (syncToClients)
      for (const session of this.registry.inOrder) session.conn.setSendTimeout(this.sendTimeoutMs);
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
    integer(duration(timeout, 'timeout', SERVER_STREAM_TIMEOUT), 'timeout', SERVER_STREAM_TIMEOUT);
    if (!this.streams) throw new Error('server is not listening');
    return this.streams.create(onlink, ondata ?? undefined, timeout);
  }

  /**
   * Serves the files below `rootDir` at `urlPrefix` (clever-show's get_file/send_file over plain
   * VSOA: see the README's "Files"): GET downloads a file (from an optional `offset`) or lists a
   * directory; SET uploads when `writable`. Loads vsoa-edge/files on first use.
   */
  async serveFiles(
    urlPrefix: string,
    rootDir: string,
    options: ServeFilesOptions = {},
  ): Promise<FileService> {
    const files = await import('../files/serve.js');
    return files.serveFiles(this, urlPrefix, rootDir, { logger: this.log, ...options });
  }

  /** What every session sees of this server. */
  private sessionHost(): SessionHost {
    const server = this;
    return {
      config: this.config,
      get password() {
        return server.password;
      },
      throttle: this.throttle,
      get quick() {
        return server.quickSocket;
      },
      commands: this.commands,
      connected: (session) => safely(this.log, 'onclient callback', () => this.onclient?.(session.cli, true)),
      closed: (session, reason) => {
        this.registry.remove(session);
        if (session.handshaked) {
          safely(this.log, 'onclient callback', () => this.onclient?.(session.cli, false, reason));
        }
      },
      datagram: (session, url, payload, quick) =>
        safely(this.log, 'ondata callback', () => this.ondata?.(session.cli, url, payload, quick)),
      priorityChanged: () => this.registry.reorder(),
    };
  }

  private accept(socket: net.Socket): void {
    const id = this.registry.allocateId();
    const session = new Session(this.host, id, socket, this.log.child({ cid: id }));
    session.conn.setSendTimeout(this.sendTimeoutMs);
    if (!session.conn.isClosed) this.registry.add(session);
  }

  /** Quick datagrams name their sender by client id in seqno; the sender's address and port must match. */
  private onQuick(packet: Packet, from: dgram.RemoteInfo): void {
    if (packet.type !== Type.DATAGRAM || packet.flags & Flag.REPLY) {
      this.log.debug(
        { from: from.address, port: from.port, type: packet.type },
        'dropping quick packet that is not a DATAGRAM',
      );
      return;
    }
    const session = this.registry.get(packet.seqno);
    if (!session?.ownsQuickSender(from.address, from.port)) {
      this.log.debug(
        { from: from.address, port: from.port, cid: packet.seqno },
        'dropping unattributable quick datagram',
      );
      return;
    }
    session.quickDatagram(packet);
  }
}
