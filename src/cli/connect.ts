import { Client } from '../client/client.js';
import { ConnectCode } from '../protocol/constants.js';
import type { Target } from './args.js';

const HINTS: Record<number, string> = {
  [ConnectCode.ERROR]: 'connection refused or failed: is a VSOA server listening there?',
  [ConnectCode.UNREACHABLE]: 'network unreachable: check the address and the board’s network',
  [ConnectCode.SERVER_NOT_FOUND]: 'server not found: check the name, VSOA_POS_SERVER or /etc/vsoa.pos',
  [ConnectCode.SERVER_NO_RESPONDING]:
    'no answer in time: the server may be overloaded, or the port is not VSOA',
  [ConnectCode.INVALID_RESPONDING]: 'the peer did not answer like a VSOA server',
  [ConnectCode.INVALID_PASSWD]: 'wrong password: pass the right one with --passwd',
  [ConnectCode.SSL_HS_FAILED]: 'TLS handshake failed',
};

/** Connects a client or throws an Error whose message says what went wrong and what to do. */
export async function connectOrExplain(
  target: Target,
  options: { passwd?: string; timeout?: number; raw?: boolean } = {},
): Promise<Client> {
  const client = new Client({ raw: options.raw === true });
  const { url } = target;
  const code = await client.connect(url, {
    passwd: options.passwd ?? '',
    timeout: options.timeout ?? 10_000,
  });
  if (code !== ConnectCode.OK) {
    client.close();
    throw new Error(`${url}: ${HINTS[code] ?? `connect failed (code ${code})`}`);
  }
  return client;
}

/** Resolves on SIGINT/SIGTERM (and removes its handlers). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
