import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { Client, ConnectCode, Server, type ServerOptions } from '../../src/index.js';
import { getLogger, setLogger } from '../../src/util/log.js';

const cleanups: Array<() => unknown> = [];

/** Registers something to close after the current test. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A listening server on 127.0.0.1, closed after the test. */
export async function startServer(
  options: ServerOptions = {},
): Promise<{ server: Server; port: number; url: string }> {
  const server = new Server(options);
  await server.listen(0, '127.0.0.1');
  onCleanup(() => server.close());
  const { port } = server.address();
  return { server, port, url: `vsoa://127.0.0.1:${port}` };
}

/** A connected client, closed after the test. */
export async function connectClient(url: string, passwd = '', raw = false): Promise<Client> {
  const client = new Client({ raw });
  onCleanup(() => client.close());
  const code = await client.connect(url, { passwd, timeout: 5000 });
  if (code !== ConnectCode.OK) throw new Error(`connect failed with code ${code}`);
  return client;
}

/** A promise with its resolver, for waiting on callbacks. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Collects values until `count` have arrived. */
export function collector<T>(count: number): { items: T[]; push: (item: T) => void; done: Promise<T[]> } {
  const items: T[] = [];
  const { promise, resolve } = deferred<T[]>();
  return {
    items,
    push(item: T) {
      items.push(item);
      if (items.length === count) resolve(items);
    },
    done: promise,
  };
}

/** Makes a memoryLogger the library's logger for this test (restored after it); returns its lines. */
export function captureLogs(): () => Array<Record<string, unknown>> {
  const memory = memoryLogger();
  const before = getLogger();
  setLogger(memory.logger);
  onCleanup(() => setLogger(before));
  return memory.lines;
}

/** A pino logger that records its lines, for asserting on log output. */
export function memoryLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Waits until `predicate` holds, checking on every event-loop turn; fails after `ms`. */
export async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
