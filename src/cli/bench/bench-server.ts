import { Server } from '../../server/server.js';
import type { Logger } from '../../util/log.js';
import { type BenchStats, ECHO_URL, QUICK_URL, RESET_URL, STATS_URL } from './wire.js';

export interface BenchServerOptions {
  passwd?: string;
  info?: unknown;
  logger?: Logger;
}

export interface BenchServer {
  server: Server;
  stats(): BenchStats;
  reset(): void;
}

/**
 * The server side of `vsoa bench`: `/echo` replies with the request's payload, a quick datagram
 * goes back quick to its sender, `/bench/stats` reads the counters and `/bench/reset` zeroes
 * them. Raw params: an echo passes bytes through without JSON work.
 */
export function createBenchServer(options: BenchServerOptions = {}): BenchServer {
  const server = new Server({
    info: options.info ?? { name: 'vsoa bench' },
    passwd: options.passwd ?? '',
    raw: true,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  let since = performance.now();
  const counters = {
    rpcCalls: 0,
    rpcBytes: 0,
    quickReceived: 0,
    quickBytes: 0,
    quickEchoed: 0,
    datagrams: 0,
  };

  const stats = (): BenchStats => ({
    rpc: { calls: counters.rpcCalls, bytes: counters.rpcBytes },
    quick: { received: counters.quickReceived, bytes: counters.quickBytes, echoed: counters.quickEchoed },
    datagrams: { received: counters.datagrams },
    clients: server.count(),
    sinceMs: Math.round(performance.now() - since),
  });
  const reset = (): void => {
    for (const key of Object.keys(counters) as Array<keyof typeof counters>) counters[key] = 0;
    since = performance.now();
  };

  server.command(ECHO_URL, (cli, request, payload) => {
    counters.rpcCalls++;
    counters.rpcBytes += payload.data?.length ?? 0;
    cli.reply(request.seqno, payload);
  });
  server.command(STATS_URL, (cli, request) => {
    cli.reply(request.seqno, { param: stats() });
  });
  server.command(RESET_URL, (cli, request) => {
    reset();
    cli.reply(request.seqno);
  });
  server.ondata = (cli, url, payload, quick) => {
    if (!quick) {
      counters.datagrams++;
      return;
    }
    counters.quickReceived++;
    counters.quickBytes += payload.data?.length ?? 0;
    if (url === QUICK_URL && cli.datagram(url, payload, true)) counters.quickEchoed++;
  };
  return { server, stats, reset };
}
