import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Logger, moduleLogger } from '../index.js';
import { BasicAuth } from './auth.js';
import {
  type ConnectionSettings,
  encodeNotify,
  JugglerConnection,
  type RequestCallback,
  SharedMessage,
} from './connection.js';
import { type Route, sendText, serveStatic } from './http.js';
import type { JsonValue } from './json.js';
import { type ListenOptions, resolveListenOptions } from './server-options.js';
import { JugglerState } from './state.js';

export type ConnectionCallback = (connection: JugglerConnection) => void | Promise<void>;

/**
 * A juggler server (hat.juggler's `listen()`): HTTP(S) with the WebSocket endpoint, optional
 * static files, Basic auth and extra routes. Close it with `close()`.
 */
export class JugglerServer {
  readonly connections = new Set<JugglerConnection>();
  /** Upgraded sockets until they are closed (a closing connection's socket may linger). */
  private readonly sockets = new Set<WebSocket>();
  private readonly wss: WebSocketServer;
  private readonly auth: BasicAuth | null;
  private readonly log: Logger;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly http: Server,
    private readonly options: ReturnType<typeof resolveListenOptions>,
    private readonly connectionCb: ConnectionCallback | undefined,
    private readonly requestCb: RequestCallback | undefined,
  ) {
    this.log = moduleLogger('juggler');
    this.auth = options.htpasswdFile ? new BasicAuth(options.htpasswdFile) : null;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageSize + 16,
      clientTracking: false,
    });
    http.on('request', (req, res) => void this.onRequest(req, res));
    http.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
    http.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Starts listening on host:port (port 0: one from the OS). */
  static async listen(
    host: string,
    port: number,
    connectionCb?: ConnectionCallback,
    requestCb?: RequestCallback,
    options: ListenOptions = {},
  ): Promise<JugglerServer> {
    if (typeof host !== 'string') throw new TypeError('host must be a string');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError('port must be 0-65535');
    if (connectionCb !== undefined && typeof connectionCb !== 'function') {
      throw new TypeError('connectionCb must be a function');
    }
    if (requestCb !== undefined && typeof requestCb !== 'function')
      throw new TypeError('requestCb must be a function');
    const resolved = resolveListenOptions(options);
    let http: Server;
    if (resolved.pemFile) {
      const pem = readFileSync(resolved.pemFile);
      http = createHttpsServer({ key: pem, cert: pem });
    } else http = createHttpServer();
    const server = new JugglerServer(http, resolved, connectionCb, requestCb);
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  address(): { host: string; port: number } {
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The shared state (null when each connection has its own). */
  get state(): JugglerState | null {
    return this.options.state;
  }

  /** Sends one notification to every connection, encoded once. */
  notifyAll(name: string, data: JsonValue): void {
    const message = new SharedMessage(encodeNotify(name, data));
    for (const connection of this.connections) connection.sendShared(message);
  }

  /** Stops listening, closes connections; those not closed within shutdownTimeout are cut. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const done = new Promise<void>((resolve) => this.http.close(() => resolve()));
      for (const c of [...this.connections]) c.close(1001, 'server shutting down');
      // Sockets whose peer does not finish the close handshake in time are cut.
      const closed = [...this.sockets].map(
        (ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())),
      );
      const timer = setTimeout(() => {
        for (const ws of this.sockets) ws.terminate();
      }, this.options.shutdownTimeout);
      await Promise.all(closed);
      clearTimeout(timer);
      this.http.closeAllConnections();
      await done;
    })();
    return this.closing;
  }

  private async authorized(req: IncomingMessage): Promise<boolean> {
    return this.auth === null || (await this.auth.check(req));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.options.noCache) res.setHeader('Cache-Control', 'no-cache');
      if (!(await this.authorized(req))) {
        res.setHeader('WWW-Authenticate', 'Basic realm=""');
        return sendText(res, 401, 'Unauthorized\n');
      }
      const path = (req.url ?? '/').split('?', 1)[0] as string;
      const method = req.method ?? 'GET';
      if (path === '/' && this.options.indexPath !== null && (method === 'GET' || method === 'HEAD')) {
        res.writeHead(302, { Location: this.options.indexPath, 'Content-Length': 0 });
        return void res.end();
      }
      const route = this.findRoute(method, path);
      if (route) return await route.handler(req, res);
      if (this.options.staticDir && (method === 'GET' || method === 'HEAD')) {
        if (serveStatic(this.options.staticDir, path, req, res)) return;
      }
      sendText(res, 404, 'Not Found\n');
    } catch (error) {
      this.log.warn({ err: (error as Error).message, url: req.url }, 'HTTP request failed');
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n');
      else res.destroy();
    }
  }

  private findRoute(method: string, path: string): Route | undefined {
    const head = method === 'HEAD' ? 'GET' : method;
    return this.options.routes.find((r) => r.path === path && (r.method ?? 'GET') === head);
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const reject = (status: number, text: string, extra = ''): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
    };
    const path = (req.url ?? '/').split('?', 1)[0];
    const generation =
      path === this.options.wsPath ? this.options.wire : path === this.options.legacyWsPath ? '0.6' : null;
    if (!generation || this.closing) return reject(404, 'Not Found');
    if (!(await this.authorized(req)))
      return reject(401, 'Unauthorized', 'WWW-Authenticate: Basic realm=""\r\n');
    if (this.connections.size >= this.options.maxConnections) {
      this.log.warn({ max: this.options.maxConnections }, 'juggler connection refused: too many connections');
      return reject(503, 'Service Unavailable');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.once('close', () => this.sockets.delete(ws));
      const settings: ConnectionSettings = {
        generation,
        autoflushDelay: this.options.autoflushDelay,
        parallelRequests: this.options.parallelRequests,
        maxPendingRequests: this.options.maxPendingRequests,
        maxMessageSize: this.options.maxMessageSize,
        sendBufferLimit: this.options.sendBufferLimit,
        maxSegmentSize: this.options.maxSegmentSize,
        pingDelay: this.options.pingDelay,
        pingTimeout: this.options.pingTimeout,
        requestCb: this.requestCb,
        log: this.log,
      };
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
      const connection = new JugglerConnection(
        ws,
        remote,
        this.options.state ?? new JugglerState(),
        settings,
      );
      if (connection.isClosed) return;
      this.connections.add(connection);
      connection.once('close', (reason: string) => {
        this.connections.delete(connection);
        this.log.debug({ remote, reason }, 'juggler connection closed');
      });
      this.log.debug({ remote, wire: generation }, 'juggler connection');
      if (this.connectionCb) {
        Promise.resolve()
          .then(() => this.connectionCb?.(connection))
          .catch((error: unknown) => {
            this.log.warn({ err: (error as Error)?.message }, 'connectionCb failed: closing the connection');
            connection.close(1011, 'connection callback failed');
          });
      }
    });
  }
}

/** hat.juggler's listen(): a server on host:port. */
export function listen(
  host: string,
  port: number,
  connectionCb?: ConnectionCallback,
  requestCb?: RequestCallback,
  options: ListenOptions = {},
): Promise<JugglerServer> {
  return JugglerServer.listen(host, port, connectionCb, requestCb, options);
}
