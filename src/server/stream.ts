import type net from 'node:net';
import type tls from 'node:tls';
import { ListenerPool } from '../transport/listener-pool.js';
import { VsoaStream } from '../transport/stream.js';
import type { ServerTls } from '../transport/tls-options.js';
import { createTlsServer } from '../transport/tls-server.js';
import type { Logger } from '../util/log.js';

export type ServerStreamLinkCallback = (stream: ServerStream, connected: boolean) => void;
export type ServerStreamDataCallback = (stream: ServerStream, data: Buffer) => void;

/** Seed default: a server stream waits 5 s for its client. */
export const SERVER_STREAM_TIMEOUT = 5000;

/**
 * A server stream (seed: "Server Stream Object"): listens on an ephemeral port of the
 * server's address (the tunid) and takes the first connection as its peer; later ones are
 * refused. No peer within the timeout: `onlink(stream, false)` once and the port closes.
 */
export class ServerStream extends VsoaStream {
  private readonly port: number;
  private listener: net.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private claimed = false;

  /** @internal created by Server.createStream */
  constructor(
    private readonly host: StreamHost,
    onlink: ServerStreamLinkCallback,
    ondata: ServerStreamDataCallback | undefined,
    timeout: number,
    log: Logger,
  ) {
    super(log);
    this.onlink = onlink;
    if (ondata !== undefined) this.ondata = ondata;
    const listener = host.pool.take();
    this.listener = listener;
    this.port = (listener.address() as net.AddressInfo).port;
    listener.on('connection', (socket: net.Socket) => this.onConnection(socket));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.log.debug({ tunid: this.port }, 'no stream peer in time');
      this.emit('timeout');
      this.destroy();
    }, timeout);
  }

  get tunid(): number {
    return this.port;
  }

  /** @internal the TLS handshake of the peer's connection is done */
  secured(socket: tls.TLSSocket): void {
    this.settle();
    this.attach(socket);
  }

  private onConnection(socket: net.Socket): void {
    if (this.claimed || this.destroyed || !this.host.pool.accepts(socket.localAddress)) {
      socket.destroy();
      return;
    }
    this.claimed = true;
    this.closeListener();
    if (!this.host.secure) {
      this.settle();
      this.attach(socket);
      return;
    }
    // Under TLS the stream timer keeps running until the handshake is done; a failed one ends the stream.
    socket.once('close', () => {
      if (!this.socket) this.destroy();
    });
    this.host.handshake(socket, this);
  }

  private settle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private closeListener(): void {
    this.listener?.close();
    this.listener = undefined;
  }

  protected release(): void {
    this.settle();
    this.closeListener();
    this.host.forget(this);
  }
}

/**
 * What a Server keeps for its streams: the pool of pre-bound ports, the streams still waiting
 * for a peer (closed with the server), and under TLS one unlistening tls.Server that the
 * streams' raw connections are fed into, so they get the server's own TLS settings.
 */
export class StreamHost {
  readonly pool: ListenerPool;
  private readonly live = new Set<ServerStream>();
  private readonly byPort = new Map<number, ServerStream>();
  private readonly tlsServer: tls.Server | undefined;

  constructor(
    host: string,
    readonly secure: ServerTls | undefined,
    handshakeTimeout: number,
    private readonly log: Logger,
  ) {
    this.pool = new ListenerPool(host, log);
    if (secure) {
      this.tlsServer = createTlsServer(secure, { handshakeTimeout, allowHalfOpen: true, log }, (socket) => {
        // The local port of a stream's connection is its tunid.
        const stream = this.byPort.get(socket.localPort ?? -1);
        if (stream) stream.secured(socket);
        else socket.destroy();
      });
    }
  }

  /** Binds the first spare ports. */
  start(): Promise<void> {
    return this.pool.fill();
  }

  create(
    onlink: ServerStreamLinkCallback,
    ondata: ServerStreamDataCallback | undefined,
    timeout: number,
  ): ServerStream {
    const stream = new ServerStream(this, onlink, ondata, timeout, this.log.child({ stream: true }));
    this.live.add(stream);
    this.byPort.set(stream.tunid, stream);
    return stream;
  }

  /** @internal */
  handshake(socket: net.Socket, stream: ServerStream): void {
    if (!this.tlsServer || this.byPort.get(stream.tunid) !== stream) {
      socket.destroy();
      return;
    }
    this.tlsServer.emit('connection', socket);
  }

  /** @internal */
  forget(stream: ServerStream): void {
    this.live.delete(stream);
    if (this.byPort.get(stream.tunid) === stream) this.byPort.delete(stream.tunid);
  }

  /** Stops handing out ports and aborts streams still waiting for their peer. */
  close(): void {
    this.pool.close();
    for (const stream of [...this.live]) if (!stream.connected) stream.destroy();
  }
}
