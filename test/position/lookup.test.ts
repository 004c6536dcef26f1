import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  clearLookupCache,
  DEFAULT_CACHE_TTL,
  type LookupOptions,
  lookup,
  Position,
  type PositionEntry,
  type PositionOnQuery,
  pos,
  setLookupCacheTtl,
} from '../../src/position/index.js';
import {
  answerWith,
  closedPort,
  fakeServer,
  NO_FILE,
  onCleanup,
  runCleanups,
  tempPosFile,
} from './helpers.js';

afterEach(async () => {
  vi.restoreAllMocks();
  pos(null);
  setLookupCacheTtl(DEFAULT_CACHE_TTL);
  clearLookupCache();
  await runCleanups();
});

/** No real environment or /etc file; short timeouts. */
function opts(extra: LookupOptions = {}): LookupOptions {
  return { env: {}, file: NO_FILE, timeout: 200, ...extra };
}

async function positionServer(
  table: PositionEntry[],
  onquery: PositionOnQuery | null = null,
  host = '127.0.0.1',
): Promise<{ port: number; env: string }> {
  const p = new Position(onquery, { table });
  await p.listen(0, host);
  onCleanup(() => p.close());
  const port = p.address()!.port;
  return { port, env: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

const svc = (port: number, extra: Partial<PositionEntry> = {}): PositionEntry => ({
  name: 'svc',
  addr: '127.0.0.1',
  port,
  ...extra,
});

describe('lookup: queries and answers', () => {
  it('sends the node client query format: domain left out when -1', async () => {
    const fake = await fakeServer(answerWith('{}'));
    const env = { VSOA_POS_SERVER: `127.0.0.1:${fake.port}` };
    await lookup('myserver', -1, opts({ env }));
    await lookup('myserver', 2, opts({ env }));
    await lookup('myserver', 10, opts({ env }));
    expect(fake.queries).toEqual([
      '{"name":"myserver"}',
      '{"name":"myserver","domain":2}',
      '{"name":"myserver","domain":10}',
    ]);
  });

  it('returns { addr, port, security } for a hit and null for a miss', async () => {
    const s = await positionServer([svc(3005), { name: 'secure', addr: '::1', port: 3443, security: true }]);
    pos('127.0.0.1', s.port);
    expect(await lookup('SVC', -1, opts())).toEqual({ addr: '127.0.0.1', port: 3005, security: false });
    expect(await lookup('secure', 10, opts())).toEqual({ addr: '::1', port: 3443, security: true });
    expect(await lookup('secure', 2, opts())).toBeNull();
    expect(await lookup('nosuch', -1, opts())).toBeNull();
  });

  it('accepts the python server answer format (spaces, no name, no security)', async () => {
    const fake = await fakeServer(answerWith('{"domain": 2, "addr": "127.0.0.1", "port": 3006}'));
    pos('127.0.0.1', fake.port);
    expect(await lookup('dynamic', -1, opts())).toEqual({ addr: '127.0.0.1', port: 3006, security: false });
  });

  it('talks to a position server over IPv6', async () => {
    const s = await positionServer([svc(3005)], null, '::1');
    expect(await lookup('svc', -1, opts({ env: { VSOA_POS_SERVER: s.env } }))).toMatchObject({ port: 3005 });
    pos('::1', s.port);
    expect(await lookup('svc', 2, opts())).toMatchObject({ port: 3005 });
  });

  it('returns null when no position server is configured', async () => {
    expect(await lookup('svc', -1, opts())).toBeNull();
  });

  it('rejects bad arguments before sending anything', async () => {
    await expect(lookup('', -1, opts())).rejects.toThrow(TypeError);
    await expect(lookup(42 as never, -1, opts())).rejects.toThrow(TypeError);
    await expect(lookup('x', 3 as never, opts())).rejects.toThrow(RangeError);
    await expect(lookup('x'.repeat(1100), -1, opts())).rejects.toThrow(RangeError);
    await expect(lookup('x', -1, opts({ timeout: 0 }))).rejects.toThrow(RangeError);
    await expect(lookup('x', -1, opts({ retries: -1 }))).rejects.toThrow(RangeError);
    expect(() => pos('myhost', 3000)).toThrow(TypeError);
    expect(() => pos('127.0.0.1', 0)).toThrow(RangeError);
    expect(() => pos('127.0.0.1')).toThrow(RangeError);
  });
});

describe('lookup: server order', () => {
  it('asks pos() first, then VSOA_POS_SERVER, then the file', async () => {
    const a = await positionServer([svc(1001)]);
    const b = await positionServer([svc(1002)]);
    const c = await positionServer([svc(1003)]);
    const file = tempPosFile(`# test\n\n127.0.0.1 ${c.port}\n`);
    const env = { VSOA_POS_SERVER: b.env };

    pos('127.0.0.1', a.port);
    expect(await lookup('svc', -1, opts({ env, file, cache: false }))).toMatchObject({ port: 1001 });
    pos(null);
    expect(await lookup('svc', -1, opts({ env, file, cache: false }))).toMatchObject({ port: 1002 });
    expect(await lookup('svc', -1, opts({ file, cache: false }))).toMatchObject({ port: 1003 });
  });

  it('reads the file through its parser: bad lines, brackets and comments skipped', async () => {
    const s = await positionServer([svc(1004)], null, '::1');
    const file = tempPosFile(`# comment\nbad line here\n127.0.0.1 0\n\n[::1] ${s.port}  # v6\n`);
    expect(await lookup('svc', -1, opts({ file }))).toMatchObject({ port: 1004 });
  });

  it('reads process.env when no env option is given', async () => {
    const s = await positionServer([svc(1005)]);
    vi.stubEnv('VSOA_POS_SERVER', s.env);
    expect(await lookup('svc', -1, { file: NO_FILE, timeout: 200 })).toMatchObject({ port: 1005 });
    vi.unstubAllEnvs();
  });

  it('first answer wins: a miss ends the lookup without asking the next server', async () => {
    const first = await positionServer([]);
    const second = await positionServer([svc(1006)]);
    const env = { VSOA_POS_SERVER: `${first.env},${second.env}` };
    expect(await lookup('svc', -1, opts({ env }))).toBeNull();
  });

  it('falls through a silent server after timeout and retry', async () => {
    const silent = await fakeServer();
    const good = await positionServer([svc(1007)]);
    pos('127.0.0.1', silent.port);
    const t0 = performance.now();
    expect(await lookup('svc', -1, opts({ env: { VSOA_POS_SERVER: good.env } }))).toMatchObject({
      port: 1007,
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(350);
    expect(silent.queries).toEqual(['{"name":"svc"}', '{"name":"svc"}']);
  });

  it('falls through a refused port (nobody listening) without waiting for the timeout', async () => {
    const dead = await closedPort();
    const good = await positionServer([svc(1008)]);
    const env = { VSOA_POS_SERVER: `127.0.0.1:${dead},${good.env}` };
    const t0 = performance.now();
    expect(await lookup('svc', -1, opts({ env, timeout: 5000 }))).toMatchObject({ port: 1008 });
    expect(performance.now() - t0).toBeLessThan(2500);
  });

  it('falls through an invalid answer, including one of the wrong family', async () => {
    const garbage = await fakeServer(answerWith('not json'));
    const badPort = await fakeServer(answerWith('{"addr":"127.0.0.1","port":0}'));
    const wrongFamily = await fakeServer(answerWith('{"domain":10,"addr":"::1","port":5}'));
    const good = await positionServer([svc(1009)]);
    const env = {
      VSOA_POS_SERVER: `${[garbage, badPort, wrongFamily].map((f) => `127.0.0.1:${f.port}`).join(',')},${good.env}`,
    };
    expect(await lookup('svc', 2, opts({ env }))).toMatchObject({ port: 1009 });
    expect([garbage, badPort, wrongFamily].map((f) => f.queries.length)).toEqual([1, 1, 1]);
  });

  it('asks a server listed twice only once', async () => {
    const silent = await fakeServer();
    pos('127.0.0.1', silent.port);
    const env = { VSOA_POS_SERVER: `127.0.0.1:${silent.port}` };
    const file = tempPosFile(`127.0.0.1 ${silent.port}\n`);
    expect(await lookup('svc', -1, opts({ env, file }))).toBeNull();
    expect(silent.queries).toHaveLength(2);
  });
});

describe('lookup: timeouts and retries', () => {
  it('a silent server gets 2 queries, timeout apart, then null', async () => {
    const silent = await fakeServer();
    pos('127.0.0.1', silent.port);
    const t0 = performance.now();
    expect(await lookup('svc', -1, opts())).toBeNull();
    const elapsed = performance.now() - t0;
    expect(silent.queries).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(1500);
  });

  it('honours retries: 0 sends one query, 2 send three', async () => {
    const silent = await fakeServer();
    pos('127.0.0.1', silent.port);
    await lookup('svc', -1, opts({ retries: 0, timeout: 100 }));
    expect(silent.queries).toHaveLength(1);
    await lookup('svc', -1, opts({ retries: 2, timeout: 100 }));
    expect(silent.queries).toHaveLength(4);
  });

  it('uses the answer to the retry when the first query was lost', async () => {
    let n = 0;
    const flaky = await fakeServer((_q, from, sock) => {
      n += 1;
      if (n === 2) sock.send('{"domain":2,"addr":"127.0.0.1","port":1010}', from.port, from.address);
    });
    pos('127.0.0.1', flaky.port);
    expect(await lookup('svc', -1, opts())).toMatchObject({ port: 1010 });
    expect(flaky.queries).toHaveLength(2);
  });
});

describe('lookup: answers only from the server asked', () => {
  it('ignores an answer from another port, then takes the real one', async () => {
    const spoofer = await fakeServer();
    const real = await fakeServer((_q, from, sock) => {
      // The forged answer leaves first; the genuine one follows once it is out.
      spoofer.sock.send('{"domain":2,"addr":"6.6.6.6","port":666}', from.port, from.address, () => {
        sock.send('{"domain":2,"addr":"127.0.0.1","port":1011}', from.port, from.address);
      });
    });
    pos('127.0.0.1', real.port);
    expect(await lookup('svc', -1, opts())).toEqual({ addr: '127.0.0.1', port: 1011, security: false });
  });

  it('ignores an answer from another address with the same port', async () => {
    const real = await fakeServer((_q, from, sock) => {
      spoofer.sock.send('{"domain":2,"addr":"6.6.6.6","port":666}', from.port, from.address, () => {
        sock.send('{"domain":2,"addr":"127.0.0.1","port":1012}', from.port, from.address);
      });
    });
    const spoofer = await fakeServer(undefined, '127.0.0.2', real.port);
    pos('127.0.0.1', real.port);
    expect(await lookup('svc', -1, opts())).toEqual({ addr: '127.0.0.1', port: 1012, security: false });
  });

  it('a spoofed answer alone is not trusted: the lookup times out', async () => {
    const spoofer = await fakeServer();
    const real = await fakeServer((_q, from) => {
      spoofer.sock.send('{"domain":2,"addr":"6.6.6.6","port":666}', from.port, from.address);
    });
    pos('127.0.0.1', real.port);
    expect(await lookup('svc', -1, opts({ retries: 0 }))).toBeNull();
  });
});

describe('lookup: cache', () => {
  async function counted(): Promise<{ count: () => number }> {
    let n = 0;
    const s = await positionServer([], (q, reply) => {
      n += 1;
      reply(q.name.toLowerCase() === 'svc' ? { addr: '127.0.0.1', port: 1013 } : null);
    });
    pos('127.0.0.1', s.port);
    return { count: () => n };
  }

  it('reuses a positive answer: the second lookup sends nothing', async () => {
    const s = await counted();
    const first = await lookup('svc', -1, opts());
    first!.port = 1; // a caller mutating its result does not poison the cache
    expect(await lookup('SVC', -1, opts())).toEqual({ addr: '127.0.0.1', port: 1013, security: false });
    expect(s.count()).toBe(1);
    expect(await lookup('svc', 2, opts())).toMatchObject({ port: 1013 });
    expect(s.count()).toBe(2);
  });

  it('does not cache misses', async () => {
    const s = await counted();
    expect(await lookup('nosuch', -1, opts())).toBeNull();
    expect(await lookup('nosuch', -1, opts())).toBeNull();
    expect(s.count()).toBe(2);
  });

  it('cache: false skips it; ttl 0 disables it', async () => {
    const s = await counted();
    await lookup('svc', -1, opts({ cache: false }));
    await lookup('svc', -1, opts({ cache: false }));
    expect(s.count()).toBe(2);
    await lookup('svc', -1, opts());
    await lookup('svc', -1, opts());
    expect(s.count()).toBe(3);
    setLookupCacheTtl(0);
    await lookup('svc', -1, opts());
    expect(s.count()).toBe(4);
    expect(() => setLookupCacheTtl(-1)).toThrow(RangeError);
  });

  it('expires after the ttl', async () => {
    const s = await counted();
    const real = performance.now.bind(performance);
    let skew = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => real() + skew);
    setLookupCacheTtl(1000);
    await lookup('svc', -1, opts());
    skew = 900;
    await lookup('svc', -1, opts());
    expect(s.count()).toBe(1);
    skew = 1100;
    await lookup('svc', -1, opts());
    expect(s.count()).toBe(2);
  });

  it('pos() empties the cache', async () => {
    const s = await counted();
    await lookup('svc', -1, opts());
    pos('127.0.0.1', 9);
    pos(null);
    expect(await lookup('svc', -1, opts())).toBeNull();
    expect(s.count()).toBe(1);
  });
});
