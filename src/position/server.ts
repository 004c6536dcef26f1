import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { isIPv6 } from 'node:net';
import { type Logger, moduleLogger } from '../util/log.js';
import {
  checkRecord,
  encodeAnswer,
  isDomain,
  MISS,
  type PositionAnswer,
  type PositionEntry,
  type QueryDomain,
} from './entry.js';
import { PositionTable } from './table.js';
import { parseQuery } from './wire.js';

export interface PositionQuery {
  /** The name as the client sent it (the table matches it case-insensitively). */
  name: string;
  /** -1: any family. */
  domain: QueryDomain;
}

/** Answers one query: an answer, or null for "unknown". Only the first call counts. */
export type PositionReply = (answer: PositionAnswer | null) => void;

/** Called for names the table does not hold; may reply later (asynchronously). */
export type PositionOnQuery = (query: PositionQuery, reply: PositionReply) => void | Promise<void>;

export interface PositionOptions {
  /** Static entries, answered before onquery is asked. */
  table?: readonly PositionEntry[];
}

/**
 * The position (name lookup) server: UDP datagrams of JSON. The table answers first, then
 * onquery; an unknown name is always answered `{}` (the official node server stays silent
 * when it has no hook, which costs its clients two 2 s timeouts). Malformed queries are
 * dropped with a debug log; nothing a peer sends stops the server.
 * Emits 'listening' once bound (run() gives no other signal) and 'close' when closed.
 */
export class Position extends EventEmitter {
  onquery: PositionOnQuery | null;
  private table: PositionTable;
  private socket: Socket | null = null;
  private bound = false;
  private closed: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(onquery?: PositionOnQuery | null, options: PositionOptions = {}) {
    super();
    if (onquery != null && typeof onquery !== 'function') throw new TypeError('onquery must be a function');
    this.onquery = onquery ?? null;
    this.table = new PositionTable(options.table ?? [], 'options.table');
    this.log = moduleLogger('position');
  }

  /** Replaces the table at once (a daemon reloading its configuration). Throws TypeError and keeps the old table if any entry is bad. */
  setTable(entries: readonly PositionEntry[]): void {
    this.table = new PositionTable(entries, 'entries');
  }

  /** Binds the UDP socket; resolves once bound. Port 0 picks a free port (see address()). */
  async listen(port: number, host = '0.0.0.0'): Promise<void> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`port must be an integer 0-65535, got ${port}`);
    }
    if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
    if (this.socket !== null) throw new Error('position server is already listening');
    const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    this.socket = sock;
    try {
      await new Promise<void>((resolve, reject) => {
        const closed = (): void => reject(new Error('position server closed while binding'));
        sock.once('error', reject);
        sock.once('close', closed);
        sock.bind(port, host, () => {
          sock.off('error', reject);
          sock.off('close', closed);
          resolve();
        });
      });
    } catch (err) {
      if (this.socket === sock) {
        this.socket = null;
        sock.close();
      }
      throw err;
    }
    this.bound = true;
    this.closed = new Promise((resolve) =>
      sock.once('close', () => {
        resolve();
        this.emit('close');
      }),
    );
    sock.on('error', (err) => this.log.error({ err }, 'position socket error'));
    sock.on('message', (buf, from) => this.onMessage(sock, buf, from));
    this.log.info({ address: sock.address() }, 'position server listening');
    this.emit('listening');
  }

  /** The seed's run(host, port): listen, then resolve when the server is closed. */
  async run(host: string, port: number): Promise<void> {
    await this.listen(port, host);
    await this.closed;
  }

  /** Stops serving; answers still pending in onquery are dropped. */
  close(): Promise<void> {
    const sock = this.socket;
    if (sock === null) return Promise.resolve();
    this.socket = null;
    this.bound = false;
    return new Promise((resolve) => sock.close(() => resolve()));
  }

  /** The bound address, or null when not listening. */
  address(): AddressInfo | null {
    return this.socket === null || !this.bound ? null : this.socket.address();
  }

  private onMessage(sock: Socket, buf: Buffer, from: RemoteInfo): void {
    const query = parseQuery(buf);
    if (typeof query === 'string') {
      this.log.debug({ from: `${from.address}:${from.port}`, reason: query }, 'position query dropped');
      return;
    }
    const { name, domain } = query;
    const hit = this.table.find(name, domain);
    if (hit !== undefined) {
      this.send(sock, hit, from);
      return;
    }
    // A family we do not know (not 2, 10 or -1) cannot match anything.
    if (this.onquery === null || !(domain === -1 || isDomain(domain))) {
      this.send(sock, MISS, from);
      return;
    }
    this.ask(this.onquery, sock, { name, domain }, from);
  }

  private ask(onquery: PositionOnQuery, sock: Socket, query: PositionQuery, from: RemoteInfo): void {
    let answered = false;
    const reply: PositionReply = (answer) => {
      if (answered) {
        this.log.debug({ name: query.name }, 'position reply called more than once; ignored');
        return;
      }
      answered = true;
      this.send(sock, this.encodeHookAnswer(query, answer), from);
    };
    const failed = (err: unknown): void => {
      this.log.error({ err, name: query.name }, 'position onquery failed');
      if (!answered) reply(null);
    };
    try {
      const result = onquery(query, reply);
      if (result != null && typeof result.then === 'function') result.then(undefined, failed);
    } catch (err) {
      failed(err);
    }
  }

  /** The hook's answer checked like a table entry; a bad one is the application's bug, answered `{}`. */
  private encodeHookAnswer(query: PositionQuery, answer: PositionAnswer | null): Buffer {
    if (answer === null || answer === undefined) return MISS;
    const checked = checkRecord(answer, false);
    if (!checked.ok) {
      this.log.warn({ name: query.name, reason: checked.reason }, 'invalid onquery answer; sent {}');
      return MISS;
    }
    if (query.domain !== -1 && checked.record.domain !== query.domain) {
      this.log.warn({ name: query.name, asked: query.domain }, 'onquery answer of another domain; sent {}');
      return MISS;
    }
    return encodeAnswer(checked.record.name ?? query.name, checked.record);
  }

  private send(sock: Socket, buf: Buffer, to: RemoteInfo): void {
    // The socket of this query may have been closed while an async answer was pending.
    if (this.socket !== sock) return;
    sock.send(buf, to.port, to.address, (err) => {
      if (err) this.log.debug({ err, to: `${to.address}:${to.port}` }, 'position answer not sent');
    });
  }
}
