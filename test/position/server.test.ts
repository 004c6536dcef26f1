import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Position, type PositionReply } from '../../src/position/index.js';
import { ask, conversation, onCleanup, runCleanups } from './helpers.js';

afterEach(runCleanups);

const TABLE = [
  { name: 'VsoaServer', domain: 2 as const, addr: '127.0.0.1', port: 3005 },
  { name: 'vsoaserver', domain: 10 as const, addr: '::1', port: 3006, security: true },
  { name: 'tls', addr: '10.0.0.7', port: 4000, security: true },
];

async function started(p: Position, host = '127.0.0.1'): Promise<number> {
  await p.listen(0, host);
  onCleanup(() => p.close());
  return p.address()!.port;
}

describe('Position server: table', () => {
  it('answers a table hit with compact JSON, any case, first family when domain is absent', async () => {
    const port = await started(new Position(null, { table: TABLE }));
    expect(await ask(port, '{"name":"VSOASERVER"}')).toBe(
      '{"name":"VsoaServer","domain":2,"addr":"127.0.0.1","port":3005,"security":false}',
    );
    expect(await ask(port, '{"name":"vsoaserver","domain":-1}')).toContain('"port":3005');
  });

  it('filters by domain and infers a missing domain from the address', async () => {
    const port = await started(new Position(null, { table: TABLE }));
    expect(await ask(port, '{"name":"vsoaserver","domain":10}')).toBe(
      '{"name":"vsoaserver","domain":10,"addr":"::1","port":3006,"security":true}',
    );
    expect(await ask(port, '{"name": "tls", "domain": 2}')).toBe(
      '{"name":"tls","domain":2,"addr":"10.0.0.7","port":4000,"security":true}',
    );
    expect(await ask(port, '{"name":"tls","domain":10}')).toBe('{}');
    expect(await ask(port, '{"name":"tls","domain":23}')).toBe('{}');
  });

  it('answers {} for an unknown name even without onquery', async () => {
    const port = await started(new Position(undefined, { table: TABLE }));
    expect(await ask(port, '{"name":"nosuch"}')).toBe('{}');
  });

  it('serves on IPv6 (::1)', async () => {
    const port = await started(new Position(null, { table: TABLE }), '::1');
    expect(await ask(port, '{"name":"vsoaserver","domain":10}', '::1')).toContain('"addr":"::1"');
  });

  it('validates the table: constructor and setTable throw TypeError naming the entry', () => {
    expect(() => new Position(null, { table: [{ name: 'a', addr: 'host', port: 1 }] })).toThrow(
      /options\.table\[0\]: addr/,
    );
    const p = new Position();
    expect(() => p.setTable([TABLE[0]!, { name: 'x', addr: '1.2.3.4', port: 0 }])).toThrow(
      /entries\[1\]: port/,
    );
    expect(() => p.setTable([{ name: 'x', domain: 10, addr: '1.2.3.4', port: 1 }])).toThrow(/domain/);
    expect(() => p.setTable([{ name: '', addr: '1.2.3.4', port: 1 }])).toThrow(/name/);
    expect(() =>
      p.setTable([{ name: 'x', addr: '1.2.3.4', port: 1, security: 'yes' as unknown as boolean }]),
    ).toThrow(/security/);
  });

  it('setTable replaces the table at run time; a bad table keeps the old one', async () => {
    const p = new Position(null, { table: TABLE });
    const port = await started(p);
    p.setTable([{ name: 'fresh', addr: '127.0.0.1', port: 9 }]);
    expect(await ask(port, '{"name":"vsoaserver"}')).toBe('{}');
    expect(await ask(port, '{"name":"fresh"}')).toContain('"port":9');
    expect(() => p.setTable([{ name: 'bad', addr: 'x', port: 9 }])).toThrow(TypeError);
    expect(await ask(port, '{"name":"fresh"}')).toContain('"port":9');
  });
});

describe('Position server: onquery', () => {
  it('asks onquery after the table, with the query name and domain (-1 when absent)', async () => {
    const seen: unknown[] = [];
    const p = new Position(
      (q, reply) => {
        seen.push(q);
        reply(q.name === 'dynamic' ? { domain: 2, addr: '127.0.0.1', port: 3007 } : null);
      },
      { table: TABLE },
    );
    const port = await started(p);
    expect(await ask(port, '{"name":"vsoaserver"}')).toContain('"port":3005');
    expect(await ask(port, '{"name":"dynamic"}')).toBe(
      '{"name":"dynamic","domain":2,"addr":"127.0.0.1","port":3007,"security":false}',
    );
    expect(await ask(port, '{"name":"nosuch","domain":2}')).toBe('{}');
    expect(seen).toEqual([
      { name: 'dynamic', domain: -1 },
      { name: 'nosuch', domain: 2 },
    ]);
  });

  it('accepts a later (async) reply, and only the first one', async () => {
    let pending: PositionReply | undefined;
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const p = new Position(
      (_q, reply) => {
        pending = reply;
        asked();
      },
      { table: TABLE },
    );
    const c = await conversation(await started(p));
    c.send('{"name":"later"}');
    await wasAsked;
    pending!({ addr: '::1', port: 5000, security: true });
    pending!({ addr: '127.0.0.1', port: 6000 });
    c.send('{"name":"tls"}');
    expect(await c.next()).toBe('{"name":"later","domain":10,"addr":"::1","port":5000,"security":true}');
    // Had the second reply been sent, it would arrive before the answer to "tls".
    expect(await c.next()).toContain('"port":4000');
  });

  it('answers {} for an invalid onquery answer and keeps serving', async () => {
    const answers: Record<string, unknown> = {
      badaddr: { addr: 'example.com', port: 1 },
      badport: { addr: '127.0.0.1', port: 70000 },
      floatport: { addr: '127.0.0.1', port: 1.5 },
      mismatch: { domain: 10, addr: '127.0.0.1', port: 1 },
      badsec: { addr: '127.0.0.1', port: 1, security: 1 },
      otherfamily: { addr: '::1', port: 1 },
      good: { addr: '127.0.0.1', port: 1 },
    };
    const p = new Position((q, reply) => reply(answers[q.name] as never));
    const port = await started(p);
    for (const name of ['badaddr', 'badport', 'floatport', 'mismatch', 'badsec']) {
      expect(await ask(port, JSON.stringify({ name })), name).toBe('{}');
    }
    expect(await ask(port, '{"name":"otherfamily","domain":2}')).toBe('{}');
    expect(await ask(port, '{"name":"good"}')).toContain('"port":1');
  });

  it('answers {} when onquery throws or its promise rejects without replying', async () => {
    const p = new Position(async (q, reply) => {
      if (q.name === 'throws') throw new Error('boom');
      await Promise.resolve();
      if (q.name === 'rejects') throw new Error('late boom');
      reply({ addr: '127.0.0.1', port: 2 });
    });
    const port = await started(p);
    expect(await ask(port, '{"name":"throws"}')).toBe('{}');
    expect(await ask(port, '{"name":"rejects"}')).toBe('{}');
    expect(await ask(port, '{"name":"ok"}')).toContain('"port":2');

    const sync = new Position(() => {
      throw new Error('sync boom');
    });
    const port2 = await started(sync);
    expect(await ask(port2, '{"name":"x"}')).toBe('{}');
  });

  it('drops a reply that comes after close()', async () => {
    let pending: PositionReply | undefined;
    let asked!: () => void;
    const wasAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const p = new Position((_q, reply) => {
      pending = reply;
      asked();
    });
    const c = await conversation(await started(p));
    c.send('{"name":"x"}');
    await wasAsked;
    await p.close();
    expect(() => pending!({ addr: '127.0.0.1', port: 1 })).not.toThrow();
  });
});

describe('Position server: malformed queries', () => {
  it('drops garbage silently and still answers the next query', async () => {
    const port = await started(new Position(null, { table: TABLE }));
    const garbage = [
      'not json',
      '',
      '[]',
      'null',
      '"vsoaserver"',
      '{}',
      '{"name":""}',
      '{"name":42}',
      '{"domain":2}',
      '{"name":"vsoaserver","domain":"2"}',
      `{"name":"${'x'.repeat(1100)}"}`,
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    ];
    // The only answer that comes back is the one for the final, valid query.
    expect(await ask(port, [...garbage, '{"name":"vsoaserver"}'])).toContain('"port":3005');
  });

  it('answers to the sender address and port', async () => {
    const port = await started(new Position(null, { table: TABLE }));
    const [a, b] = await Promise.all([ask(port, '{"name":"vsoaserver"}'), ask(port, '{"name":"tls"}')]);
    expect(a).toContain('"port":3005');
    expect(b).toContain('"port":4000');
  });
});

describe('Position server: lifecycle', () => {
  it('listen resolves once bound; address() null before and after; close is idempotent', async () => {
    const p = new Position();
    expect(p.address()).toBeNull();
    await p.listen(0, '127.0.0.1');
    expect(p.address()!.port).toBeGreaterThan(0);
    await expect(p.listen(0, '127.0.0.1')).rejects.toThrow(/already listening/);
    await p.close();
    await p.close();
    expect(p.address()).toBeNull();
  });

  it('rejects a port in use and a bad port', async () => {
    const a = new Position();
    const port = await started(a);
    const b = new Position();
    await expect(b.listen(port, '127.0.0.1')).rejects.toThrow(/EADDRINUSE/);
    expect(b.address()).toBeNull();
    await expect(b.listen(70000)).rejects.toThrow(RangeError);
    expect(() => new Position('x' as never)).toThrow(TypeError);
  });

  it('close() during listen() rejects the listen and leaves the server closed', async () => {
    const p = new Position();
    const listening = p.listen(0, '127.0.0.1');
    await p.close();
    await expect(listening).rejects.toThrow(/closed while binding/);
    expect(p.address()).toBeNull();
  });

  it('run(host, port) resolves when the server is closed', async () => {
    const p = new Position(null, { table: TABLE });
    let ended = false;
    const listening = once(p, 'listening');
    const running = p.run('127.0.0.1', 0).then(() => {
      ended = true;
    });
    onCleanup(() => p.close());
    await listening;
    expect(await ask(p.address()!.port, '{"name":"tls"}')).toContain('4000');
    expect(ended).toBe(false);
    await p.close();
    await running;
    expect(ended).toBe(true);
  });
});
