import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { type AskResult, askServer } from '../../position/ask.js';
import {
  DEFAULT_POS_FILE,
  POS_ENV,
  type PosServer,
  parsePosEnv,
  parsePosFile,
} from '../../position/config.js';
import type { QueryDomain } from '../../position/entry.js';
import { DEFAULT_LOOKUP_RETRIES, DEFAULT_LOOKUP_TIMEOUT } from '../../position/lookup.js';
import { encodeQuery, MAX_QUERY_BYTES } from '../../position/wire.js';
import { type Logger, moduleLogger } from '../../util/log.js';
import { intArg } from '../args.js';
import { UsageError } from '../errors.js';
import { hostPort } from '../format.js';

/*
 * Asks the position servers one by one in the library's order (--server standing in for
 * pos()), with the library's rule: the first answer wins, "unknown" included. Done here
 * server by server rather than through lookup(), so that a failure can say who was asked and
 * what each one did.
 */

interface LookupOpts {
  domain?: '2' | '10';
  server?: PosServer;
  posFile: string;
  timeout: number;
  json?: boolean;
}

/** commander parser for --server: `addr:port`, IPv6 in brackets. */
function serverArg(value: string): PosServer {
  let reason = '';
  const [server] = parsePosEnv(value, (_e, r) => {
    reason = r;
  });
  if (server === undefined || value.includes(',')) {
    throw new InvalidArgumentError(`expected addr:port (IPv6 as [addr]:port)${reason ? `: ${reason}` : ''}`);
  }
  return server;
}

function outcomeText(r: AskResult, timeout: number, tries: number): string {
  switch (r.kind) {
    case 'silent':
      return `no answer (${tries} × ${timeout} ms)`;
    case 'refused':
      return 'refused (nothing listening)';
    case 'invalid':
      return `invalid answer (${r.reason})`;
    case 'error':
      return `error (${r.err.message})`;
    default:
      return r.kind;
  }
}

/** Where to ask, in order; the file is read only when the earlier sources are used up. */
async function* sources(
  opts: LookupOpts,
  notes: string[],
  log: Logger,
): AsyncGenerator<{ server: PosServer; from: string }> {
  if (opts.server) yield { server: opts.server, from: '--server' };
  const env = process.env[POS_ENV];
  if (env !== undefined && env.trim() !== '') {
    const servers = parsePosEnv(env, (entry, reason) => {
      log.warn({ entry, reason }, `bad ${POS_ENV} entry skipped`);
      notes.push(`${POS_ENV} entry '${entry}' skipped: ${reason}`);
    });
    for (const server of servers) yield { server, from: POS_ENV };
  }
  let text: string;
  try {
    text = await readFile(opts.posFile, 'utf8');
  } catch (err) {
    notes.push(`${opts.posFile} not read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return;
  }
  const servers = parsePosFile(text, (line, reason) => {
    log.warn({ file: opts.posFile, line, reason }, 'bad position file line skipped');
    notes.push(`${opts.posFile} line '${line}' skipped: ${reason}`);
  });
  if (servers.length === 0) notes.push(`${opts.posFile} lists no server`);
  for (const server of servers) yield { server, from: opts.posFile };
}

export function register(program: Command): void {
  program
    .command('lookup')
    .description('look a name up through the position service and print "addr port security"')
    .argument('<name>', 'service name')
    .addOption(
      new Option('--domain <family>', 'address family: 2 (IPv4) or 10 (IPv6); default any').choices([
        '2',
        '10',
      ]),
    )
    .option('--server <addr:port>', `position server asked first, before ${POS_ENV} and the file`, serverArg)
    .option('--pos-file <path>', 'position servers file', DEFAULT_POS_FILE)
    .option(
      '--timeout <ms>',
      `wait per try (${DEFAULT_LOOKUP_RETRIES + 1} tries per server)`,
      intArg('--timeout', 1, 60_000),
      DEFAULT_LOOKUP_TIMEOUT,
    )
    .option('--json', 'print the answer as JSON')
    .action(async (name: string, opts: LookupOpts) => {
      if (name.length === 0) throw new UsageError('name must not be empty');
      const domain: QueryDomain = opts.domain === undefined ? -1 : opts.domain === '2' ? 2 : 10;
      const query = encodeQuery(name, domain);
      if (query.length > MAX_QUERY_BYTES)
        throw new UsageError(`name is too long (${query.length} bytes of query)`);
      const log = moduleLogger('lookup');
      const tries = DEFAULT_LOOKUP_RETRIES + 1;
      const asked: string[] = [];
      const notes: string[] = [];
      const seen = new Set<string>();
      for await (const { server, from } of sources(opts, notes, log)) {
        const address = hostPort(server.addr, server.port);
        if (seen.has(address)) continue;
        seen.add(address);
        const where = `${address} (${from})`;
        const r = await askServer(
          server,
          query,
          domain,
          { timeout: opts.timeout, retries: DEFAULT_LOOKUP_RETRIES },
          log,
        );
        if (r.kind === 'hit') {
          const { addr, port, security } = r.record;
          const line = opts.json
            ? JSON.stringify({
                name,
                domain: r.record.domain,
                addr,
                port,
                security,
                server: address,
              })
            : `${addr} ${port} ${security}`;
          process.stdout.write(`${line}\n`);
          return;
        }
        if (r.kind === 'miss') throw new Error(`${name} not found: ${where} does not know it`);
        asked.push(`${where}: ${outcomeText(r, opts.timeout, tries)}`);
      }
      const noted = notes.length > 0 ? `; ${notes.join('; ')}` : '';
      if (asked.length === 0) {
        throw new Error(
          `${name} not found: no position server to ask (give --server addr:port, set ${POS_ENV} or list servers in ${opts.posFile})${noted}`,
        );
      }
      throw new Error(`${name} not found: no position server answered: ${asked.join('; ')}${noted}`);
    });
}
