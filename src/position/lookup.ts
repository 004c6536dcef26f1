import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type Logger, moduleLogger } from '../util/log.js';
import { askServer } from './ask.js';
import { LookupCache } from './cache.js';
import { DEFAULT_POS_FILE, POS_ENV, type PosServer, parsePosEnv, parsePosFile } from './config.js';
import { isDomain, isPort, type QueryDomain } from './entry.js';
import { encodeQuery, MAX_QUERY_BYTES } from './wire.js';

/**
 * Name lookup through position servers.
 *
 * Order: the server set by pos(), then `VSOA_POS_SERVER`, then `/etc/vsoa.pos` (read lazily,
 * only when the earlier ones gave nothing). Each server gets `timeout` ms per try and
 * `retries` extra tries.
 *
 * First answer wins, a miss included: `{}` from a server ends the lookup with null at once;
 * only a server that gives no usable answer (silent, refused, invalid reply) passes the
 * question to the next one. The servers of a board are replicas for availability, not
 * shards, and a robot reconnecting to a server that is gone must learn it quickly rather than
 * after every other server's timeouts. (The node client differs: it asks the next server after
 * a miss too; the seed and the python client stop at the first answer.)
 */

export interface LookupOptions {
  /** The position file; default `/etc/vsoa.pos`. */
  file?: string;
  /** Where `VSOA_POS_SERVER` is read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per try, ms; default 2000. */
  timeout?: number;
  /** Extra tries per server after a timeout; default 1. */
  retries?: number;
  /** Use the positive-answer cache; default true. */
  cache?: boolean;
}

export interface LookupResult {
  addr: string;
  port: number;
  /** true: the server speaks TLS. */
  security: boolean;
}

/** A lookup's result and whether any server answered at all (null + false: nobody did). */
export interface LookupOutcome {
  result: LookupResult | null;
  answered: boolean;
}

export const DEFAULT_LOOKUP_TIMEOUT = 2000;
export const DEFAULT_LOOKUP_RETRIES = 1;
export const DEFAULT_CACHE_TTL = 3000;

let codeServer: PosServer | null = null;
const cache = new LookupCache<LookupResult>(DEFAULT_CACHE_TTL);

/** The seed's pos(addr, port): the server lookup() asks first. pos(null) forgets it. */
export function pos(addr: string | null, port?: number): void {
  if (addr === null) {
    codeServer = null;
  } else {
    if (typeof addr !== 'string' || isIP(addr) === 0)
      throw new TypeError(`addr must be an IP address, got ${addr}`);
    if (!isPort(port)) throw new RangeError(`port must be an integer 1-65535, got ${port}`);
    codeServer = { addr, port };
  }
  cache.clear();
}

/** How long a positive answer is reused, ms (default 3000); 0 disables the cache. */
export function setLookupCacheTtl(ms: number): void {
  cache.setTtl(ms);
}

export function clearLookupCache(): void {
  cache.clear();
}

/** The seed's lookup(name, domain = -1): `{ addr, port, security }`, or null when not found. */
export async function lookup(
  name: string,
  domain: QueryDomain = -1,
  opts: LookupOptions = {},
): Promise<LookupResult | null> {
  return (await lookupOutcome(name, domain, opts)).result;
}

/** lookup() that also tells "unknown" from "no server answered" (for error messages). */
export async function lookupOutcome(
  name: string,
  domain: QueryDomain = -1,
  opts: LookupOptions = {},
): Promise<LookupOutcome> {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string');
  if (domain !== -1 && !isDomain(domain)) throw new RangeError(`domain must be -1, 2 or 10, got ${domain}`);
  const query = encodeQuery(name, domain);
  if (query.length > MAX_QUERY_BYTES) throw new RangeError(`name is too long for a position query`);
  const timeout = opts.timeout ?? DEFAULT_LOOKUP_TIMEOUT;
  const retries = opts.retries ?? DEFAULT_LOOKUP_RETRIES;
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new RangeError(`timeout must be > 0 ms, got ${timeout}`);
  if (!Number.isInteger(retries) || retries < 0)
    throw new RangeError(`retries must be an integer >= 0, got ${retries}`);

  const useCache = opts.cache !== false;
  const key = `${name.toLowerCase()}\0${domain}`;
  if (useCache) {
    const cached = cache.get(key);
    if (cached !== undefined) return { result: { ...cached }, answered: true };
  }

  const log = moduleLogger('position');
  const asked = new Set<string>();
  for await (const server of positionServers(opts, log)) {
    const id = `${server.addr}|${server.port}`;
    if (asked.has(id)) continue;
    asked.add(id);
    const got = await askServer(server, query, domain, { timeout, retries }, log);
    if (got.kind === 'hit') {
      const result: LookupResult = {
        addr: got.record.addr,
        port: got.record.port,
        security: got.record.security,
      };
      if (useCache) cache.set(key, result);
      return { result: { ...result }, answered: true };
    }
    if (got.kind === 'miss') return { result: null, answered: true };
    log.debug({ server, name, outcome: got.kind }, 'position server gave no answer; trying the next');
  }
  if (asked.size === 0) log.debug({ name }, 'no position server configured');
  return { result: null, answered: false };
}

/** The configured servers in order; the file is read only if the earlier ones are used up. */
async function* positionServers(opts: LookupOptions, log: Logger): AsyncGenerator<PosServer> {
  if (codeServer !== null) yield codeServer;
  const env = opts.env ?? process.env;
  yield* parsePosEnv(env[POS_ENV], (entry, reason) =>
    log.debug({ entry, reason }, `bad ${POS_ENV} entry skipped`),
  );
  const file = opts.file ?? DEFAULT_POS_FILE;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    log.debug({ err, file }, 'position file not read');
    return;
  }
  yield* parsePosFile(text, (line, reason) =>
    log.debug({ file, line, reason }, 'bad position file line skipped'),
  );
}
