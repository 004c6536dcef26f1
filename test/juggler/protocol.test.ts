import { afterEach, describe, expect, it } from 'vitest';
import { JugglerClosedError, JugglerError, JugglerState } from '../../src/juggler/index.js';
import { setLogger } from '../../src/util/log.js';
import { memoryLogger, until } from '../helpers/net.js';
import { connectJuggler, httpStatus, rawSocket, startJuggler } from './helpers.js';

describe('juggler protocol: our client against our server', () => {
  it('answers requests: the callback value, a thrown error as unsuccessful data, an empty name echoes', async () => {
    const { url } = await startJuggler({}, (_conn, name, data) => {
      if (name === 'fail') throw new JugglerError({ why: data });
      if (name === 'plain') throw new Error('plain failure');
      return { name, data };
    });
    const client = await connectJuggler(url);
    expect(await client.send('hello', [1, 'two', { three: 3 }])).toEqual({
      name: 'hello',
      data: [1, 'two', { three: 3 }],
    });
    expect(await client.send('', { echoed: true })).toEqual({ echoed: true });
    await expect(client.send('fail', 7)).rejects.toMatchObject({ name: 'JugglerError', data: { why: 7 } });
    await expect(client.send('plain', null)).rejects.toMatchObject({ data: 'plain failure' });
  });

  it('a server without requestCb answers every request unsuccessfully', async () => {
    const { url } = await startJuggler();
    const client = await connectJuggler(url);
    await expect(client.send('x', null)).rejects.toBeInstanceOf(JugglerError);
  });

  it('echoes request ids of any JSON type exactly as sent', async () => {
    const { url } = await startJuggler({}, (_c, _n, data) => data);
    const { ws, frames } = await rawSocket(url);
    const ids = ['abc', 3.5, null, [1, { a: 2 }], { nested: { id: true } }, false, 2 ** 53 + 2];
    for (const id of ids) ws.send(`0${JSON.stringify({ type: 'request', id, name: 'x', data: 1 })}`);
    await until(() => frames.filter((f) => f.includes('"response"')).length === ids.length);
    const responses = frames.filter((f) => f.includes('"response"')).map((f) => JSON.parse(f.slice(1)));
    expect(responses.map((r) => r.id)).toEqual(ids.map((id) => JSON.parse(JSON.stringify(id))));
    expect(responses.every((r) => r.success === true && r.data === 1)).toBe(true);
  });

  it('sequential requests answer in order; parallelRequests lets a fast one overtake a slow one', async () => {
    const handler = async (_c: unknown, name: string) => {
      if (name === 'slow') await new Promise((r) => setTimeout(r, 150));
      return name;
    };
    for (const parallelRequests of [false, true]) {
      const { url } = await startJuggler({ parallelRequests }, handler);
      const client = await connectJuggler(url);
      const order: string[] = [];
      await Promise.all([
        client.send('slow', null).then((v) => order.push(String(v))),
        client.send('fast', null).then((v) => order.push(String(v))),
      ]);
      expect(order).toEqual(parallelRequests ? ['fast', 'slow'] : ['slow', 'fast']);
    }
  });

  it('notifications reach the callback and the event; pending requests reject when the connection closes', async () => {
    let release!: () => void;
    const { url, server } = await startJuggler({}, () => new Promise((r) => (release = () => r(null))));
    const notes: Array<[string, unknown]> = [];
    const client = await connectJuggler(url, {}, (_c, name, data) => notes.push([name, data]));
    await until(() => server.connections.size === 1);
    server.notifyAll('n1', { a: 1 });
    [...server.connections][0]?.notify('n2', 'two');
    await until(() => notes.length === 2);
    expect(notes).toEqual([
      ['n1', { a: 1 }],
      ['n2', 'two'],
    ]);
    const pending = client.send('hangs', null);
    await until(() => release !== undefined);
    for (const c of server.connections) c.close();
    await expect(pending).rejects.toBeInstanceOf(JugglerClosedError);
    await expect(client.send('after', null)).rejects.toBeInstanceOf(JugglerClosedError);
  });

  it('per-connection state (no state option) vs one shared state', async () => {
    const own = await startJuggler({ autoflushDelay: 0 }, undefined, (conn) =>
      conn.state.set(['me'], conn.remote),
    );
    const a = await connectJuggler(own.url);
    const b = await connectJuggler(own.url);
    await until(() => a.state !== null && b.state !== null);
    expect((a.state as { me: string }).me).not.toEqual((b.state as { me: string }).me);

    const shared = new JugglerState({ count: 0 });
    const sh = await startJuggler({ state: shared, autoflushDelay: 0 });
    const c = await connectJuggler(sh.url);
    const d = await connectJuggler(sh.url);
    shared.set(['count'], 5);
    await until(
      () => (c.state as { count: number }).count === 5 && (d.state as { count: number }).count === 5,
    );
    expect(sh.server.state).toBe(shared);
  });

  it('autoflush 0 sends one diff per change; 200 ms batches; null waits for flush()', async () => {
    const counts: Record<string, number> = {};
    for (const [name, delay] of [
      ['zero', 0],
      ['batched', 200],
      ['manual', null],
    ] as const) {
      const state = new JugglerState({ n: 0 });
      const { url, server } = await startJuggler({ state, autoflushDelay: delay });
      const client = await connectJuggler(url);
      let diffs = 0;
      client.on('change', () => diffs++);
      const started = Date.now();
      for (let i = 1; i <= 10; i++) state.set(['n'], i);
      if (delay === null) {
        await new Promise((r) => setTimeout(r, 300));
        expect((client.state as { n: number }).n).toBe(0);
        await [...server.connections][0]?.flush();
      }
      await until(() => (client.state as { n: number }).n === 10, 5000, `${name} reaches 10`);
      if (delay === 200) expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      counts[name] = diffs;
    }
    expect(counts).toEqual({ zero: 10, batched: 1, manual: 1 });
  });

  it('large messages are segmented (0.7) and reassembled both ways', async () => {
    const big = 'x'.repeat(200_000) + '😀'.repeat(40_000);
    const state = new JugglerState(null);
    const { url } = await startJuggler({ state, autoflushDelay: 0 }, (_c, _n, data) => data);
    const client = await connectJuggler(url);
    state.set([], { big });
    await until(() => (client.state as { big?: string } | null)?.big === big);
    expect(await client.send('echo', big)).toBe(big);
  });

  it('refuses connections past maxConnections with HTTP 503, and serves 404 elsewhere', async () => {
    const { url, port } = await startJuggler({ maxConnections: 1 });
    await connectJuggler(url);
    await expect(connectJuggler(url)).rejects.toThrow(/503/);
    expect(await httpStatus(`http://127.0.0.1:${port}/nothing`)).toBe(404);
    expect(await httpStatus(`http://127.0.0.1:${port}/`)).toBe(302);
  });

  it('serves extra routes and static files (never outside staticDir)', async () => {
    const { port } = await startJuggler({
      staticDir: new URL('.', import.meta.url).pathname,
      routes: [{ path: '/hello', handler: (_q, s) => void s.end('hi') }],
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/hello`)).text()).toBe('hi');
    expect(await httpStatus(`http://127.0.0.1:${port}/helpers.ts`)).toBe(200);
    expect(await httpStatus(`http://127.0.0.1:${port}/..%2fhelpers%2fnet.ts`)).toBe(404);
  });
});

describe('juggler protocol: bad peers', () => {
  afterEach(() => setLogger(undefined as never));

  it.each([
    ['malformed JSON', '0{"type": "request", '],
    ['an unknown message type', `0${JSON.stringify({ type: 'shout', id: 1 })}`],
    ['a request without a name', `0${JSON.stringify({ type: 'request', id: 1 })}`],
    ['an unknown segment type', '9{}'],
    ['a JSON array', '0[1,2]'],
  ])('%s closes that one connection with a log line', async (_what, frame) => {
    const memory = memoryLogger();
    setLogger(memory.logger);
    const { url, server } = await startJuggler({}, () => 'ok');
    const good = await connectJuggler(url);
    const bad = await rawSocket(url);
    bad.ws.send(frame);
    expect(await bad.closed).toBeGreaterThanOrEqual(1002);
    await until(() => server.connections.size === 1);
    expect(await good.send('still', null)).toBe('ok');
    expect(
      memory.lines().some((l) => l.msg === 'juggler connection closed' && typeof l.reason === 'string'),
    ).toBe(true);
  });

  it('a message over maxMessageSize closes the connection', async () => {
    const { url } = await startJuggler({ maxMessageSize: 1000 });
    const bad = await rawSocket(url);
    bad.ws.send(`1${'a'.repeat(600)}`);
    bad.ws.send(`0${'a'.repeat(600)}`);
    expect(await bad.closed).toBe(1009);
  });
});
