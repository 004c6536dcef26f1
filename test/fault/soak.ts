import { readdirSync, readFileSync } from 'node:fs';
import { Client, ConnectCode } from '../../src/index.js';
import { Target } from '../hostile/target-process.js';
import { FaultProxy, type FaultSettings } from './proxy.js';

/**
 * The soak: many clients with mixed traffic (RPCs of 0–4 KiB, normal and quick datagrams,
 * subscriptions to a server tick, reconnect churn) through the fault proxy, for a while,
 * sampling the server process's RSS and open fds. Used by the 1-minute CI test and by
 * `bench/soak.ts` (10 minutes, plotted into bench/results/).
 */

export interface SoakOptions {
  clients: number;
  durationMs: number;
  sampleMs?: number;
  faults?: Partial<FaultSettings>;
  /** Clients that disconnect and reconnect per second. */
  churnPerSecond?: number;
  log?: (line: string) => void;
}

export interface SoakSample {
  /** ms since the traffic started. */
  t: number;
  rssBytes: number;
  fds: number;
  rpcs: number;
  messages: number;
}

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  baseline: { rssBytes: number; fds: number; heapUsed: number };
  loaded: { rssBytes: number; fds: number };
  after: { rssBytes: number; fds: number; heapUsed: number; clients: number };
  samples: SoakSample[];
  counters: { rpcs: number; rpcErrors: number; datagrams: number; messages: number; reconnects: number };
  /** The codes of failed RPCs (none expected). */
  errorCodes: string[];
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

function fdsOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function connected(url: string, onmessage: () => void): Promise<Client> {
  const client = new Client();
  client.onmessage = onmessage;
  const code = await client.connect(url, { timeout: 10_000 });
  if (code !== ConnectCode.OK) throw new Error(`soak client could not connect (${code})`);
  await new Promise<void>((resolve) => {
    if (!client.subscribe('/soak/', () => resolve(), 10_000)) resolve();
  });
  return client;
}

export async function soak(options: SoakOptions): Promise<SoakResult> {
  const sampleMs = options.sampleMs ?? 1000;
  const log = options.log ?? (() => {});
  const target = await Target.start({ TARGET_TICK_MS: '100' });
  const pid = target.child.pid as number;
  const proxy = await FaultProxy.start({ port: target.port }, 42);
  const counters = { rpcs: 0, rpcErrors: 0, datagrams: 0, messages: 0, reconnects: 0 };
  const errorCodes = new Set<string>();
  const onmessage = (): void => {
    counters.messages++;
  };
  const clients: Client[] = [];
  try {
    const base = await target.stats();
    const baseline = { rssBytes: rssOf(pid), fds: fdsOf(pid), heapUsed: base.heapUsed };
    proxy.set(options.faults ?? {});
    for (let i = 0; i < options.clients; i += 50) {
      const batch = Math.min(50, options.clients - i);
      clients.push(
        ...(await Promise.all(Array.from({ length: batch }, () => connected(proxy.url, onmessage)))),
      );
    }
    log(`soak: ${clients.length} clients connected through the proxy`);

    const samples: SoakSample[] = [];
    const started = Date.now();
    const payloads = [0, 64, 1024, 4096].map((n) => Buffer.alloc(n, 0x5a));
    let next = 0;
    let ticks = 0;
    let inflight = 0;
    const churnEvery = options.churnPerSecond ? Math.max(1, Math.round(100 / options.churnPerSecond)) : 0;
    // Each client makes about one RPC and one datagram a second, paced by the clock (not by the
    // timer, which a loaded machine delays), at most 200 per turn of the loop.
    while (Date.now() - started < options.durationMs) {
      const due = Math.floor(((Date.now() - started) / 1000) * clients.length) - next;
      for (let k = 0; k < Math.min(due, 200); k++) {
        const i = next++ % clients.length;
        const client = clients[i] as Client;
        if (!client.connected) continue;
        const data = payloads[i % payloads.length];
        counters.rpcs++;
        inflight++;
        client
          .fetch('/echo', { payload: { param: { i }, data }, timeout: 10_000 })
          .catch((error: { code?: string }) => {
            counters.rpcErrors++;
            errorCodes.add(String(error.code));
          })
          .finally(() => {
            inflight--;
          });
        if (client.datagram('/soak/dgram', { param: i }, i % 2 === 0)) counters.datagrams++;
      }
      const churned =
        churnEvery && ++ticks % churnEvery === 0
          ? clients.findIndex((c) => c.connected && c.pendings === 0)
          : -1;
      if (churned >= 0) {
        // A client with nothing pending leaves and comes back: a closed client's own requests
        // failing would not be a fault.
        const i = churned;
        (clients[i] as Client).close();
        counters.reconnects++;
        void connected(proxy.url, onmessage).then((c) => {
          clients[i] = c;
        });
      }
      if (samples.length === 0 || Date.now() - started >= samples.length * sampleMs) {
        samples.push({
          t: Date.now() - started,
          rssBytes: rssOf(pid),
          fds: fdsOf(pid),
          rpcs: counters.rpcs,
          messages: counters.messages,
        });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const loaded = { rssBytes: rssOf(pid), fds: fdsOf(pid) };
    // Let the last requests be answered before the clients leave.
    for (let i = 0; i < 300 && inflight > 0; i++) await new Promise((r) => setTimeout(r, 50));
    log(`soak: traffic done, ${counters.rpcs} RPCs, ${counters.messages} messages received`);
    for (const c of clients) c.close();
    let stats = await target.stats();
    for (let i = 0; i < 100 && stats.clients > 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await target.stats();
    }
    const after = { rssBytes: rssOf(pid), fds: fdsOf(pid), heapUsed: stats.heapUsed, clients: stats.clients };
    const { log: _log, ...rest } = options;
    return { options: rest, baseline, loaded, after, samples, counters, errorCodes: [...errorCodes] };
  } finally {
    for (const c of clients) c.close();
    await proxy.close();
    await target.stop();
  }
}
