import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AskResult } from '../../position/ask.js';
import { DEFAULT_POS_FILE, POS_ENV, type PosServer, parsePosEnv } from '../../position/config.js';
import type { QueryDomain } from '../../position/entry.js';
import {
  DEFAULT_LOOKUP_RETRIES,
  DEFAULT_LOOKUP_TIMEOUT,
  type LookupOutcomeKind,
  type LookupSource,
  lookupOutcome,
} from '../../position/lookup.js';
import { encodeQuery, MAX_QUERY_BYTES } from '../../position/wire.js';
import { intArg } from '../args.js';
import { UsageError } from '../errors.js';
import { hostPort } from '../format.js';
import { helpFooter, USAGE_EXIT } from '../help.js';
import { say } from '../output.js';

/*
 * One lookup through the library (lookupOutcome: its server order, its first-answer-wins rule,
 * --server standing in for pos()), watched by an observer so that a failure can say who was
 * asked and what each one did.
 */

interface LookupOpts {
  domain?: '2' | '10';
  server?: PosServer;
  posFile: string;
  timeout: number;
  json?: boolean;
}

/** commander parser for --server: `addr:port`, IPv6 in brackets, `localhost:port`. */
function serverArg(given: string): PosServer {
  let reason = '';
  // localhost is accepted wherever a host is (the position config itself wants IP addresses).
  const value = given.replace(/^localhost(?=:)/i, '127.0.0.1');
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
    case 'miss':
      return 'unknown';
    default:
      return r.kind;
  }
}

function sourceText(source: LookupSource, opts: LookupOpts): string {
  return { server: '--server', pos: 'pos()', env: POS_ENV, file: opts.posFile }[source];
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
    .option('--json', 'print the answer as JSON (a miss too: { name, found: false, reason, asked, notes })')
    .addHelpText(
      'after',
      helpFooter({ 0: 'found', 1: 'not found, or no position server answered', 2: USAGE_EXIT }, [
        `${POS_ENV}  position servers (addr:port,...) asked after --server, before the file`,
      ]),
    )
    .action(async (name: string, opts: LookupOpts) => {
      if (name.length === 0) throw new UsageError('name must not be empty');
      const domain: QueryDomain = opts.domain === undefined ? -1 : opts.domain === '2' ? 2 : 10;
      const query = encodeQuery(name, domain);
      if (query.length > MAX_QUERY_BYTES)
        throw new UsageError(`name is too long (${query.length} bytes of query)`);
      const tries = DEFAULT_LOOKUP_RETRIES + 1;
      const asked: string[] = [];
      const notes: string[] = [];
      let answer: { domain: number; where: string } | undefined;
      const outcome = await lookupOutcome(name, domain, {
        file: opts.posFile,
        timeout: opts.timeout,
        retries: DEFAULT_LOOKUP_RETRIES,
        cache: false,
        ...(opts.server ? { server: opts.server } : {}),
        observer: {
          asked(server, source, r) {
            const where = `${hostPort(server.addr, server.port)} (${sourceText(source, opts)})`;
            asked.push(`${where}: ${outcomeText(r, opts.timeout, tries)}`);
            if (r.kind === 'hit')
              answer = { domain: r.record.domain, where: hostPort(server.addr, server.port) };
          },
          note: (text) => notes.push(text),
        },
      });
      if (outcome.kind === 'found' && outcome.result) {
        const { addr, port, security } = outcome.result;
        say(
          opts.json
            ? JSON.stringify({ name, domain: answer?.domain, addr, port, security, server: answer?.where })
            : `${addr} ${port} ${security}`,
        );
        return;
      }
      if (opts.json) say(JSON.stringify({ name, found: false, reason: outcome.kind, asked, notes }));
      throw new Error(missMessage(name, outcome.kind, asked, notes, opts.posFile));
    });
}

function missMessage(
  name: string,
  kind: LookupOutcomeKind,
  asked: string[],
  notes: string[],
  posFile: string,
): string {
  const noted = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  if (kind === 'not-found')
    return `${name} not found: ${asked.at(-1)?.replace(/: unknown$/, '')} does not know it`;
  if (kind === 'no-server') {
    return `${name} not found: no position server to ask (give --server addr:port, set ${POS_ENV} or list servers in ${posFile})${noted}`;
  }
  return `${name} not found: no position server answered: ${asked.join('; ')}${noted}`;
}
