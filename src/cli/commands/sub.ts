import type { Command } from 'commander';
import type { Client } from '../../client/client.js';
import { isValidUrl } from '../../protocol/url.js';
import { getLogger } from '../../util/log.js';
import type { Target } from '../args.js';
import { intArg, serverUrlArg } from '../args.js';
import { connectOrExplain, explainConnectCode, untilSignal } from '../connect.js';
import { ConnectionLog, reportingClient } from '../connect-log.js';
import {
  addConnectOptions,
  type ConnectCliOptions,
  connectOptionsFrom,
  type ResolvedConnectOptions,
} from '../connect-options.js';
import { UsageError } from '../errors.js';
import { payloadJson, payloadText } from '../format.js';
import { CONNECT_ENV, helpFooter, USAGE_EXIT } from '../help.js';
import { say } from '../output.js';

interface SubOpts extends ConnectCliOptions {
  count?: number;
  json?: boolean;
  reconnect: boolean;
}

function topicArg(value: string, previous: string[] = []): string[] {
  if (!isValidUrl(value)) throw new UsageError(`topic ${value} must start with '/'; see 'vsoa sub --help'`);
  return [...previous, value];
}

function subscribeOnce(client: Client, topics: string[], timeout: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    if (!client.subscribe(topics, (_c, ok) => resolve(ok), timeout)) resolve(false);
  });
}

/** Prints every message; resolves after `count` of them. */
function printMessages(client: Client, opts: SubOpts): Promise<void> {
  let received = 0;
  return new Promise<void>((resolve) => {
    client.onmessage = (_c, topic, payload, quick) => {
      received++;
      say(
        opts.json
          ? JSON.stringify({ url: topic, quick, ...payloadJson(payload) })
          : `${topic}${quick ? ' (quick)' : ''}: ${payloadText(payload)}`,
      );
      if (opts.count !== undefined && received >= opts.count) resolve();
    };
  });
}

/** --no-reconnect: one connection; its loss is a failure (exit 1) naming the url. */
async function subscribeOnceAndExit(
  url: Target,
  topics: string[],
  opts: SubOpts,
  connect: ResolvedConnectOptions,
) {
  const client = await connectOrExplain(url, connect);
  const lost = new Promise<'lost'>((resolve) => {
    client.onconnect = (_c, connected) => {
      if (!connected) resolve('lost');
    };
  });
  const messages = printMessages(client, opts);
  if (!(await subscribeOnce(client, topics, connect.timeout))) {
    client.close();
    throw new Error(`${url.url}: the server refused the subscription to ${topics.join(' ')}`);
  }
  const end = await Promise.race([messages, lost, untilSignal()]);
  client.close();
  if (end === 'lost') throw new Error(`connection lost: ${url.url}`);
}

/**
 * The default: robot mode, as mosquitto_sub and nats sub do. The first connect must succeed
 * (a wrong url fails at once); afterwards a lost server is logged with its url and the robot
 * reconnects and re-subscribes.
 */
async function subscribeAndKeep(
  url: Target,
  topics: string[],
  opts: SubOpts,
  connect: ResolvedConnectOptions,
) {
  const log = getLogger();
  const connections = new ConnectionLog(log);
  let configError: (message: string) => void = () => {};
  const client = reportingClient(connect.tls !== undefined, (message) => configError(message));
  let everConnected = false;
  const failure = new Promise<Error>((resolve) => {
    configError = (message) => resolve(new UsageError(`${message}: pass --tls (and --ca FILE)`));
    client.on('robot-connect-failed', (server: string, code: number) => {
      if (!everConnected) resolve(new Error(`${server}: ${explainConnectCode(code)}`));
      else connections.failed(server, code);
    });
  });
  const messages = printMessages(client, opts);
  const refused = new Promise<Error>((resolve) => {
    client.onconnect = (_c, connected) => {
      if (!connected) {
        connections.lost(url.url);
        return;
      }
      connections.connected(url.url);
      if (everConnected) return; // the robot re-subscribes
      everConnected = true;
      void subscribeOnce(client, topics, connect.timeout).then((ok) => {
        if (!ok) resolve(new Error(`${url.url}: the server refused the subscription to ${topics.join(' ')}`));
      });
    };
  });
  const robotOptions = {
    passwd: connect.passwd,
    connTimeout: connect.timeout,
    ...(connect.tls ? { tls: connect.tls } : {}),
  };
  client.robot(url.url, robotOptions);
  const end = await Promise.race([messages, untilSignal(), failure, refused]);
  client.close();
  if (end instanceof Error) throw end;
}

export function register(program: Command): void {
  const command = program
    .command('sub')
    .description('subscribe and print messages until interrupted (or --count); reconnects by default')
    .argument('<url>', 'vsoa://host:port/topic (a topic ending in / takes everything below)', serverUrlArg)
    .argument('[topics...]', 'more topics on the same server')
    .option('--count <n>', 'exit after n messages', intArg('--count', 1, Number.MAX_SAFE_INTEGER))
    .option('--no-reconnect', 'exit (status 1) when the connection is lost instead of reconnecting');
  addConnectOptions(command, { timeoutHelp: 'connect (and each reconnect) timeout' });
  command
    .option('--json', 'one JSON object per message (NDJSON)')
    .addHelpText(
      'after',
      helpFooter(
        {
          0: '--count messages received, SIGINT/SIGTERM, or stdout closed',
          1: 'the first connect failed, the subscription was refused, or (--no-reconnect) the connection was lost',
          2: USAGE_EXIT,
        },
        CONNECT_ENV,
      ),
    )
    .action(async (url: Target, more: string[], opts: SubOpts) => {
      const topics = more.reduce((acc, t) => topicArg(t, acc), [url.path]);
      const connect = connectOptionsFrom(opts);
      if (opts.reconnect) await subscribeAndKeep(url, topics, opts, connect);
      else await subscribeOnceAndExit(url, topics, opts, connect);
    });
}
