import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clearLookupCache, type LookupOptions, lookup, Position, pos } from '../../src/position/index.js';
import { NO_FILE, onCleanup, runCleanups } from './helpers.js';

/** The parts of the official node package (vsoa 1.5.1) used here; its own typings are not reliable. */
interface NodeEntry {
  name: string;
  domain: 2 | 10;
  addr: string;
  port: number;
  security?: boolean;
}
interface NodeSockAddr {
  addr?: string;
  port: number;
  domain?: number;
}
interface NodePosition {
  onquery?: (
    name: string,
    domain: number | undefined,
    cb: (res: Omit<NodeEntry, 'name'> | null) => void,
  ) => void;
  start(cb?: () => void): void;
  close(cb?: () => void): void;
  /** Private: the bound socket, read only to learn the port chosen for port 0. */
  _udp: { address(): { port: number } };
}
interface NodeVsoa {
  Position: {
    new (table: NodeEntry[], saddr: NodeSockAddr): NodePosition;
    server(saddr: NodeSockAddr | undefined): void;
  };
  lookup(name: string, cb: (err: Error | undefined, saddr: NodeEntry) => void, domain?: number): void;
}

const vsoa = createRequire(import.meta.url)('vsoa') as NodeVsoa;

afterEach(async () => {
  vsoa.Position.server(undefined);
  vi.unstubAllEnvs();
  pos(null);
  clearLookupCache();
  await runCleanups();
});

const TABLE: NodeEntry[] = [
  { name: 'vsoaserver', domain: 2, addr: '127.0.0.1', port: 3005 },
  { name: 'v6only', domain: 10, addr: '::1', port: 3006, security: true },
];

const opts: LookupOptions = { env: {}, file: NO_FILE, timeout: 300, cache: false };

describe('our lookup against the official node Position server', () => {
  async function nodeServer(addr = '127.0.0.1', withHook = true): Promise<number> {
    // The node server lowercases table names in place: give it a copy.
    const server = new vsoa.Position(
      TABLE.map((e) => ({ ...e })),
      { addr, port: 0, domain: addr.includes(':') ? 10 : 2 },
    );
    if (withHook) {
      server.onquery = (name, _domain, cb) =>
        cb(name === 'dynamic' ? { domain: 2, addr: '127.0.0.1', port: 3007 } : null);
    }
    await new Promise<void>((resolve) => server.start(() => resolve()));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return server._udp.address().port;
  }

  it('hit (any case), dynamic hit, miss', async () => {
    pos('127.0.0.1', await nodeServer());
    expect(await lookup('VsoaServer', -1, opts)).toEqual({ addr: '127.0.0.1', port: 3005, security: false });
    expect(await lookup('dynamic', -1, opts)).toEqual({ addr: '127.0.0.1', port: 3007, security: false });
    const t0 = performance.now();
    expect(await lookup('nosuch', -1, { ...opts, timeout: 2000 })).toBeNull();
    expect(performance.now() - t0).toBeLessThan(1500); // answered {}, not timed out
  });

  it('domain filter and IPv6 entries', async () => {
    pos('127.0.0.1', await nodeServer());
    expect(await lookup('vsoaserver', 2, opts)).toMatchObject({ port: 3005 });
    expect(await lookup('vsoaserver', 10, opts)).toBeNull();
    expect(await lookup('v6only', 10, opts)).toEqual({ addr: '::1', port: 3006, security: true });
    expect(await lookup('v6only', -1, opts)).toEqual({ addr: '::1', port: 3006, security: true });
  });

  it('a node server listening on ::1, found through VSOA_POS_SERVER', async () => {
    const port = await nodeServer('::1');
    const env = { VSOA_POS_SERVER: `[::1]:${port}` };
    expect(await lookup('vsoaserver', -1, { ...opts, env })).toMatchObject({ port: 3005 });
    expect(await lookup('v6only', 10, { ...opts, env })).toMatchObject({ addr: '::1' });
  });

  it('a node server without onquery never answers a miss: we give up after timeout and retry', async () => {
    pos('127.0.0.1', await nodeServer('127.0.0.1', false));
    expect(await lookup('vsoaserver', -1, opts)).toMatchObject({ port: 3005 });
    const t0 = performance.now();
    expect(await lookup('nosuch', -1, { ...opts, timeout: 100 })).toBeNull();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(180);
  });
});

describe('the official node lookup against our Position server', () => {
  function nodeLookup(name: string, domain?: number): Promise<{ err: Error | undefined; saddr: NodeEntry }> {
    return new Promise((resolve) => vsoa.lookup(name, (err, saddr) => resolve({ err, saddr }), domain));
  }

  async function ourServer(host = '127.0.0.1', withHook = true): Promise<number> {
    const p = new Position(
      withHook
        ? (q, reply) => reply(q.name === 'dynamic' ? { domain: 2, addr: '127.0.0.1', port: 3007 } : null)
        : null,
      { table: TABLE },
    );
    await p.listen(0, host);
    onCleanup(() => p.close());
    return p.address()!.port;
  }

  it('hit, with and without domain, and a dynamic hit', async () => {
    vsoa.Position.server({ addr: '127.0.0.1', port: await ourServer(), domain: 2 });
    expect(await nodeLookup('VSOASERVER')).toEqual({
      err: undefined,
      saddr: { name: 'vsoaserver', domain: 2, addr: '127.0.0.1', port: 3005, security: false },
    });
    expect((await nodeLookup('vsoaserver', 2)).saddr).toMatchObject({ port: 3005 });
    expect((await nodeLookup('dynamic')).saddr).toMatchObject({ name: 'dynamic', port: 3007 });
  });

  it('miss answers {} at once (Not found!), with or without onquery', async () => {
    for (const withHook of [true, false]) {
      vsoa.Position.server({ addr: '127.0.0.1', port: await ourServer('127.0.0.1', withHook), domain: 2 });
      const t0 = performance.now();
      const { err } = await nodeLookup('nosuch');
      expect(err?.message).toBe('Not found!');
      expect(performance.now() - t0).toBeLessThan(1500); // the node client's timeout is 2 s
    }
  });

  it('domain filter and IPv6 entries', async () => {
    vsoa.Position.server({ addr: '127.0.0.1', port: await ourServer(), domain: 2 });
    expect((await nodeLookup('v6only')).saddr).toEqual({
      name: 'v6only',
      domain: 10,
      addr: '::1',
      port: 3006,
      security: true,
    });
    expect((await nodeLookup('v6only', 2)).err?.message).toBe('Not found!');
  });

  it('our server on ::1 (the node client sends domain-10 queries over IPv6 only)', async () => {
    vsoa.Position.server({ addr: '::1', port: await ourServer('::1'), domain: 10 });
    expect((await nodeLookup('v6only', 10)).saddr).toMatchObject({ addr: '::1', port: 3006 });
    expect((await nodeLookup('vsoaserver', 10)).err?.message).toBe('Not found!');
  });

  it('found through VSOA_POS_SERVER, as the node client reads it', async () => {
    vi.stubEnv('VSOA_POS_SERVER', `127.0.0.1:${await ourServer()}`);
    expect((await nodeLookup('vsoaserver')).saddr).toMatchObject({ port: 3005 });
  });
});
