import { parseVsoaUrl } from '../position/resolve.js';
import { ConnectCode, connectError } from '../protocol/index.js';
import type { TlsOptions } from '../transport/tls-options.js';
import type { CallOptions, FetchResult } from './client.js';
import { Client } from './client.js';
import { DEFAULT_CONNECT_TIMEOUT } from './options.js';

export interface OnceOptions extends CallOptions {
  passwd?: string;
  raw?: boolean;
  /** Connect over TLS (see ConnectOptions.tls). */
  tls?: TlsOptions;
}

/** One connection, one RPC, closed afterwards (seed: vsoa.fetch). Timeout covers both (default 10 s). */
export async function fetch(url: string, options: OnceOptions = {}): Promise<FetchResult> {
  const { path } = parseVsoaUrl(url);
  const timeout = options.timeout ?? DEFAULT_CONNECT_TIMEOUT;
  const client = new Client({ raw: options.raw === true });
  try {
    const code = await client.connect(url, { passwd: options.passwd ?? '', timeout, tls: options.tls });
    if (code !== ConnectCode.OK) throw connectError(code, `cannot connect to ${url} (code ${code})`);
    return await client.fetch(path, { method: options.method, payload: options.payload, timeout });
  } finally {
    client.close();
  }
}
