import { Client } from '../client/client.js';
import { ConnectCode } from '../protocol/constants.js';
import { connectCodeName } from '../protocol/names.js';
import type { Target } from './args.js';
import { DEFAULT_CONNECT_TIMEOUT, type ResolvedConnectOptions } from './connect-options.js';
import { UsageError } from './errors.js';

/** What to do about each connect failure, for the CLI's one-line messages. */
export const CONNECT_HINTS: Readonly<Record<number, string>> = {
  [ConnectCode.ERROR]: 'connection refused or failed: is a VSOA server listening there?',
  [ConnectCode.UNREACHABLE]: 'network unreachable: check the address and the board’s network',
  [ConnectCode.SERVER_NOT_FOUND]: 'server not found: check the name, VSOA_POS_SERVER or /etc/vsoa.pos',
  [ConnectCode.SERVER_NO_RESPONDING]:
    'no answer in time: the server may be overloaded, or the port is not VSOA',
  [ConnectCode.INVALID_RESPONDING]: 'the peer did not answer like a VSOA server (a TLS server? try --tls)',
  [ConnectCode.INVALID_PASSWD]: `wrong password: pass the right one with --passwd, --passwd-file or VSOA_PASSWD`,
  [ConnectCode.SSL_HS_FAILED]: 'TLS handshake failed: check --ca, --cert/--key and --servername',
};

/** `code 6 INVALID_PASSWD: wrong password: ...` */
export function explainConnectCode(code: number): string {
  return `code ${code} ${connectCodeName(code)}: ${CONNECT_HINTS[code] ?? 'connect failed'}`;
}

/** Connects a client or throws an Error whose message says what went wrong and what to do. */
export async function connectOrExplain(
  target: Target,
  options: Partial<ResolvedConnectOptions> & { raw?: boolean } = {},
): Promise<Client> {
  const client = new Client({ raw: options.raw === true });
  const { url } = target;
  let code: ConnectCode;
  try {
    code = await client.connect(url, {
      passwd: options.passwd ?? '',
      timeout: options.timeout ?? DEFAULT_CONNECT_TIMEOUT,
      ...(options.tls ? { tls: options.tls } : {}),
    });
  } catch (error) {
    client.close();
    // The library's advice names its API; on the command line the answer is a flag.
    if (error instanceof TypeError && /requires TLS/.test(error.message)) {
      throw new UsageError(error.message.replace(/pass options\.tls/, 'pass --tls (and --ca FILE)'));
    }
    throw error;
  }
  if (code !== ConnectCode.OK) {
    client.close();
    throw new Error(`${url}: ${explainConnectCode(code)}`);
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
