import { EventEmitter } from 'node:events';
import type { SecureContextOptions } from 'node:tls';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { WebSocket } from 'ws';
import { type Logger, moduleLogger } from '../index.js';
import { JugglerClosedError, JugglerError } from './errors.js';
import type { JsonValue } from './json.js';
import { Transport } from './transport.js';
import type { WireGeneration } from './wire.js';

export type NotifyCallback = (client: JugglerClient, name: string, data: JsonValue) => void;

export interface ConnectOptions {
  /** HTTP Basic credentials. */
  auth?: { username: string; password: string };
  /** For wss: CA, client certificate, `rejectUnauthorized`, `servername`. */
  tls?: SecureContextOptions & { rejectUnauthorized?: boolean; servername?: string };
  /** 'auto' (default): the server's first frame tells; '0.6' or '0.7' to insist. */
  wire?: WireGeneration | 'auto';
  /** In 'auto', assume 0.7 if the server sent nothing for this long (ms, default 1000). */
  detectTimeout?: number;
  /** WebSocket handshake timeout, ms (default 10000). */
  connectTimeout?: number;
  maxMessageSize?: number;
  sendBufferLimit?: number;
  maxSegmentSize?: number;
  /** Ping a silent server after this long, ms (default 30000); null: never. */
  pingDelay?: number | null;
  pingTimeout?: number;
}

interface Waiter {
  resolve(data: JsonValue): void;
  reject(error: Error): void;
}

/**
 * A juggler client: `state` follows the server's, `send()` makes requests, notifications go to
 * the callback. Emits 'change' (state), 'notify' (name, data) and 'close' (reason) once.
 */
export class JugglerClient extends EventEmitter {
  private current: JsonValue = null;
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private readonly transport: Transport;
  private closedWith: string | null = null;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  /** @internal Use connect(). */
  constructor(
    private readonly ws: WebSocket,
    private readonly notifyCb: NotifyCallback | undefined,
    options: ConnectOptions,
    log: Logger,
  ) {
    super();
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const wire = options.wire ?? 'auto';
    this.transport = new Transport(ws, {
      generation: wire === 'auto' ? null : wire,
      detectTimeout: options.detectTimeout ?? 1000,
      maxMessageSize: options.maxMessageSize ?? 64 * 1024 * 1024,
      sendBufferLimit: options.sendBufferLimit ?? 64 * 1024 * 1024,
      maxSegmentSize: options.maxSegmentSize,
      pingDelay: options.pingDelay === undefined ? 30_000 : options.pingDelay,
      pingTimeout: options.pingTimeout ?? 30_000,
      log,
      onMessage: (message) => this.receive(message),
      onClose: (reason) => this.finish(reason),
      onWire: () => this.resolveReady(),
    });
    if (wire !== 'auto') this.resolveReady();
  }

  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;
  /** @internal Resolves once the wire generation is known; rejects if the connection closes first. */
  readonly ready = new Promise<void>((resolve, reject) => {
    this.resolveReady = resolve;
    this.rejectReady = reject;
  });

  /** The server's state as last synced (null before the first diff). Replaced or patched in place. */
  get state(): JsonValue {
    return this.current;
  }

  /** The wire generation in use; null until the server's first frame (in 'auto'). */
  get wire(): WireGeneration | null {
    return this.transport.wire;
  }

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  /** Resolves the response data, or rejects JugglerError(data) / JugglerClosedError. */
  send(name: string, data: JsonValue = null): Promise<JsonValue> {
    if (typeof name !== 'string') throw new TypeError('name must be a string');
    if (this.isClosed) return Promise.reject(new JugglerClosedError('juggler connection closed'));
    const id = this.nextId++;
    const text = JSON.stringify({ type: 'request', id, name, data });
    return new Promise<JsonValue>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      if (!this.transport.send(text)) {
        this.waiters.delete(id);
        reject(new JugglerClosedError('juggler connection closed'));
      }
    });
  }

  /** Closes; resolves when the socket is closed. */
  close(): Promise<void> {
    this.transport.close(1000);
    return this.closed();
  }

  /** Resolves once the connection has closed, for whatever reason. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  private receive(message: unknown): void {
    if (typeof message !== 'object' || message === null) {
      this.transport.fail('message is not an object');
      return;
    }
    const m = message as Record<string, unknown>;
    if (m.type === 'state') {
      if (!Array.isArray(m.diff)) {
        this.transport.fail('state message without a diff');
        return;
      }
      try {
        this.current = fastJsonPatch.applyPatch(this.current, m.diff as Operation[], true, true)
          .newDocument as JsonValue;
      } catch (error) {
        this.transport.fail(`bad state diff: ${(error as Error).message.split('\n', 1)[0]}`);
        return;
      }
      this.emit('change', this.current);
    } else if (m.type === 'response') {
      const waiter = typeof m.id === 'number' ? this.waiters.get(m.id) : undefined;
      if (!waiter) return;
      this.waiters.delete(m.id as number);
      if (m.success === true) waiter.resolve((m.data ?? null) as JsonValue);
      else waiter.reject(new JugglerError((m.data ?? null) as JsonValue));
    } else if (m.type === 'notify') {
      const name = String(m.name);
      const data = (m.data ?? null) as JsonValue;
      this.notifyCb?.(this, name, data);
      this.emit('notify', name, data);
    } else this.transport.fail(`unknown message type ${JSON.stringify(m.type)}`);
  }

  private finish(reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    for (const waiter of this.waiters.values())
      waiter.reject(new JugglerClosedError(`juggler connection closed: ${reason}`));
    this.waiters.clear();
    this.rejectReady(new JugglerClosedError(`juggler connection closed: ${reason}`));
    if (this.ws.readyState === WebSocket.CLOSED) this.resolveClosed();
    else this.ws.once('close', () => this.resolveClosed());
    this.emit('close', reason);
  }
}

/**
 * Connects to `ws[s]://host:port/path`; rejects when the handshake fails (401: status in the
 * message). With wire 'auto' it resolves once the server's first frame told its generation (our
 * server sends the state at once), so `state` is already synced; after detectTimeout it assumes 0.7.
 */
export function connect(
  address: string,
  notifyCb?: NotifyCallback,
  options: ConnectOptions = {},
): Promise<JugglerClient> {
  if (typeof address !== 'string' || !/^wss?:\/\//.test(address)) {
    throw new TypeError('address must be a ws:// or wss:// url');
  }
  if (notifyCb !== undefined && typeof notifyCb !== 'function')
    throw new TypeError('notifyCb must be a function');
  const log = moduleLogger('juggler-client');
  const headers: Record<string, string> = {};
  if (options.auth) {
    const { username, password } = options.auth;
    headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  const ws = new WebSocket(address, {
    headers,
    handshakeTimeout: options.connectTimeout ?? 10_000,
    maxPayload: (options.maxMessageSize ?? 64 * 1024 * 1024) + 16,
    perMessageDeflate: false,
    ...(options.tls ?? {}),
  });
  return new Promise<JugglerClient>((resolve, reject) => {
    const fail = (error: Error): void => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(error);
    };
    ws.once('unexpected-response', (_req, res) => {
      fail(
        Object.assign(new Error(`juggler handshake refused: HTTP ${res.statusCode}`), {
          statusCode: res.statusCode,
        }),
      );
    });
    ws.once('error', fail);
    ws.once('open', () => {
      ws.removeAllListeners();
      const client = new JugglerClient(ws, notifyCb, options, log);
      client.ready.then(() => resolve(client), reject);
    });
  });
}
