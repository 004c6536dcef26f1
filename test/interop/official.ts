import type dgram from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { onCleanup } from '../helpers/net.js';

/*
 * Typed access to the official npm `vsoa` 1.5.1 (CommonJS, no usable typings), the
 * interoperability referee. Only what the interop tests touch is declared.
 */

export interface OfficialPayload {
  param?: unknown;
  data?: Buffer;
}

export interface OfficialRequest {
  url: string;
  seqno: number;
  method: number;
}

export interface OfficialRemoteClient extends EventEmitter {
  reply(code: number, seqno: number, payload?: OfficialPayload | number, tunid?: number): void;
  datagram(url: string, payload: OfficialPayload, quick?: boolean): void;
  priority(prio: number): void;
  isSubscribed(url: string): boolean;
  close(): void;
}

export type OfficialHandler = (
  cli: OfficialRemoteClient,
  request: OfficialRequest,
  payload: OfficialPayload | undefined,
) => void;

export interface OfficialServer {
  onclient: ((cli: OfficialRemoteClient, connected: boolean) => void) | undefined;
  ondata:
    | ((cli: OfficialRemoteClient, url: string, payload: OfficialPayload | undefined, quick: boolean) => void)
    | undefined;
  on(url: string, handler: OfficialHandler): this;
  start(saddr: { addr: string; port: number }, tls: undefined, cb: (err?: Error) => void): void;
  publish(url: string, payload?: OfficialPayload, quick?: boolean): void;
  address(): { addr: string; port: number } | undefined;
  count(): number;
  isSubscribed(url: string): boolean;
  /** Calls back only when it actually closed a listener: a second close never calls back. */
  close(cb?: () => void): void;
  /** Internal: the UDP quick socket (bound asynchronously by start()). */
  readonly _quick: dgram.Socket | undefined;
  /** Internal: the quick port announced in SERVINFO, set only when started on port 0. */
  readonly _qport: number | undefined;
}

export type OfficialCallback = (err?: Error & { status?: number }) => void;

export interface OfficialClient extends EventEmitter {
  connect(url: string, cb: (err: (Error & { status?: number }) | undefined, info: unknown) => void): void;
  call(
    url: string,
    opt: { method: number | 'GET' | 'SET' },
    payload: OfficialPayload | undefined,
    cb: (err: (Error & { status?: number }) | undefined, payload: OfficialPayload | undefined) => void,
    timeout?: number,
  ): void;
  subscribe(url: string | string[], cb?: OfficialCallback, timeout?: number): void;
  unsubscribe(url: string | string[], cb?: OfficialCallback, timeout?: number): void;
  ping(cb: OfficialCallback, timeout?: number): void;
  datagram(url: string, payload: OfficialPayload, quick?: boolean): void;
  close(): void;
  readonly connected: boolean | undefined;
  /** Internal: the TCP socket (for reading socket options). */
  readonly _net: net.Socket | undefined;
}

export interface OfficialFetchResult {
  payload?: OfficialPayload;
  info: unknown;
}

interface OfficialModule {
  Server: new (options: { info: unknown; passwd?: string }) => OfficialServer;
  Client: new (options?: { passwd?: string }) => OfficialClient;
  fetch(
    url: string,
    opt?: { method: number },
    payload?: OfficialPayload,
    timeout?: number,
  ): Promise<OfficialFetchResult>;
  code: Record<string, number>;
}

export const vsoa = createRequire(import.meta.url)('vsoa') as OfficialModule;

/** The official package's own RPC method codes. */
export const OfficialMethod = { GET: 0, SET: 1 } as const;

/** Params both interop directions carry unchanged: nested, arrays, strings, unicode. */
export const INTEROP_PARAMS: readonly unknown[] = [
  { deep: { list: [1, 2, { x: null }] } },
  [1, 'two', false, null, 3.5],
  [],
  'hello',
  '',
  'hé中🚗 \u0000 "quoted"',
  { s: 'hé中', emoji: '🚗' },
];

/**
 * Starts an official server on 127.0.0.1, closed after the test. Resolves once both TCP and
 * the quick UDP socket are bound (start() binds UDP asynchronously and only then knows the
 * quick port it announces when started on port 0).
 */
export async function startOfficialServer(
  options: { info?: unknown; passwd?: string } = {},
  port = 0,
): Promise<{ server: OfficialServer; port: number; url: string }> {
  const server = new vsoa.Server({ info: options.info ?? { name: 'official' }, passwd: options.passwd });
  const listening = new Promise<void>((resolve, reject) => {
    server.start({ addr: '127.0.0.1', port }, undefined, (err) => (err ? reject(err) : resolve()));
  });
  const quick = server._quick;
  if (!quick) throw new Error('official server has no quick socket');
  const quickBound = new Promise<void>((resolve, reject) => {
    quick.once('listening', () => resolve());
    quick.once('error', reject);
  });
  onCleanup(() => closeOfficialServer(server));
  await Promise.all([listening, quickBound]);
  const address = server.address();
  if (!address) throw new Error('official server is not listening');
  return { server, port: address.port, url: `vsoa://127.0.0.1:${address.port}` };
}

const closed = new WeakSet<OfficialServer>();

/** Closes an official server once (its close() never calls back a second time). */
export function closeOfficialServer(server: OfficialServer): Promise<void> {
  if (closed.has(server)) return Promise.resolve();
  closed.add(server);
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port that is free for both TCP and UDP on 127.0.0.1 right now (bound, then released). */
export async function freeTcpUdpPort(): Promise<number> {
  const { createSocket } = await import('node:dgram');
  for (let attempt = 0; attempt < 32; attempt++) {
    const tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (ok) return port;
  }
  throw new Error('no port free for both TCP and UDP');
}

/**
 * Connects an official client, closed after the test. Resolves its connect callback's
 * outcome; every 'error' event is recorded (an unheard one would crash the test process).
 */
export async function connectOfficialClient(
  url: string,
  options?: { passwd?: string },
): Promise<{
  client: OfficialClient;
  err: (Error & { status?: number }) | undefined;
  info: unknown;
  errors: Error[];
}> {
  const client = new vsoa.Client(options);
  const errors: Error[] = [];
  client.on('error', (error: Error) => errors.push(error));
  onCleanup(() => client.close());
  return new Promise((resolve) => {
    client.connect(url, (err, info) => resolve({ client, err, info, errors }));
  });
}

/** Calls through the official client as a promise of (err, payload). */
export function officialCall(
  client: OfficialClient,
  url: string,
  method: number,
  payload?: OfficialPayload,
): Promise<{ err: (Error & { status?: number }) | undefined; payload: OfficialPayload | undefined }> {
  return new Promise((resolve) => {
    client.call(url, { method }, payload, (err, reply) => resolve({ err, payload: reply }), 10_000);
  });
}

/** Runs an official callback-style request (ping, subscribe, unsubscribe) as a promise of its error. */
export function officialDone(
  start: (cb: OfficialCallback) => void,
): Promise<(Error & { status?: number }) | undefined> {
  return new Promise((resolve) => start((err) => resolve(err)));
}

/** Rejects if `promise` does not settle within `ms`: the bounded wait for one-shot events. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Quick (UDP) messages may in principle be lost, so send again every 50 ms until `arrived`
 * settles, giving up after `ms`.
 */
export async function sendUntilArrived<T>(
  send: () => void,
  arrived: Promise<T>,
  ms = 5000,
  what = 'a quick message',
): Promise<T> {
  let done = false;
  const settled = arrived.finally(() => {
    done = true;
  });
  const deadline = Date.now() + ms;
  const loop = (async () => {
    while (!done && Date.now() < deadline) {
      send();
      await Promise.race([settled, new Promise((r) => setTimeout(r, 50))]);
    }
  })().catch(() => undefined);
  const result = await within(settled, ms, what);
  await loop;
  return result;
}
