import net from 'node:net';
import { pino } from 'pino';
import { Client } from '../../src/client/client.js';
import type { FrameHead, Packet } from '../../src/protocol/index.js';
import { encodeFrame, StreamDecoder } from '../../src/protocol/index.js';
import type { ServerOptions } from '../../src/server/server.js';
import { Server } from '../../src/server/server.js';
import type { Logger } from '../../src/util/log.js';

/** Shared by the hostile-peer and slow-consumer tests: raw peers, a captured log, cleanup. */

const WAIT_MS = 5000;

/** Things to close after each test, run in reverse order by `runCleanups`. */
const cleanups: Array<() => Promise<void> | void> = [];

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

/** One parsed pino line. */
export interface LogLine {
  level: number;
  msg: string;
  cid?: number;
  code?: string;
  port?: number;
  [key: string]: unknown;
}

export const WARN = 40;
export const ERROR = 50;

/** A pino logger (level debug) writing into memory, with a way to wait for a line. */
export class MemoryLog {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];

  constructor() {
    this.logger = pino({ level: 'debug' }, { write: (text: string) => this.add(text) });
  }

  find(match: (line: LogLine) => boolean): LogLine | undefined {
    return this.lines.find(match);
  }

  /** Resolves the first line (already logged or to come) that `match` accepts. */
  waitFor(match: (line: LogLine) => boolean, what = 'log line'): Promise<LogLine> {
    const seen = this.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        const msgs = this.lines.map((l) => l.msg).join(' | ');
        reject(new Error(`no ${what} within ${WAIT_MS} ms; logged: ${msgs}`));
      }, WAIT_MS);
      const done = (line: LogLine): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** The cid the server gave the connection from local port `port` (its 'connection' line). */
  cidOf(port: number): Promise<number> {
    return this.waitFor(
      (l) => l.msg === 'connection' && l.port === port,
      `connection line for port ${port}`,
    ).then((l) => l.cid as number);
  }

  /** Resolves when the server has released connection `cid`. */
  released(cid: number): Promise<LogLine> {
    return this.waitFor((l) => l.msg === 'connection closed' && l.cid === cid, `release of cid ${cid}`);
  }

  private add(text: string): void {
    const line = JSON.parse(text) as LogLine;
    this.lines.push(line);
    for (const w of this.waiters.filter((w) => w.match(line))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(line);
    }
  }
}

/** One encoded frame as a single Buffer. */
export function frame(head: FrameHead, param?: string | Uint8Array, data?: Uint8Array): Buffer {
  return Buffer.concat(encodeFrame(head, param, data));
}

export function hex(text: string): Buffer {
  return Buffer.from(text, 'hex');
}

/** A hand-driven TCP peer: writes raw bytes, decodes what the server sends. */
export class RawPeer {
  readonly packets: Packet[] = [];
  readonly decoder: StreamDecoder;
  /** Resolves when the socket is fully closed (either side). */
  readonly closed: Promise<void>;
  isClosed = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    this.decoder = new StreamDecoder((packet) => {
      // Views into the chunk: copy what later assertions read.
      this.packets.push({
        ...packet,
        param: packet.param && Buffer.from(packet.param),
        data: packet.data && Buffer.from(packet.data),
      });
      this.wake();
    });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number, options: { host?: string; localAddress?: string } = {}): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        port,
        host: options.host ?? '127.0.0.1',
        localAddress: options.localAddress,
      });
      const peer = new RawPeer(socket);
      onCleanup(() => {
        socket.destroy();
        return peer.closed;
      });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(peer);
      });
    });
  }

  get localPort(): number {
    return this.socket.localPort as number;
  }

  write(bytes: Buffer | readonly Buffer[]): Promise<void> {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.concat(bytes);
    return new Promise((resolve, reject) => this.socket.write(buf, (err) => (err ? reject(err) : resolve())));
  }

  /** Resolves the `n`th packet received (1-based), rejecting if the socket closes first. */
  async packet(n: number): Promise<Packet> {
    await this.until(() => this.packets.length >= n || this.isClosed, `packet #${n}`);
    const packet = this.packets[n - 1];
    if (!packet) throw new Error(`connection closed after ${this.packets.length} packets, wanted #${n}`);
    return packet;
  }

  /** Handshakes (SERVINFO seqno 0) and returns the client id from the reply. */
  async handshake(param?: string, tunid = 0): Promise<number> {
    const n = this.packets.length + 1;
    await this.write(frame({ type: 0, flags: tunid ? 2 : 0, tunid }, param));
    const reply = await this.packet(n);
    if (reply.status !== 0 || !reply.data) throw new Error(`handshake refused, status ${reply.status}`);
    return reply.data.readUInt32BE(0);
  }

  private until(ready: () => boolean, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS);
      const check = (): void => {
        if (!ready()) {
          this.waiters.push(check);
          return;
        }
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A listening Server on 127.0.0.1 with a captured log and an `/echo` command. */
export async function startServer(
  options: ServerOptions = {},
): Promise<{ server: Server; log: MemoryLog; port: number }> {
  const log = new MemoryLog();
  const server = new Server({ logger: log.logger, ...options });
  server.command('/echo', (cli, req, payload) => {
    cli.reply(req.seqno, payload);
  });
  await server.listen(0, '127.0.0.1');
  onCleanup(() => server.close());
  return { server, log, port: server.address().port };
}

/** Our own Client, connected: the well-behaved bystander. */
export async function goodClient(port: number, passwd?: string): Promise<Client> {
  const client = new Client();
  onCleanup(() => client.close());
  const code = await client.connect(`vsoa://127.0.0.1:${port}`, passwd === undefined ? {} : { passwd });
  if (code !== 0) throw new Error(`good client could not connect: code ${code}`);
  return client;
}

/** An RPC round trip on `client`: resolves the echoed param, which must equal what was sent. */
export async function roundTrip(client: Client, tag: unknown = 'still served'): Promise<unknown> {
  const { header, payload } = await client.fetch('/echo', { payload: { param: { tag } }, timeout: WAIT_MS });
  if (header.status !== 0) throw new Error(`echo status ${header.status}`);
  return (payload.param as { tag: unknown }).tag;
}
