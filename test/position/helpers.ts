import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Things to close after each test, in reverse order. */
const cleanups: Array<() => Promise<void> | void> = [];

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

/** A raw UDP peer standing in for a position server: records queries, answers through `handler`. */
export interface FakeServer {
  sock: Socket;
  addr: string;
  port: number;
  queries: string[];
  /** Resolves once `n` queries have arrived. */
  received(n: number): Promise<void>;
}

export type FakeHandler = (query: string, from: RemoteInfo, sock: Socket) => void;

export async function fakeServer(handler?: FakeHandler, addr = '127.0.0.1', port = 0): Promise<FakeServer> {
  const sock = createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, addr, () => resolve());
  });
  onCleanup(() => new Promise<void>((resolve) => sock.close(() => resolve())));
  const queries: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  sock.on('message', (buf, from) => {
    queries.push(buf.toString('utf8'));
    for (const w of waiters.filter((w) => queries.length >= w.n)) w.resolve();
    handler?.(buf.toString('utf8'), from, sock);
  });
  return {
    sock,
    addr,
    port: sock.address().port,
    queries,
    received: (n) =>
      queries.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
  };
}

/** A handler answering every query with `text`. */
export function answerWith(text: string): FakeHandler {
  return (_q, from, sock) => sock.send(text, from.port, from.address);
}

/** A fresh UDP port that nobody listens on (bound, read, then closed). */
export async function closedPort(addr = '127.0.0.1'): Promise<number> {
  const sock = createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => sock.bind(0, addr, () => resolve()));
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

/**
 * Sends `datagrams` in order from one fresh socket and resolves the first answer. Loopback
 * keeps order, so when only the last datagram deserves an answer, getting exactly that answer
 * first proves the earlier ones got none, without waiting for a silence.
 */
export async function ask(
  port: number,
  datagrams: string | Buffer | Array<string | Buffer>,
  addr = '127.0.0.1',
): Promise<string> {
  const list = Array.isArray(datagrams) ? datagrams : [datagrams];
  const sock = createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
      sock.on('message', (buf) => {
        clearTimeout(timer);
        resolve(buf.toString('utf8'));
      });
      for (const d of list) {
        sock.send(d, port, addr, (err) => {
          if (err) reject(err);
        });
      }
    });
  } finally {
    sock.close();
  }
}

/** A temporary position file holding `text`, removed after the test. */
export function tempPosFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-pos-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'vsoa.pos');
  writeFileSync(file, text);
  return file;
}

/** A path that does not exist, so no test reads the real /etc/vsoa.pos. */
export const NO_FILE = join(tmpdir(), 'vsoa-edge-no-such-dir', 'vsoa.pos');

/** A client socket for step-by-step exchanges: answers are read in arrival order. */
export interface Conversation {
  send(text: string): void;
  /** The next datagram received (waits for it; rejects after 5 s). */
  next(): Promise<string>;
}

export async function conversation(port: number, addr = '127.0.0.1'): Promise<Conversation> {
  const sock = createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve) => sock.bind(0, addr, () => resolve()));
  onCleanup(() => new Promise<void>((resolve) => sock.close(() => resolve())));
  const inbox: string[] = [];
  let waiter: ((text: string) => void) | undefined;
  sock.on('message', (buf) => {
    const text = buf.toString('utf8');
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(text);
    } else inbox.push(text);
  });
  return {
    send: (text) => sock.send(text, port, addr),
    next: () => {
      const text = inbox.shift();
      if (text !== undefined) return Promise.resolve(text);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no datagram within 5 s')), 5000);
        waiter = (t) => {
          clearTimeout(timer);
          resolve(t);
        };
      });
    },
  };
}
