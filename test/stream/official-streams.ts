import type { Duplex } from 'node:stream';
import type { TlsOptions as NodeTlsOptions } from 'node:tls';
import { onCleanup } from '../helpers/net.js';
import { type OfficialClient, type OfficialServer, vsoa } from '../interop/official.js';

/*
 * The stream and TLS parts of the official npm `vsoa` 1.5.1 that our interop tests use
 * (test/interop/official.ts types the rest). Its streams are Duplexes that always consume
 * their readable side, emit 'connect' when linked and 'timeout' when no peer came.
 */

export interface OfficialStream extends Duplex {
  readonly tunid: number;
}

export interface OfficialStreamServer extends OfficialServer {
  createStream(timeout?: number): OfficialStream;
}

export interface OfficialStreamClient extends OfficialClient {
  createStream(tunid: number, timeout?: number): OfficialStream;
  fetch(url: string, opt?: { method: number }): Promise<{ payload?: unknown; tunid?: number }>;
}

/**
 * An official server on 127.0.0.1 (TLS with Node's `tls` options when given), closed after
 * the test. `/stream` creates a stream (timeout `streamTimeout`) and replies with its tunid;
 * `onStream` receives each one.
 */
export async function officialStreamServer(
  onStream: (stream: OfficialStream) => void,
  options: { tls?: NodeTlsOptions & { passwd?: string }; streamTimeout?: number } = {},
): Promise<{ server: OfficialStreamServer; port: number; url: string }> {
  const server = new vsoa.Server({ info: { name: 'official streams' } }) as OfficialStreamServer;
  server.on('/stream', (cli, request) => {
    const stream = server.createStream(options.streamTimeout ?? 5000);
    stream.on('error', () => {});
    onCleanup(() => stream.destroy());
    onStream(stream);
    cli.reply(0, request.seqno, stream.tunid);
  });
  server.on('/echo', (cli, request, payload) => cli.reply(0, request.seqno, payload));
  const start = server.start as unknown as (
    saddr: { addr: string; port: number },
    tls: NodeTlsOptions | undefined,
    cb: (err?: Error) => void,
  ) => void;
  await new Promise<void>((resolve, reject) => {
    start.call(server, { addr: '127.0.0.1', port: 0 }, options.tls, (err) => (err ? reject(err) : resolve()));
  });
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (!address) throw new Error('official server is not listening');
  return { server, port: address.port, url: `vsoa://127.0.0.1:${address.port}` };
}

/** An official client, connected (over TLS with Node's options when given), closed after the test. */
export async function officialStreamClient(
  url: string,
  tls?: NodeTlsOptions & { passwd?: string },
): Promise<OfficialStreamClient> {
  const client = new vsoa.Client() as OfficialStreamClient;
  client.on('error', () => {});
  onCleanup(() => client.close());
  const connect = client.connect as unknown as (
    url: string,
    cb: (err?: Error) => void,
    tls?: NodeTlsOptions,
  ) => void;
  await new Promise<void>((resolve, reject) => {
    connect.call(client, url, (err) => (err ? reject(err) : resolve()), tls);
  });
  return client;
}

/** Collects an official stream's bytes until it ends or closes. */
export function officialReceive(stream: Duplex): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve(chunks);
    };
    stream.once('end', finish);
    stream.once('close', finish);
  });
}
