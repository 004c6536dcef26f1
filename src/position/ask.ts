import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../util/log.js';
import type { PosServer } from './config.js';
import type { CheckedRecord, QueryDomain } from './entry.js';
import { parseAnswer } from './wire.js';

/** What one position server said: a definitive answer (hit or miss), or why it gave none. */
export type AskResult =
  | { kind: 'hit'; record: CheckedRecord }
  | { kind: 'miss' }
  | { kind: 'silent' }
  | { kind: 'refused' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'error'; err: Error };

export interface AskOptions {
  /** Per try, ms. */
  timeout: number;
  /** Extra tries after the first one times out. */
  retries: number;
}

/**
 * Sends `query` to one server and waits for its answer, resending after each timeout.
 * The socket is connect()ed to the server, so the kernel drops datagrams from any other
 * address or port: a spoofed answer never reaches us. Connected, it also reports ICMP port
 * unreachable (ECONNREFUSED), so a server that is down costs no timeout. One socket serves
 * all tries, so a late answer to the first try still counts during the retry.
 */
export function askServer(
  server: PosServer,
  query: Buffer,
  asked: QueryDomain,
  opts: AskOptions,
  log: Logger,
): Promise<AskResult> {
  return new Promise((resolve) => {
    const sock = createSocket({ type: isIPv6(server.addr) ? 'udp6' : 'udp4' });
    let timer: NodeJS.Timeout | undefined;
    let triesLeft = opts.retries + 1;
    let done = false;

    const finish = (result: AskResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(result);
    };

    const send = (): void => {
      triesLeft -= 1;
      sock.send(query, (err) => {
        if (err) finish({ kind: 'error', err });
      });
      timer = setTimeout(() => (triesLeft > 0 ? send() : finish({ kind: 'silent' })), opts.timeout);
    };

    sock.on('error', (err: NodeJS.ErrnoException) => {
      finish(err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'error', err });
    });
    sock.on('message', (buf) => {
      const answer = parseAnswer(buf, asked);
      if (answer.kind === 'invalid') log.warn({ server, reason: answer.reason }, 'invalid position answer');
      finish(answer);
    });
    // Without a callback, a failed connect (no route) arrives as an 'error' event.
    sock.once('connect', () => {
      if (!done) send();
    });
    sock.connect(server.port, server.addr);
  });
}
