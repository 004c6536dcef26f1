import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { syncIpLookup } from '../../src/transport/address.js';
import { onCleanup } from '../helpers/net.js';

type Answer = [Error | null, string, number];

/** The answer if the callback ran before syncIpLookup returned, else 'deferred'. */
function lookupNow(address: string, family = 4): Answer | 'deferred' {
  let answer: Answer | 'deferred' = 'deferred';
  syncIpLookup(address, family, (err, addr, fam) => {
    answer = [err, addr, fam];
  });
  return answer;
}

describe('syncIpLookup (the quick channel’s dgram lookup)', () => {
  it('answers IP literals at once, the same literal again and after another one', () => {
    expect(lookupNow('127.0.0.1')).toEqual([null, '127.0.0.1', 4]);
    expect(lookupNow('127.0.0.1')).toEqual([null, '127.0.0.1', 4]);
    expect(lookupNow('::1', 6)).toEqual([null, '::1', 6]);
    expect(lookupNow('::1', 6)).toEqual([null, '::1', 6]);
    expect(lookupNow('10.1.2.3')).toEqual([null, '10.1.2.3', 4]);
    expect(lookupNow('127.0.0.1')).toEqual([null, '127.0.0.1', 4]);
  });

  it('sends a host name to DNS, even right after a literal was answered', async () => {
    expect(lookupNow('127.0.0.1')).toEqual([null, '127.0.0.1', 4]);
    const later = new Promise<Answer>((resolve) =>
      syncIpLookup('localhost', 4, (err, addr, fam) => resolve([err, addr, fam])),
    );
    expect(lookupNow('localhost')).toBe('deferred');
    const [err, addr, fam] = await later;
    expect(err).toBeNull();
    expect(fam).toBe(4);
    expect(addr).toMatch(/^127\./);
  });

  it('routes each datagram of one socket to the peer it names, alternating peers', async () => {
    const bind = async (): Promise<dgram.Socket> => {
      const s = dgram.createSocket('udp4');
      onCleanup(() => s.close());
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      return s;
    };
    const [a, b] = [await bind(), await bind()];
    const got = { a: [] as string[], b: [] as string[] };
    a.on('message', (m) => got.a.push(m.toString()));
    b.on('message', (m) => got.b.push(m.toString()));
    const sender = dgram.createSocket({ type: 'udp4', lookup: syncIpLookup as never });
    onCleanup(() => sender.close());
    for (let i = 0; i < 6; i++) {
      const to = i % 2 === 0 ? a : b;
      // Sent to the literal of each peer, and once by a host name in between.
      sender.send(String(i), to.address().port, i === 3 ? 'localhost' : '127.0.0.1');
    }
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (got.a.length + got.b.length === 6) resolve();
      };
      a.on('message', check);
      b.on('message', check);
    });
    expect(got.a.sort()).toEqual(['0', '2', '4']);
    expect(got.b.sort()).toEqual(['1', '3', '5']);
  });
});
