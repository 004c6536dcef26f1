/** Server RSS idle and with many idle clients (spread over a few client processes). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Json, Side } from '../lib/adapter.js';
import type { Child } from '../lib/child.js';
import { type Scenario, sidesInRound, startClient, startServer } from './context.js';

/** raw: the floor's plain `net` server, same loader and harness: the bare Node.js baseline for idle RSS. */
const SIDES: readonly Side[] = ['ours', 'official', 'raw'];
const MIB = 1024 * 1024;

export const memory: Scenario = {
  id: 'memory',
  title: 'Server memory: idle, and with idle clients connected',
  sides: SIDES,
  columns: [
    { key: 'rssIdle', label: 'RSS idle MiB', digits: 1, scale: MIB },
    { key: 'rssLoaded', label: 'RSS with clients MiB', digits: 1, scale: MIB },
    { key: 'rssPerClient', label: 'RSS KiB/client', digits: 1, scale: 1024 },
    { key: 'heapPerClient', label: 'heap KiB/client', digits: 2, scale: 1024 },
    { key: 'rssPerNextClient', label: 'next clients: RSS KiB/client', digits: 1, scale: 1024 },
    { key: 'heapPerNextClient', label: 'next clients: heap KiB/client', digits: 2, scale: 1024 },
    { key: 'clients', label: 'clients' },
  ],
  note: 'Measured after a forced GC in the server; clients are the same side’s client library. raw = a bare Node.js process (a plain `net` server with the same loader and harness, its clients plain sockets): the baseline for idle RSS and per connection. "next clients": what as many clients again add, once the first ones are connected: the cost of one more client, without what the first connections grow once (V8 doubles its young generation under their allocation, 4 → 16 MiB; code compiled for the connect path).',
  async run({ settings, results }) {
    const total = settings.idleClients;
    const label = `${total} idle clients`;
    const per = Math.ceil(total / settings.idleProcesses);
    for (let round = 0; round < settings.slowRounds; round++) {
      for (const side of sidesInRound(SIDES, round)) {
        let server: Child | undefined;
        const clients: Child[] = [];
        try {
          const [started, port] = await startServer(side, settings);
          server = started;
          await sleep(300);
          server.send({ cmd: 'stats' });
          const idle = await server.wait('stats', 10_000);
          // `total` more idle clients, then the server's stats.
          const wave = async (srv: Child): Promise<Json> => {
            const more: Child[] = [];
            for (let at = 0; at < total; at += per) {
              more.push(startClient(side, { task: 'idle', port, clients: Math.min(per, total - at) }));
            }
            clients.push(...more);
            await Promise.all(more.map((c) => c.wait('connected', 90_000)));
            await sleep(300);
            srv.send({ cmd: 'stats' });
            return srv.wait('stats', 10_000);
          };
          const loaded = await wave(started);
          const next = await wave(started);
          const n = loaded.clients as number;
          const added = (next.clients as number) - n;
          const rssIdle = idle.rss as number;
          const rssLoaded = loaded.rss as number;
          results.add(this.id, label, side, {
            rssIdle,
            rssLoaded,
            rssPerClient: (rssLoaded - rssIdle) / Math.max(1, n),
            heapPerClient: ((loaded.heapUsed as number) - (idle.heapUsed as number)) / Math.max(1, n),
            rssPerNextClient: ((next.rss as number) - rssLoaded) / Math.max(1, added),
            heapPerNextClient: ((next.heapUsed as number) - (loaded.heapUsed as number)) / Math.max(1, added),
            clients: n,
          });
        } catch (error) {
          results.fail(this.id, [label], side, error);
        } finally {
          await Promise.all(clients.map((c) => c.stop()));
          await server?.stop();
        }
      }
    }
  },
};
