import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { duration, integer } from '../util/check.js';
import { type Logger, moduleLogger } from '../util/log.js';
import { safely } from '../util/safely.js';
import { type AskResult, askServer } from './ask.js';
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
  /** Asked first, in place of the server set by pos() (e.g. a command line's --server). */
  server?: PosServer;
  /** Sees each step of the lookup, in the lookup's own order (e.g. to explain a failure). */
  observer?: LookupObserver;
}

/** Where a position server came from, in the lookup's order. */
export type LookupSource = 'server' | 'pos' | 'env' | 'file';

/** Hooks into one lookup; each is optional, none can change it (a throw is logged). */
export interface LookupObserver {
  /** One server was asked and said `result` (a hit or a miss ends the lookup). */
  asked?(server: PosServer, source: LookupSource, result: AskResult): void;
  /** A configuration entry was skipped, or the file could not be read or lists no server. */
  note?(text: string): void;
}

export interface LookupResult {
  addr: string;
  port: number;
  /** true: the server speaks TLS. */
  security: boolean;
}

/**
 * How a lookup ended. `found`: `result` is the answer. `not-found`: a server answered that it
 * does not know the name. `no-server`: no position server is configured (pos(), options.server,
 * VSOA_POS_SERVER, the file). `no-answer`: servers are configured but none gave an answer.
 */
export type LookupOutcomeKind = 'found' | 'not-found' | 'no-server' | 'no-answer';

export interface LookupOutcome {
  kind: LookupOutcomeKind;
  result: LookupResult | null;
  /** Whether some server answered (found or not-found). */
  answered: boolean;
  /** The server that answered. */
  server?: PosServer;
  /** How many servers were asked. */
  asked: number;
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

/**
 * lookup() that also tells "not found" from "no position server configured" from "no server
 * answered" (see LookupOutcome), for error messages and exit codes.
 */
export async function lookupOutcome(
  name: string,
  domain: QueryDomain = -1,
  opts: LookupOptions = {},
): Promise<LookupOutcome> {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string');
  if (domain !== -1 && !isDomain(domain)) throw new RangeError(`domain must be -1, 2 or 10, got ${domain}`);
  const query = encodeQuery(name, domain);
  if (query.length > MAX_QUERY_BYTES) throw new RangeError(`name is too long for a position query`);
  const timeout = duration(opts.timeout, 'timeout', DEFAULT_LOOKUP_TIMEOUT, 1);
  const retries = integer(opts.retries, 'retries', DEFAULT_LOOKUP_RETRIES, 0, 100);
  if (opts.server !== undefined && (isIP(opts.server?.addr) === 0 || !isPort(opts.server?.port))) {
    throw new TypeError('server must be { addr: an IP address, port: 1-65535 }');
  }

  // The cache is skipped with a server of the caller's or an observer: both want the servers asked.
  const useCache = opts.cache !== false && opts.server === undefined && opts.observer === undefined;
  const key = `${name.toLowerCase()}\0${domain}`;
  if (useCache) {
    const cached = cache.get(key);
    if (cached !== undefined) return { kind: 'found', result: { ...cached }, answered: true, asked: 0 };
  }

  const log = moduleLogger('position');
  const observer = opts.observer;
  const asked = new Set<string>();
  for await (const { server, source } of positionServers(opts, log)) {
    const id = `${server.addr}|${server.port}`;
    if (asked.has(id)) continue;
    asked.add(id);
    const got = await askServer(server, query, domain, { timeout, retries }, log);
    if (observer?.asked) safely(log, 'lookup observer', () => observer.asked?.(server, source, got));
    if (got.kind === 'hit') {
      const result: LookupResult = {
        addr: got.record.addr,
        port: got.record.port,
        security: got.record.security,
      };
      if (useCache) cache.set(key, result);
      return { kind: 'found', result: { ...result }, answered: true, server, asked: asked.size };
    }
    if (got.kind === 'miss')
      return { kind: 'not-found', result: null, answered: true, server, asked: asked.size };
    log.debug({ server, name, outcome: got.kind }, 'position server gave no answer; trying the next');
  }
  if (asked.size === 0) log.debug({ name }, 'no position server configured');
  return {
    kind: asked.size === 0 ? 'no-server' : 'no-answer',
    result: null,
    answered: false,
    asked: asked.size,
  };
}

/** The configured servers in order; the file is read only if the earlier ones are used up. */
async function* positionServers(
  opts: LookupOptions,
  log: Logger,
): AsyncGenerator<{ server: PosServer; source: LookupSource }> {
  const note = (text: string, detail: object): void => {
    log.debug(detail, text);
    const observer = opts.observer;
    if (observer?.note) safely(log, 'lookup observer', () => observer.note?.(text));
  };
  if (opts.server !== undefined) yield { server: opts.server, source: 'server' };
  else if (codeServer !== null) yield { server: codeServer, source: 'pos' };
  const env = opts.env ?? process.env;
  const fromEnv = parsePosEnv(env[POS_ENV], (entry, reason) =>
    note(`${POS_ENV} entry '${entry}' skipped: ${reason}`, { entry, reason }),
  );
  for (const server of fromEnv) yield { server, source: 'env' };
  const file = opts.file ?? DEFAULT_POS_FILE;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    note(`${file} not read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      err,
      file,
    });
    return;
  }
  const fromFile = parsePosFile(text, (line, reason) =>
    note(`${file} line '${line}' skipped: ${reason}`, { file, line, reason }),
  );
  if (fromFile.length === 0) note(`${file} lists no server`, { file });
  for (const server of fromFile) yield { server, source: 'file' };
}
