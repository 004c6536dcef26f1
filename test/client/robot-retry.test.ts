import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/client/outbox.js';
import { Client, ErrorCode, Server, type VsoaError } from '../../src/index.js';
import { connectClient, deferred, onCleanup, startServer, until } from '../helpers/net.js';

/* Issue 21: robot-mode opt-ins. Defaults stay as they are: no hidden queue. */

function robotClient(): Client {
  const client = new Client();
  onCleanup(() => client.close());
  return client;
}

/** A server on `port` (0: any), closed after the test unless closed before. */
async function serverOn(port: number, setup: (server: Server) => void = () => {}): Promise<Server> {
  const server = new Server();
  setup(server);
  await server.listen(port, '127.0.0.1');
  onCleanup(() => server.close());
  return server;
}

/** A port that was free a moment ago (for a server that starts later). */
async function freePort(): Promise<number> {
  const { server, port } = await startServer();
  await server.close();
  return port;
}

/** A first server that takes /job and never answers it; resolves when the request arrived. */
async function silentFirst() {
  const arrived = deferred();
  const first = await serverOn(0, (s) => s.command('/job', () => arrived.resolve()));
  return { first, port: first.address().port, arrived: arrived.promise };
}

describe('retry: true (the request is idempotent)', () => {
  it('is sent again after the robot reconnects to the restarted server, and completes', async () => {
    const { first, port, arrived } = await silentFirst();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20 });
    await until(() => client.connected);
    const result = client.fetch('/job', { retry: true, timeout: 10_000, payload: { param: { n: 1 } } });
    await arrived;
    await first.close(); // killed before it replied
    await until(() => client.robotStats()?.state !== 'connected');
    await serverOn(port, (s) =>
      s.command('/job', (cli, req, p) => cli.reply(req.seqno, { param: ['second', p.param] })),
    );
    const { payload } = await result;
    expect(payload.param).toEqual(['second', { n: 1 }]);
    expect(client.robotStats()?.retried).toBe(1);
  });

  it('a normal request fails fast when the link drops, and is never sent again', async () => {
    const { first, port, arrived } = await silentFirst();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20 });
    await until(() => client.connected);
    const failed = client.fetch('/job', { timeout: 10_000 }).catch((e: VsoaError) => e);
    await arrived;
    const started = Date.now();
    await first.close();
    const error = (await failed) as VsoaError;
    expect(error.code).toBe(ErrorCode.NOT_CONNECTED);
    expect(Date.now() - started).toBeLessThan(2000);
    let seen = 0;
    await serverOn(port, (s) => s.command('/job', () => seen++));
    await until(() => client.robotStats()?.connects === 2);
    expect((await client.fetch('/other')).header.status).toBe(3);
    expect(seen).toBe(0);
    expect(client.robotStats()?.retried).toBe(0);
  });

  it('made while the robot reconnects: waits for the connection; its own timeout still holds', async () => {
    const port = await freePort();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20, connTimeout: 200 });
    const late = client.fetch('/job', { retry: true, timeout: 10_000 });
    const expiring = client.fetch('/job', { retry: true, timeout: 100 }).catch((e: VsoaError) => e);
    const expired = (await expiring) as VsoaError;
    expect(expired.code).toBe(ErrorCode.TIMEOUT);
    let calls = 0;
    await serverOn(port, (s) =>
      s.command('/job', (cli, req) => {
        calls++;
        cli.reply(req.seqno, { param: 'done' });
      }),
    );
    expect((await late).payload.param).toBe('done');
    expect(calls).toBe(1); // the expired one was never sent
  });

  it('has no effect without robot mode: the request fails when the link drops', async () => {
    const { server, url } = await startServer();
    server.command('/job', () => {});
    const client = await connectClient(url);
    const failed = client.fetch('/job', { retry: true }).catch((e: VsoaError) => e);
    await until(() => client.pendings === 1);
    for (const cli of server.clients()) cli.close();
    expect(((await failed) as VsoaError).code).toBe(ErrorCode.NOT_CONNECTED);
  });

  it('close() fails a parked request at once', async () => {
    const port = await freePort();
    const client = new Client();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20, connTimeout: 200 });
    const parked = client.fetch('/job', { retry: true, timeout: 0 }).catch((e: VsoaError) => e);
    client.close();
    expect(((await parked) as VsoaError).code).toBe(ErrorCode.NOT_CONNECTED);
  });
});

describe('robot outbox', () => {
  it('keeps the newest N datagrams while disconnected and sends them in order after the re-subscriptions', async () => {
    const port = await freePort();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20, connTimeout: 200, outbox: 3 });
    client.subscribe('/topic');
    const payload = Buffer.from('d');
    for (let i = 1; i <= 5; i++) {
      payload.write(String(i)); // reused by the application: the outbox copied it
      expect(client.datagram(`/d${i}`, { data: payload })).toBe(true);
    }
    expect(client.robotStats()).toMatchObject({ outbox: 3, outboxDropped: 2, outboxSent: 0 });
    const got: string[] = [];
    await serverOn(port, (s) => {
      s.ondata = (_cli, url, p) =>
        got.push(`${url} ${p.data?.toString()} subscribed=${s.isSubscribed('/topic')}`);
    });
    await until(() => got.length === 3, 5000, 'the outbox to be sent');
    expect(got).toEqual(['/d3 3 subscribed=true', '/d4 4 subscribed=true', '/d5 5 subscribed=true']);
    expect(client.robotStats()).toMatchObject({ outbox: 0, outboxDropped: 2, outboxSent: 3 });
  });

  it('is off by default: a datagram while disconnected is refused (false)', async () => {
    const port = await freePort();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20, connTimeout: 200 });
    expect(client.datagram('/d')).toBe(false);
    expect(client.robotStats()?.outbox).toBe(0);
  });

  it('checks the size of a datagram it queues, as a sent one would be', async () => {
    const port = await freePort();
    const client = robotClient();
    client.robot(`vsoa://127.0.0.1:${port}`, { reconnDelay: 20, outbox: 2 });
    expect(() => client.datagram('/q', { data: Buffer.alloc(70_000) }, true)).toThrow(RangeError);
    expect(() => client.robot('vsoa://127.0.0.1:1', { outbox: -1 })).toThrow(/running|outbox/);
    expect(() => new Client().robot('vsoa://127.0.0.1:1', { outbox: 1.5 })).toThrow(/options\.outbox/);
  });
});

describe('Outbox', () => {
  it('drops the oldest when full, and at a reconnect a datagram the link refuses (order kept)', () => {
    const box = new Outbox(2);
    for (const url of ['/1', '/2', '/3']) box.push({ url, param: undefined, data: undefined, quick: false });
    expect([box.size, box.dropped]).toEqual([2, 1]);
    const sent: string[] = [];
    box.drain((d) => d.url !== '/2' && sent.push(d.url) > 0);
    expect(sent).toEqual(['/3']);
    expect([box.size, box.dropped, box.sent]).toEqual([0, 2, 1]);
  });
});
